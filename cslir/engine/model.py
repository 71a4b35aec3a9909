"""The playbook model: frozen values built from a validated document."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Text = str | Mapping[str, str]


def localize(value: Text | None, lang: str | None = None) -> str:
    """A text field in the chosen language, falling back to English, then to any."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    for key in (lang, "en", "zh"):
        if key and key in value:
            return value[key]
    return next(iter(value.values()), "")


def as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text | None = None

    @classmethod
    def parse(cls, raw: Any) -> Choice:
        if isinstance(raw, dict):
            return cls(str(raw["value"]), raw.get("label"))
        return cls(str(raw))


@dataclass(frozen=True)
class Input:
    """A value the run needs: given (``--var``, answers), asked (``prompt``), defaulted, or
    set by a decision step."""

    name: str
    type: str
    prompt: Text | None = None
    help: Text | None = None
    default: Any = None
    required: bool = True
    choices: tuple[Choice, ...] = ()
    basis: tuple[str, ...] = ()
    future: bool = False  # a deadline a clock's due_at reads: it may lie ahead


@dataclass(frozen=True)
class Clock:
    id: str
    start: str  # an input name, "start", or "step:<id>"
    due: str | None  # a duration after the start; None when due_at names the deadline
    due_if: tuple[tuple[str, str], ...] = ()
    when: str | None = None
    warn: tuple[str, ...] = ()
    escalate: str | None = None
    basis: tuple[str, ...] = ()
    confidence: str | None = None
    title: Text | None = None
    recipient: Text | None = None
    due_at: str | None = None  # a datetime input the outside world sets (a notice's deadline)
    stop: str = "first"  # "first": the first stopping step stops it; "all": every one must

    @property
    def rule(self) -> str:
        """The deadline rule as written: ``4h``, or ``at <input>`` for a stated deadline."""
        return self.due if self.due else f"at {self.due_at}"


@dataclass(frozen=True)
class Floor:
    """A threshold that proposes the least a decision may choose (a grading indicator met)."""

    when: str
    choice: str
    indicator: Text
    basis: tuple[str, ...] = ()
    confidence: str | None = None


@dataclass(frozen=True)
class Step:
    id: str
    kind: str = "task"
    title: Text | None = None
    instructions: Text | None = None
    owner: str | None = None
    needs: tuple[str, ...] | None = None  # None: the previous step in the list
    when: str | None = None
    estimate: str | None = None
    checklist: tuple[Text, ...] = ()
    stops: tuple[str, ...] = ()
    evidence: str | None = None
    basis: tuple[str, ...] = ()
    sets: str | None = None
    choices: tuple[Choice, ...] = ()
    default: Any = None
    by: str | None = None
    run: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    timeout: str | None = None
    in_drill: str = "simulate"
    route: str | None = None
    message: Text | None = None
    link: str | None = None  # notify: a URL template, sent as the message's Details link
    collect: str = "either"
    duration: str | None = None
    purpose: str | None = None  # report | containment | notification | cooperation | ...
    floor: tuple[Floor, ...] = ()  # decisions: the least choice each threshold proposes
    probe: Mapping[str, Any] | None = None  # {"http"|"tcp"|"dns": {...}} for probe steps
    within: str | None = None  # probes: keep trying this long
    every: str | None = None  # probes: the interval between attempts
    drill_target: str | None = None  # probes: what a drill probes instead of the target

    @property
    def runs_itself(self) -> bool:
        """Command and probe steps: cslir does the work, the responder starts it."""
        return self.kind in ("command", "probe")

    @property
    def needs_evidence(self) -> bool:
        """Whether finishing the step needs evidence first: the one rule, asked everywhere.

        An evidence step exists to collect something, so it needs it unless marked optional.
        """
        return self.evidence == "required" or (
            self.kind == "evidence" and self.evidence != "optional"
        )

    @property
    def submits(self) -> bool:
        """Whether a person's act in this step files something with someone outside: its
        purpose is a report or a notification, or it stops a legal clock (and is a task or an
        evidence step). When and with what receipt it was filed are worth asking."""
        filing = self.purpose in ("report", "notification") or bool(self.stops)
        return filing and self.kind in ("task", "evidence")


