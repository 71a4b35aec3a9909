"""Validation of an ops repo: which files, what kind each is, and all their problems at once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from cslir.base.errors import InvalidInput
from cslir.engine.model import Playbook, build_playbook
from cslir.opsrepo import yamlload
from cslir.opsrepo.diagnostics import Diagnostic
from cslir.opsrepo.documents import (
    Documents,
    check_document,
    check_playbook,
    display,
    errors_of,
    route_names_in,
    yaml_files,
)

FOLDERS = {"playbooks": "playbook", "notifiers": "route", "drills": "drill"}


def repo_files(root: Path) -> list[Path]:
    files = [root / "cslir.yaml"] if (root / "cslir.yaml").is_file() else []
    for folder in FOLDERS:
        files += yaml_files(root / folder)
    return files


def expand(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = yaml_files(p)
            if not found:  # a mistyped or empty folder must not pass for a valid one
                raise InvalidInput(f"no YAML files found in {p} (*.yaml, *.yml)")
            out += found
        elif p.exists():
            out.append(p)
        else:
            raise InvalidInput(f"{p}: no such file or directory")
    return out


def classify(path: Path, data: dict[str, Any]) -> str:
    if path.name == "cslir.yaml":
        return "settings"
    if "shared" in path.resolve().parent.parts[-2:]:
        return "steps"  # a step file that playbooks include (playbooks/shared/)
    # What the file says it is comes first: a folder named like ours far above the ops repo
    # (a checkout in ~/drills/) must not turn every file under it into a drill.
    if isinstance(data.get("routes"), dict) and "steps" not in data:
        return "route"
    if isinstance(data.get("steps"), list) and "playbook" not in data:
        return "playbook"
    for part in reversed(path.resolve().parent.parts):
        if part in FOLDERS:
            return FOLDERS[part]
    if "routes" in data:
        return "route"
    if "playbook" in data and "steps" not in data:
        return "drill"
    return "playbook"


def validate(
    paths: list[Path], root: Path, *, strict_at: datetime | None = None
) -> list[Diagnostic]:
    """Every problem in every file, file by file in the order given; each file parsed once.

    With ``strict_at``, a playbook clock that cannot be met by a run opening then (its
    estimates against its deadline, ``cslir plan``'s verdict) is an error too.
    """
    files = expand(paths) if paths else repo_files(root)
    if not files:
        raise InvalidInput(
            f"no YAML files found in {root} (cslir.yaml, playbooks/, notifiers/, drills/)"
        )
    documents = Documents()
    loaded = [(f, documents.get(f)) for f in files]
    routes = documents.route_names(root)
    for f, doc in loaded:  # route files named explicitly outside the repo count too
        if isinstance(doc, yamlload.Document) and classify(f, doc.data) == "route":
            routes.update(route_names_in(doc))
    out: list[Diagnostic] = []
    for f, doc in loaded:
        if isinstance(doc, yamlload.YamlError):
            out.append(doc.diagnostic)
        else:
            kind = classify(f, doc.data)
            if kind == "playbook" and strict_at is not None:
                out += _strictly(doc, routes, f, root, documents, strict_at)
            else:
                out += check_document(doc, kind, routes, f, documents, root)
    return list(dict.fromkeys(out))  # a step file's problems show once, however often included


def _strictly(
    doc: yamlload.Document,
    routes: set[str],
    path: Path,
    root: Path,
    documents: Documents,
    opened: datetime,
) -> list[Diagnostic]:
    from cslir.opsrepo.feasibility import infeasible_clocks

    expansion, diagnostics = check_playbook(doc, routes, path, root, documents)
    if errors_of(diagnostics):
        return diagnostics
    return sorted([*diagnostics, *infeasible_clocks(expansion, opened)])


def load_playbook(path: Path, root: Path) -> Playbook:
    """Load a playbook for running; every error at once, or the model."""
    documents = Documents()
    doc = documents.get(path)
    if isinstance(doc, yamlload.YamlError):
        raise _refused(path, [doc.diagnostic])
    routes = documents.route_names(root)
    expansion, diagnostics = check_playbook(doc, routes, path, root, documents)
    errors = errors_of(diagnostics)
    if errors:
        raise _refused(path, errors)
    return build_playbook(expansion.data, path=str(path), text=doc.text, includes=expansion.texts)


def _refused(path: Path, errors: list[Diagnostic]) -> InvalidInput:
    listing = "\n".join(d.format() for d in errors)
    return InvalidInput(f"{display(path)} has {len(errors)} error(s); fix them first:\n{listing}")
