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


def route_names(root: Path) -> set[str]:
    """Route names defined in the ops repo (files that fail to load contribute nothing)."""
    names: set[str] = set()
    for f in yaml_files(root / "notifiers"):
        try:
            routes = yamlload.load(f).data.get("routes")
        except yamlload.YamlError:
            continue
        if isinstance(routes, dict):
            names.update(str(k) for k in routes)
    return names


def check_document(
    doc: yamlload.Document, kind: str, routes: set[str], path: Path
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
        check_drill(doc.data, path, _drill_playbook(doc.data, path, routes), routes, report)
    return sorted(out, key=lambda d: (d.line, d.col, d.severity, d.message))


def _drill_playbook(data: dict[str, Any], path: Path, routes: set[str]) -> dict[str, Any] | None:
    target = path.parent / str(data.get("playbook"))
    if not target.is_file():
        return None
    try:
        doc = yamlload.load(target)
    except yamlload.YamlError:
        return None
    errors = [d for d in check_document(doc, "playbook", routes, target) if d.severity == "error"]
    return None if errors else doc.data


def validate(paths: list[Path], root: Path) -> list[Diagnostic]:
    """Every problem in every file, file by file in the order given."""
    files = expand(paths) if paths else repo_files(root)
    loaded: list[tuple[Path, yamlload.Document | yamlload.YamlError]] = []
    for f in files:  # each file is read and parsed once
        try:
            loaded.append((f, yamlload.load(f, display=display(f))))
        except yamlload.YamlError as e:
            loaded.append((f, e))
    routes = route_names(root)
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
            out += check_document(doc, classify(f, doc.data), routes, f)
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
