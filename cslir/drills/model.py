"""A drill file as values: its scenario, schedule, participants, injects and objectives.

``load_drill`` validates the file (every problem at once, located) and loads the playbook it
names. A drill run records ``Drill.snapshot()`` in its ``run.opened`` event, and everything that
happens later (injects, scoring, the after-action report) reads that snapshot, never the file:
a drill run keeps the drill it started with, as a run keeps its playbook.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cslir.base.errors import InvalidInput
from cslir.engine.model import Playbook, Text, build_playbook, localize

if TYPE_CHECKING:
    from cslir.opsrepo.documents import Documents


@dataclass(frozen=True)
class Inject:
    """One scripted event of the Master Scenario Events List (``at`` or ``after``)."""

    number: int  # 1-based, as a facilitator counts them
    message: Text
    at: str | None = None  # an offset in scenario time from the drill's start
    after: str | None = None  # a step: the inject fires when it has finished
    set: Mapping[str, Any] = field(default_factory=dict)  # inputs it changes

    def when(self) -> str:
        return f"at +{self.at}" if self.at else f"after {self.after}"


@dataclass(frozen=True)
class Objective:
    id: str
    text: Text
    step: str | None = None
    clock: str | None = None
    within: str | None = None
    core_capability: str | None = None


@dataclass(frozen=True)
class Drill:
    id: str
    title: Text
    playbook_ref: str  # as written in the file, relative to it
    path: str = ""
    sha256: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict)
    cron: str | None = None
    timezone: str | None = None
    cadence: str | None = None
    participants: tuple[str, ...] = ()
    injects: tuple[Inject, ...] = ()
    objectives: tuple[Objective, ...] = ()
    answers: Mapping[str, Any] = field(default_factory=dict)  # step id -> answer

    def name(self, lang: str | None = None) -> str:
        return localize(self.title, lang) or self.id

    @property
    def unattended(self) -> bool:
        """Scripted answers make a drill run to the end with nobody at a terminal."""
        return bool(self.answers)

    def runs_by_itself(self, playbook: Playbook) -> bool:
        """Whether the scheduler holds it to the end: scripted answers, or no step that needs
        a human (pages, commands and timers only)."""
        automatic = ("notify", "command", "wait")
        return self.unattended or all(s.kind in automatic for s in playbook.steps)

    def answer_file(self) -> dict[str, Any]:
        """The drill's ``answers:`` in the shape of an answers file (see runs.automation)."""
        steps = {
            sid: {"outcome": ans} if isinstance(ans, str) else dict(ans)
            for sid, ans in self.answers.items()
        }
        return {"inputs": dict(self.inputs), "steps": steps}

    def snapshot(self, **extra: Any) -> dict[str, Any]:
        """What a drill run records of its drill (JSON values only)."""
        return {
            "id": self.id,
            "title": self.title,
            "path": self.path,
            "sha256": self.sha256,
            "cadence": self.cadence,
            "schedule": {"cron": self.cron, "timezone": self.timezone} if self.cron else None,
            "participants": list(self.participants),
            "answers": dict(self.answers),
            "injects": [
                {"message": i.message, "at": i.at, "after": i.after, "set": dict(i.set)}
                for i in self.injects
            ],
            "objectives": [
                {
                    "id": o.id,
                    "text": o.text,
                    "step": o.step,
                    "clock": o.clock,
                    "within": o.within,
                    "core_capability": o.core_capability,
                }
                for o in self.objectives
            ],
            **extra,
        }


def drill_from(data: Mapping[str, Any], *, path: str = "", text: str = "") -> Drill:
    """A drill from a validated file's data, or from a run's snapshot of one."""
    schedule = data.get("schedule") or {}
    return Drill(
        id=str(data["id"]),
        title=data.get("title") or data["id"],
        playbook_ref=str(data.get("playbook", "")),
        path=path or str(data.get("path", "")),
        sha256=hashlib.sha256(text.encode()).hexdigest() if text else str(data.get("sha256", "")),
        inputs=dict(data.get("inputs") or {}),
        cron=schedule.get("cron"),
        timezone=schedule.get("timezone"),
        cadence=data.get("cadence"),
        participants=tuple(str(p) for p in data.get("participants") or ()),
        injects=tuple(
            Inject(n, raw["message"], raw.get("at"), raw.get("after"), dict(raw.get("set") or {}))
            for n, raw in enumerate(data.get("injects") or (), start=1)
        ),
        objectives=tuple(
            Objective(
                str(o["id"]),
                o["text"],
                o.get("step"),
                o.get("clock"),
                o.get("within"),
                o.get("core_capability"),
            )
            for o in data.get("objectives") or ()
        ),
        answers=dict(data.get("answers") or {}),
    )


def load_drill(
    path: Path, root: Path, documents: Documents | None = None
) -> tuple[Drill, Playbook]:
    """Validate a drill file and load it with its playbook; every error at once, located.

    ``documents`` shares parsing (and each playbook's check) among the drills of a folder.
    """
    from cslir.opsrepo import yamlload
    from cslir.opsrepo.documents import Documents, check_document, display, errors_of

    documents = documents or Documents()
    doc = documents.get(path)
    if isinstance(doc, yamlload.YamlError):
        raise InvalidInput(doc.diagnostic.format())
    routes = documents.route_names(root)
    errors = errors_of(check_document(doc, "drill", routes, path, documents))
    if errors:
        listing = "\n".join(d.format() for d in errors)
        raise InvalidInput(
            f"{display(path)} has {len(errors)} error(s); fix them first:\n{listing}"
        )
    drill = drill_from(doc.data, path=display(path), text=doc.text)
    target = path.parent / drill.playbook_ref
    played = documents.get(target)
    checked = documents.playbook(target, routes, root)
    # the drill's check loaded and checked the playbook without errors
    assert isinstance(played, yamlload.Document) and checked is not None
    expansion = checked[0]  # the steps of the files it includes, in place
    return drill, build_playbook(
        expansion.data, path=str(target), text=played.text, includes=expansion.texts
    )
