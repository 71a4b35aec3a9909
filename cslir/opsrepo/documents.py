"""The ops repo's YAML files: found, each read and parsed once, and checked by kind.

``validate`` reports every problem of the files it is given; ``notify.routes`` loads the route
files for sending. Both read through a ``Documents`` cache, so a file another one refers to (the
playbook of a drill, the route files whose names a playbook uses) is not parsed again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cslir.opsrepo import includes, yamlload
from cslir.opsrepo.checks import PlaybookChecker
from cslir.opsrepo.diagnostics import Diagnostic
from cslir.opsrepo.opschecks import check_drill, check_routes, check_settings
from cslir.opsrepo.schemas import KINDS
from cslir.opsrepo.spec import PathKey

YAML_SUFFIXES = (".yaml", ".yml")


def display(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when it can be."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


@dataclass
class Documents:
    """Each file loaded at most once: its document, or the YAML error that stopped it."""

    _loaded: dict[Path, yamlload.Document | yamlload.YamlError] = field(default_factory=dict)
    # a playbook expanded and checked once, however many drills name it
    _checked: dict[Path, tuple[includes.Expansion, list[Diagnostic]]] = field(default_factory=dict)
    _keys: dict[Path, Path] = field(default_factory=dict)  # as named -> resolved, once each
    _routes: dict[Path, set[str]] = field(default_factory=dict)

    def get(self, path: Path) -> yamlload.Document | yamlload.YamlError:
        key = self._keys.get(path) or self._keys.setdefault(path, path.resolve())
        if key not in self._loaded:
            try:
                self._loaded[key] = yamlload.load(path, display=display(path))
            except yamlload.YamlError as e:
                self._loaded[key] = e
        return self._loaded[key]

    def playbook(
        self, path: Path, routes: set[str], root: Path | None
    ) -> tuple[includes.Expansion, list[Diagnostic]] | None:
        """The playbook at ``path`` with its includes expanded, and every problem of it (None:
        it does not parse), checked once."""
        doc = self.get(path)
        if isinstance(doc, yamlload.YamlError):
            return None
        key = self._keys.get(path) or self._keys.setdefault(path, path.resolve())
        if key not in self._checked:
            self._checked[key] = check_playbook(doc, routes, path, root, self)
        return self._checked[key]

    def route_names(self, root: Path) -> set[str]:
        """Route names defined in ``root/notifiers`` (files that fail to load add nothing)."""
        if root in self._routes:
            return set(self._routes[root])
        names: set[str] = set()
        for path in yaml_files(root / "notifiers"):
            doc = self.get(path)
            if isinstance(doc, yamlload.Document):
                names.update(route_names_in(doc))
        self._routes[root] = set(names)
        return names


def route_names_in(doc: yamlload.Document) -> list[str]:
    routes = doc.data.get("routes")
    return [str(name) for name in routes] if isinstance(routes, dict) else []


@dataclass
class Collector:
    """Gathers diagnostics for one document, located through its source positions."""

    doc: yamlload.Document
    out: list[Diagnostic]

    def __call__(self, at: PathKey, message: str, key: bool, severity: str = "error") -> None:
        line, col = self.doc.loc(at, key=key)
        self.out.append(Diagnostic(self.doc.path, line, col, severity, message))


def check_playbook(
    doc: yamlload.Document,
    routes: set[str],
    path: Path,
    root: Path | None,
    documents: Documents | None = None,
) -> tuple[includes.Expansion, list[Diagnostic]]:
    """A playbook with its includes expanded, and every problem in it and in what it includes
    (a step file's problems at their own lines; includes stay inside ``root``)."""
    out: list[Diagnostic] = []
    KINDS["playbook"][0].check(doc.data, (), Collector(doc, out))
    load = (documents or Documents()).get
    expansion = includes.expand(doc, includes.file_resolver(path, root, load))
    out += expansion.problems
    # semantic checks tolerate shape errors, so all problems show at once
    PlaybookChecker(expansion.data, routes, includes.ExpansionCollector(expansion, out)).run()
    return expansion, sorted(set(out))  # by file, then line: the playbook, then what it includes


def check_document(
    doc: yamlload.Document,
    kind: str,
    routes: set[str],
    path: Path,
    documents: Documents | None = None,
    root: Path | None = None,
) -> list[Diagnostic]:
    """Every problem of one document of ``kind``; ``routes`` are the route names that exist."""
    if kind == "playbook":
        checked = documents.playbook(path, routes, root) if documents is not None else None
        return checked[1] if checked is not None else check_playbook(doc, routes, path, root)[1]
    if kind == "steps":
        return sorted(includes.check_step_file(doc))
    out: list[Diagnostic] = []
    report = Collector(doc, out)
    spec, _ = KINDS[kind]
    spec.check(doc.data, (), report)
    shape_ok = not out
    if kind == "route":
        check_routes(doc.data, routes, report)
    elif kind == "settings":
        check_settings(doc.data, routes, report)
    elif kind == "drill" and shape_ok:
        played = _drill_playbook(doc.data, path, routes, documents or Documents(), root)
        check_drill(doc.data, path, played, routes, report)
    return sorted(out, key=lambda d: (d.line, d.col, d.severity, d.message))


def errors_of(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]


def _drill_playbook(
    data: dict[str, Any], path: Path, routes: set[str], documents: Documents, root: Path | None
) -> dict[str, Any] | None:
    target = path.parent / str(data.get("playbook"))
    if not target.is_file():
        return None
    checked = documents.playbook(target, routes, root)
    if checked is None or errors_of(checked[1]):
        return None
    return checked[0].data