@dataclass(frozen=True)
class Playbook:
    id: str
    title: Text
    steps: tuple[Step, ...]
    summary: Text | None = None
    version: str | None = None
    basis: tuple[str, ...] = ()
    roles: Mapping[str, Text] = field(default_factory=dict)
    inputs: Mapping[str, Input] = field(default_factory=dict)
    clocks: Mapping[str, Clock] = field(default_factory=dict)
    path: str = ""
    text: str = ""
    includes: Mapping[str, str] = field(default_factory=dict)  # include path -> its text

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def choices_of(self, step: Step) -> tuple[Choice, ...]:
        if step.choices:
            return step.choices
        inp = self.inputs.get(step.sets or "")
        if inp is not None and inp.type == "bool":
            return (Choice("true"), Choice("false"))
        return inp.choices if inp else ()


PROBE_KINDS = ("http", "tcp", "dns")


def _floor(raw: Mapping[str, Any]) -> Floor:
    return Floor(
        when=raw["when"],
        choice=str(raw["choice"]),
        indicator=raw["indicator"],
        basis=as_tuple(raw.get("basis")),
        confidence=raw.get("confidence"),
    )


def _known(cls: type[Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``raw`` named like fields of the dataclass ``cls``, as they are: the
    caller converts the few that are not plain values."""
    return {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}


def _input(name: str, raw: Mapping[str, Any], *, future: bool) -> Input:
    kw = _known(Input, raw)
    kw.update(name=name, future=future, basis=as_tuple(raw.get("basis")))
    kw["choices"] = tuple(Choice.parse(c) for c in raw.get("choices", ()))
    return Input(**kw)


def _clock(cid: str, raw: Mapping[str, Any]) -> Clock:
    kw = _known(Clock, raw)
    kw.update(id=cid, start=raw["from"], due=raw.get("due"), basis=as_tuple(raw.get("basis")))
    kw["due_if"] = tuple((raw.get("due_if") or {}).items())
    kw["warn"] = tuple(raw.get("warn", ()))
    return Clock(**kw)


def _step(raw: Mapping[str, Any]) -> Step:
    kw = _known(Step, raw)
    kw.pop("probe", None)
    kw.pop("floor", None)
    if raw.get("kind") == "probe":
        kw["probe"] = {k: raw[k] for k in PROBE_KINDS if k in raw}
        kw.setdefault("in_drill", "execute")  # a probe only looks; it runs in drills too
    if "floor" in raw:
        kw["floor"] = tuple(_floor(f) for f in raw["floor"])
    for key in ("checklist", "stops", "basis", "run"):
        if key in kw:
            kw[key] = as_tuple(kw[key])
    if "needs" in kw:
        kw["needs"] = tuple(kw["needs"] or ())
    if "choices" in kw:
        kw["choices"] = tuple(Choice.parse(c) for c in kw["choices"])
    if "run" in kw:
        kw["run"] = tuple(str(a) for a in kw["run"])
    return Step(**kw)


def build_playbook(
    data: Mapping[str, Any],
    *,
    path: str = "",
    text: str = "",
    includes: Mapping[str, str] | None = None,
) -> Playbook:
    """Build the model from data that already passed the schema (includes expanded)."""
    deadlines = {raw.get("due_at") for raw in (data.get("clocks") or {}).values()}
    inputs = {
        name: _input(name, raw, future=name in deadlines)
        for name, raw in (data.get("inputs") or {}).items()
    }
    clocks = {cid: _clock(cid, raw) for cid, raw in (data.get("clocks") or {}).items()}
    return Playbook(
        id=data["id"],
        title=data["title"],
        summary=data.get("summary"),
        version=data.get("version"),
        basis=as_tuple(data.get("basis")),
        roles=dict(data.get("roles") or {}),
        inputs=inputs,
        clocks=clocks,
        steps=tuple(_step(s) for s in data["steps"]),
        path=path,
        text=text,
        includes=dict(includes or {}),
    )
