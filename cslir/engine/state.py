"""The run's state as a pure fold over its events.

Nothing here does I/O or reads a clock: the same events always give the same state, so the
walkthrough, ``cslir status`` in another terminal and the after-action report agree.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cslir.events import Event, parse_at
from cslir.model import Playbook, build_playbook
from cslir.templating import TemplateProblem, evaluate

FINISHED = ("done", "skipped", "n/a")  # statuses that let dependent steps go ahead


@dataclass
class StepState:
    id: str
    status: str = "pending"  # pending|ready|blocked|running|waiting|done|skipped|failed|n/a
    started_at: datetime | None = None
    ended_at: datetime | None = None
    actor: str | None = None
    reason: str | None = None
    checked: set[int] = field(default_factory=set)
    evidence: list[str] = field(default_factory=list)
    requested_by: str | None = None  # approvals
    approved_by: str | None = None
    attempts: int = 0
    outcome: dict[str, Any] = field(default_factory=dict)
    waiting_for: str | None = None  # why a step is blocked or waiting, for the screen

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass
class RunState:
    run_id: str
    playbook: Playbook
    mode: str
    opened_at: datetime
    opened_by: str
    timezone: str | None
    inputs: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, StepState] = field(default_factory=dict)
    notes: list[Event] = field(default_factory=list)
    evidence: list[Event] = field(default_factory=list)
    notifications: list[Event] = field(default_factory=list)
    warned: set[tuple[str, str]] = field(default_factory=set)  # (clock, warn) recorded once
    missed: set[str] = field(default_factory=set)
    actors: list[str] = field(default_factory=list)
    paused: bool = False
    closed_at: datetime | None = None
    last_seq: int = 0
    head: str = ""
    last_at: datetime | None = None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def drill(self) -> bool:
        return self.mode == "drill"

    def ready_steps(self) -> list[str]:
        return [sid for sid, s in self.steps.items() if s.status == "ready"]

    def all_finished(self) -> bool:
        return all(s.finished for s in self.steps.values())


def input_values(inputs: Mapping[str, Any], playbook: Playbook) -> dict[str, Any]:
    """Inputs as templates and expressions see them: datetime inputs as datetimes."""
    out = dict(inputs)
    for name, spec in playbook.inputs.items():
        value = out.get(name)
        if spec.type == "datetime" and isinstance(value, str):
            with contextlib.suppress(ValueError):  # a bad spelling stays text, as recorded
                out[name] = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return out


def condition(expr: str | None, inputs: Mapping[str, Any], playbook: Playbook) -> bool | None:
    """True, False, or None when it names an input nobody has given yet."""
    if not expr:
        return True
    values = input_values(inputs, playbook)
    try:
        return bool(evaluate(expr, {**values, "inputs": values}))
    except (TemplateProblem, Exception):  # StrictUndefined raises when made a bool
        return None


def _apply(state: RunState, e: Event) -> None:
    at = parse_at(e.at)
    d = e.data
    step = state.steps.get(str(d.get("step", "")))
    if e.actor not in state.actors and e.actor != "cslir":
        state.actors.append(e.actor)
    t = e.type
    if t == "input.set":
        state.inputs[d["name"]] = d["value"]
    elif t == "step.started" and step:
        step.started_at = step.started_at or at
        step.attempts += 1
    elif t == "step.checked" and step:
        step.checked.add(int(d["item"]))
    elif t in ("step.done", "step.skipped", "step.failed") and step:
        step.status = t.split(".")[1]
        step.ended_at, step.actor, step.reason = at, e.actor, d.get("reason")
        step.started_at = step.started_at or at
        step.outcome = dict(d)
    elif t == "step.retried" and step:
        step.status, step.ended_at, step.reason, step.outcome = "pending", None, None, {}
        step.started_at = None
    elif t == "decision.made" and step:
        state.inputs[d["input"]] = d["value"]
        step.status, step.ended_at, step.actor = "done", at, e.actor
        step.reason = d.get("rationale")
        step.started_at = step.started_at or at
        step.outcome = dict(d)
    elif t == "approval.requested" and step:
        step.requested_by = e.actor
        step.started_at = step.started_at or at
    elif t == "approval.granted" and step:
        step.approved_by = e.actor
        step.status, step.ended_at, step.actor = "done", at, e.actor
        step.reason = d.get("rationale")
    elif t == "evidence.added":
        state.evidence.append(e)
        if step:
            step.evidence.append(str(d.get("sha256") or d.get("name")))
    elif t == "note.added":
        state.notes.append(e)
    elif t.startswith("notify."):
        state.notifications.append(e)
    elif t == "clock.warned":
        state.warned.add((d["clock"], d["warn"]))
    elif t == "clock.missed":
        state.missed.add(d["clock"])
    elif t == "run.paused":
        state.paused = True
    elif t == "run.resumed":
        state.paused = False
    elif t == "run.closed":
        state.closed_at = at


def _statuses(state: RunState) -> None:
    """Derive pending/ready/blocked/n-a for steps that have no recorded outcome."""
    pb = state.playbook
    for step in pb.steps:
        s = state.steps[step.id]
        if s.status in ("done", "skipped", "failed"):
            continue
        cond = condition(step.when, state.inputs, pb)
        if cond is False:
            s.status, s.waiting_for = "n/a", None
            continue
        needs = pb.needs_of(step)
        unmet = [n for n in needs if not state.steps[n].finished]
        if unmet:
            s.status, s.waiting_for = "pending", "after " + ", ".join(unmet)
        elif cond is None:
            s.status, s.waiting_for = "blocked", "its condition needs inputs not given yet"
        elif step.kind == "approval" and s.requested_by:
            s.status, s.waiting_for = "waiting", f"approval by {step.by}"
        elif s.started_at is not None and step.kind in ("command", "wait"):
            s.status, s.waiting_for = "running", None
        else:
            s.status, s.waiting_for = "ready", None


def fold(events: Iterable[Event], playbook: Playbook | None = None) -> RunState:
    """Fold a run's events, in order, into its state. The first must be run.opened."""
    it = iter(events)
    first = next(it, None)
    if first is None or first.type != "run.opened":
        raise ValueError("a run's first event must be run.opened")
    d = first.data
    pb = playbook or playbook_from_opening(d)
    state = RunState(
        run_id=first.run,
        playbook=pb,
        mode=str(d.get("mode", "live")),
        opened_at=parse_at(first.at),
        opened_by=first.actor,
        timezone=d.get("timezone"),
        inputs=dict(d.get("inputs") or {}),
        steps={s.id: StepState(s.id) for s in pb.steps},
        actors=[first.actor],
        last_seq=first.seq,
        head=first.hash,
        last_at=parse_at(first.at),
    )
    return advance(state, it)


def advance(state: RunState, events: Iterable[Event]) -> RunState:
    """Apply events that follow ``state.last_seq`` (in place) and re-derive step statuses."""
    for e in events:
        if e.seq <= state.last_seq:
            continue
        _apply(state, e)
        state.last_seq, state.head, state.last_at = e.seq, e.hash, parse_at(e.at)
    _statuses(state)
    return state


def playbook_from_opening(data: Mapping[str, Any]) -> Playbook:
    """Rebuild the playbook from the snapshot that run.opened recorded."""
    from cslir import yamlload

    snap = data["playbook"]
    doc = yamlload.loads(snap["text"], snap.get("path", "<snapshot>"))
    return build_playbook(doc.data, path=snap.get("path", ""), text=snap["text"])
