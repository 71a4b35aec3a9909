"""Steps shared between playbooks: ``- include: shared/open-incident.yaml`` in a steps list.

A step file (``playbooks/shared/*.yaml``) holds ``cslir: 1`` and a ``steps:`` list; including it
inserts those steps where the include stands, as if they were written there. Include paths are
relative to the including playbook and may not leave the ops repo (or, for a playbook outside
it, the playbook's own folder); step files do not include others.

Problems in an included step are reported at its line in the step file, naming the playbook
that includes it, because the same steps can be right for one playbook and wrong for another
(a role or an input one of them does not declare).

A run records the text of every file its playbook included beside the playbook's own text, and
rebuilds from those texts (``from_snapshot``): resume, report and verify never read the step
files again, so editing one later changes no recorded run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cslir.opsrepo import yamlload
from cslir.opsrepo.diagnostics import Diagnostic
from cslir.opsrepo.spec import PathKey

# include path as written -> its document, the message saying why it cannot be had, or None
# when the path is malformed (the schema reports that)
Resolve = Callable[[str], "yamlload.Document | str | None"]
Load = Callable[[Path], "yamlload.Document | yamlload.YamlError"]


@dataclass(frozen=True)
class Origin:
    """Where one step of the expanded list was written."""

    doc: yamlload.Document
    index: int  # its index in that document's steps list
    included_at: tuple[int, int] | None = None  # line, col of the include in the playbook


@dataclass
class Expansion:
    """A playbook with its includes replaced by the steps they name."""

    doc: yamlload.Document
    data: dict[str, Any]
    origins: list[Origin] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # include path -> the text included
    problems: list[Diagnostic] = field(default_factory=list)

    def locate(self, at: PathKey, *, key: bool = False) -> tuple[str, int, int, str]:
        """(file, line, col, note) of a path in the expanded data."""
        step = at[1] if len(at) >= 2 and at[0] == "steps" else None
        if isinstance(step, int) and step < len(self.origins):
            origin = self.origins[step]
            line, col = origin.doc.loc(("steps", origin.index, *at[2:]), key=key)
            note = ""
            if origin.included_at is not None:
                note = f" (in the steps {self.doc.path}:{origin.included_at[0]} includes)"
            return origin.doc.path, line, col, note
        line, col = self.doc.loc(at, key=key)
        return self.doc.path, line, col, ""


@dataclass
class ExpansionCollector:
    """A validator's report function for an expansion: each message at its own file's line."""

    expansion: Expansion
    out: list[Diagnostic]

    def __call__(self, at: PathKey, message: str, key: bool, severity: str = "error") -> None:
        path, line, col, note = self.expansion.locate(at, key=key)
        self.out.append(Diagnostic(path, line, col, severity, message + note))


def expand(doc: yamlload.Document, resolve: Resolve) -> Expansion:
    """Replace every ``- include: FILE`` of ``doc``'s steps with that file's steps."""
    steps = doc.data.get("steps")
    out = Expansion(doc, dict(doc.data))
    if not isinstance(steps, list):
        return out
    expanded: list[Any] = []
    for i, item in enumerate(steps):
        if not (isinstance(item, dict) and isinstance(item.get("include"), str)):
            expanded.append(item)
            out.origins.append(Origin(doc, i))
            continue
        name = item["include"]
        at = ("steps", i, "include")
        got = resolve(name)
        if got is None:
            continue
        if isinstance(got, str):
            out.problems.append(_located(doc, at, got))
            continue
        out.texts[name] = got.text
        out.problems += check_step_file(got)
        included = got.data.get("steps")
        for j, step in enumerate(included if isinstance(included, list) else []):
            if isinstance(step, dict) and "include" in step:
                continue  # check_step_file said that includes do not nest
            expanded.append(step)
            out.origins.append(Origin(got, j, doc.loc(at)))
    out.data["steps"] = expanded
    return out


def check_step_file(doc: yamlload.Document) -> list[Diagnostic]:
    """The shape of a step file, and the durations in it."""
    from cslir.opsrepo.playbookschema import STEPS
    from cslir.opsrepo.timechecks import check_durations

    out: list[Diagnostic] = []

    def report(at: PathKey, message: str, key: bool, severity: str = "error") -> None:
        out.append(_located(doc, at, message, key=key, severity=severity))

    STEPS.check(doc.data, (), report)
    check_durations({"steps": doc.data.get("steps")}, report)
    return out


def _located(
    doc: yamlload.Document, at: PathKey, message: str, *, key: bool = False, severity: str = "error"
) -> Diagnostic:
    line, col = doc.loc(at, key=key)
    return Diagnostic(doc.path, line, col, severity, message)


def bound_of(playbook: Path, root: Path | None) -> Path:
    """The folder includes must stay inside: the ops root, if the playbook lies in it."""
    here = playbook.resolve().parent
    if root is not None and here.is_relative_to(root.resolve()):
        return root.resolve()
    return here


def file_resolver(playbook: Path, root: Path | None, load: Load) -> Resolve:
    """Resolve includes against the file system, refusing paths that leave the bound."""
    bound = bound_of(playbook, root)
    where = "the ops repo" if root is not None and bound == root.resolve() else "its folder"

    def resolve(name: str) -> yamlload.Document | str | None:
        if not name.endswith((".yaml", ".yml")):
            return None
        if PurePosixPath(name).is_absolute() or "\\" in name or ":" in name:
            return f"include '{name}' must be a relative path such as shared/open-incident.yaml"
        target = (playbook.parent / name).resolve()
        if not target.is_relative_to(bound):
            return f"include '{name}' leads outside {where}; step files must live inside it"
        if not target.is_file():
            return f"include '{name}': no such step file ({_shown(target)})"
        got = load(target)
        if isinstance(got, yamlload.YamlError):
            d = got.diagnostic
            return f"include '{name}' cannot be read: {d.path}:{d.line}:{d.col}: {d.message}"
        return got

    return resolve


def snapshot_resolver(texts: Mapping[str, str], playbook_path: str) -> Resolve:
    """Resolve includes from the texts a run recorded when it opened."""

    def resolve(name: str) -> yamlload.Document | str | None:
        if name not in texts:
            return f"include '{name}' is not in the run's recorded snapshot"
        shown = str(PurePosixPath(playbook_path or "<snapshot>").parent / name)
        return yamlload.loads(texts[name], shown)

    return resolve


def _shown(path: Path) -> str:
    from cslir.opsrepo.documents import display

    return display(path)


def recorded(includes: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """What run.opened records of the included files: each one's text and sha256."""
    import hashlib

    return {
        name: {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "text": text}
        for name, text in includes.items()
    }
