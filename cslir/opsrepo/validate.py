"""Validation of an ops repo: which files, what kind each is, and all their problems at once."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cslir.base.errors import InvalidInput
from cslir.engine.model import Playbook, build_playbook
from cslir.opsrepo import yamlload
from cslir.opsrepo.checks import PlaybookChecker
from cslir.opsrepo.diagnostics import Diagnostic
from cslir.opsrepo.opschecks import check_drill, check_routes, check_settings
from cslir.opsrepo.schemas import KINDS
from cslir.opsrepo.spec import PathKey

YAML_SUFFIXES = (".yaml", ".yml")
FOLDERS = {"playbooks": "playbook", "notifiers": "route", "drills": "drill"}


def display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def repo_files(root: Path) -> list[Path]:
    files = [root / "cslir.yaml"] if (root / "cslir.yaml").is_file() else []
    for folder in FOLDERS:
        files += yaml_files(root / folder)
    return files


def yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def expand(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += yaml_files(p)
        elif p.exists():
            out.append(p)
        else:
            raise InvalidInput(f"{p}: no such file or directory")
    return out


def classify(path: Path, data: dict[str, Any]) -> str:
    if path.name == "cslir.yaml":
        return "settings"
    for part in reversed(path.resolve().parent.parts):
        if part in FOLDERS:
            return FOLDERS[part]
    if "routes" in data:
        return "route"
    if "playbook" in data and "steps" not in data:
        return "drill"
    return "playbook"


@dataclass
class Collector:
    """Gathers diagnostics for one document, located through its source positions."""

    doc: yamlload.Document
    out: list[Diagnostic]

    def __call__(self, at: PathKey, message: str, key: bool, severity: str = "error") -> None:
        line, col = self.doc.loc(at, key=key)
        self.out.append(Diagnostic(self.doc.path, line, col, severity, message))


class Documents:
    """Each file read and parsed at most once per validation, however often it is referred to."""

    def __init__(self) -> None:
        self._seen: dict[Path, yamlload.Document | yamlload.YamlError] = {}

    def get(self, path: Path) -> yamlload.Document | yamlload.YamlError:
        key = path.resolve()
        if key not in self._seen:
            try:
                self._seen[key] = yamlload.load(path, display=display(path))
            except yamlload.YamlError as e:
                self._seen[key] = e
        return self._seen[key]


def route_names(root: Path, docs: Documents | None = None) -> set[str]:
    """Route names defined in the ops repo (files that fail to load contribute nothing)."""
    docs = docs or Documents()
    names: set[str] = set()
    for f in yaml_files(root / "notifiers"):
        doc = docs.get(f)
        routes = doc.data.get("routes") if isinstance(doc, yamlload.Document) else None
        if isinstance(routes, dict):
            names.update(str(k) for k in routes)
    return names


def check_document(
    doc: yamlload.Document,
    kind: str,
    routes: set[str],
    path: Path,
    docs: Documents | None = None,
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    report = Collector(doc, out)
    spec, _ = KINDS[kind]
    spec.check(doc.data, (), report)
    shape_ok = not out
    if kind == "playbook":
        # semantic checks tolerate shape errors, so all problems show at once
        PlaybookChecker(doc.data, routes, report).run()
    elif kind == "route":
        check_routes(doc.data, routes, report)
    elif kind == "settings":
        check_settings(doc.data, routes, report)
    elif kind == "drill" and shape_ok:
        playbook = _drill_playbook(doc.data, path, routes, docs or Documents())
        check_drill(doc.data, path, playbook, routes, report)
    return sorted(out, key=lambda d: (d.line, d.col, d.severity, d.message))


def _drill_playbook(
    data: dict[str, Any], path: Path, routes: set[str], docs: Documents
) -> dict[str, Any] | None:
    target = path.parent / str(data.get("playbook"))
    if not target.is_file():
        return None
    doc = docs.get(target)
    if not isinstance(doc, yamlload.Document):
        return None
    diags = check_document(doc, "playbook", routes, target, docs)
    errors = [d for d in diags if d.severity == "error"]
    return None if errors else doc.data


def validate(paths: list[Path], root: Path) -> list[Diagnostic]:
    """Every problem in every file, file by file in the order given."""
    files = expand(paths) if paths else repo_files(root)
    docs = Documents()  # each file is read and parsed once
    loaded = [(f, docs.get(f)) for f in files]
    routes = route_names(root, docs)
    for f, doc in loaded:  # route files named explicitly outside the repo count too
        if (
            isinstance(doc, yamlload.Document)
            and classify(f, doc.data) == "route"
            and isinstance(doc.data.get("routes"), dict)
        ):
            routes.update(doc.data["routes"])
    out: list[Diagnostic] = []
    for f, doc in loaded:
        if isinstance(doc, yamlload.YamlError):
            out.append(doc.diagnostic)
        else:
            out += check_document(doc, classify(f, doc.data), routes, f, docs)
    return out


def load_playbook(path: Path, root: Path) -> Playbook:
    """Load a playbook for running; every error at once, or the model."""
    try:
        doc = yamlload.load(path, display=display(path))
    except yamlload.YamlError as e:
        raise InvalidInput(e.diagnostic.format()) from None
    diags = check_document(doc, "playbook", route_names(root), path)
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        listing = "\n".join(d.format() for d in errors)
        raise InvalidInput(
            f"{display(path)} has {len(errors)} error(s); fix them first:\n{listing}"
        )
    return build_playbook(doc.data, path=str(path), text=doc.text)
