"""The run's state as a pure fold over its events.

Nothing here does I/O, parses a file or reads a clock: the same events always give the same
state, so the walkthrough, ``cslir status`` in another terminal and the after-action report
agree. The playbook is the caller's to give (``cslir.opsrepo.snapshot`` rebuilds the one a run
opened with).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# what the inputs say (its own module; other modules import these from here too)
from cslir.engine.conditions import condition as condition
from cslir.engine.conditions import input_values as input_values
from cslir.engine.events import Event, parse_at
from cslir.engine.model import Playbook, Step

FINISHED = ("done", "skipped", "n/a")  # statuses that let dependent steps go ahead
RECORDED = ("done", "skipped", "failed")  # statuses an event set, not derived
ACTIONABLE = ("ready", "failed", "waiting", "running", "blocked")  # what a screen lists

# The playbook a run opened with, given run.opened's data (cslir.opsrepo.snapshot has one).
PlaybookOf = Callable[[Mapping[str, Any]], Playbook]


@dataclass(frozen=True)
class Index:
    """Lookups over a playbook's steps, built once per run so that folding stays linear.

    ``dependents`` is the reverse of ``needs``: when a step finishes, only it and the steps
    that need it can change status.
    """

    step: Mapping[str, Step]
    position: Mapping[str, int]
    needs: Mapping[str, tuple[str, ...]]
    dependents: Mapping[str, tuple[str, ...]]
    stoppers: Mapping[str, tuple[str, ...]]  # clock id -> the steps that stop it
    waits: tuple[str, ...]  # timer steps, for the watch

    @classmethod
    def of(cls, pb: Playbook) -> Index:
        ids = [s.id for s in pb.steps]
        needs = {s.id: s.needs if s.needs is not None else tuple(ids[i - 1 : i])
                 for i, s in enumerate(pb.steps)}  # fmt: skip
        dependents: dict[str, list[str]] = {sid: [] for sid in ids}
        for sid, wanted in needs.items():
            for n in wanted:
                dependents.setdefault(n, []).append(sid)
        stoppers: dict[str, list[str]] = {cid: [] for cid in pb.clocks}
        for s in pb.steps:
            for cid in s.stops:
                stoppers.setdefault(cid, []).append(s.id)
        return cls(
            step={s.id: s for s in pb.steps},
            position={sid: i for i, sid in enumerate(ids)},
            needs=needs,
            dependents={k: tuple(v) for k, v in dependents.items()},
            stoppers={k: tuple(v) for k, v in stoppers.items()},
            waits=tuple(s.id for s in pb.steps if s.kind == "wait" and s.duration),
        )


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
    failures: int = 0  # times it was recorded failed (and retried), for a drill's rating
    outcome: dict[str, Any] = field(default_factory=dict)
    waiting_for: str | None = None  # why a step is blocked or waiting, for the screen
    runner: dict[str, Any] | None = None  # who runs a started command: {pid, host}

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
    index: Index
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
    # trust: the last milestone, the last signed checkpoint, the last milestone witnessed
    milestone_seq: int = 0
    checkpoint_seq: int = 0
    witness_seq: int = 0
    # each page (by its notify.requested seq): route, step, status (pending|delivered|failed)
    pages: dict[int, dict[str, Any]] = field(default_factory=dict)
    # kept up to date by advance(), so that asking "what is ready" or "is every step finished"
    # does not walk every step of a long playbook
    unfinished: set[str] = field(default_factory=set)
    actionable: set[str] = field(default_factory=set)
    # Drill runs keep scenario time: wall time since the opening run ``speed`` times faster,
    # plus the jumps a facilitator records (``drill.advanced``: wall time, seconds). Event times
    # are folded as scenario times, so clocks, timers and objectives count in scenario time.
    speed: float = 1.0
    jumps: list[tuple[datetime, float]] = field(default_factory=list)
    drill_log: list[Event] = field(default_factory=list)  # every drill.* event, in order
    drill_spec: Mapping[str, Any] | None = None  # the drill file's snapshot, from run.opened

    @property
    def shifted(self) -> bool:
        """Whether scenario time differs from wall time."""
        return self.speed != 1.0 or bool(self.jumps)

    def scenario(self, wall: datetime) -> datetime:
        """The scenario time at wall time ``wall`` (the same time for a live run)."""
        if not self.shifted:
            return wall
        moment = self.opened_at + (wall - self.opened_at) * self.speed
        return moment + timedelta(seconds=sum(s for at, s in self.jumps if at <= wall))

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def drill(self) -> bool:
        return self.mode == "drill"

    def in_order(self, *statuses: str) -> list[str]:
        """Ids of the steps in these statuses (one of ACTIONABLE's), in playbook order."""
        ids = [sid for sid in self.actionable if self.steps[sid].status in statuses]
        return sorted(ids, key=self.index.position.__getitem__)

    def ready_steps(self) -> list[str]:
        return self.in_order("ready")

    def all_finished(self) -> bool:
        return not self.unfinished


def _apply(state: RunState, e: Event, at: datetime) -> str | None:
    """Apply one event; return the step whose status may change, or INPUTS, or None."""
    d = e.data
    if e.actor not in state.actors and e.actor != "cslir":
        state.actors.append(e.actor)
    if e.type == "input.set":
        state.inputs[d["name"]] = d["value"]
        return INPUTS
    step = state.steps.get(str(d.get("step", "")))
    if step is not None and e.type.startswith(("step.", "approval.", "decision.")):
        return _apply_to_step(state, step, e, at)
    _apply_to_run(state, step, e, at)
    return None


def _apply_to_step(state: RunState, step: StepState, e: Event, at: datetime) -> str:
    d, t = e.data, e.type
    if t == "step.started":
        step.started_at = step.started_at or at
        step.attempts += 1
        step.runner = {k: d[k] for k in ("pid", "host") if k in d} or None
    elif t == "step.checked":
        step.checked.add(int(d["item"]))
    elif t in ("step.done", "step.skipped", "step.failed"):
        at = _acted(d, at)  # clocks count the act's own time when the responder gave it
        step.status = t.split(".")[1]
        step.failures += t == "step.failed"
        step.ended_at, step.actor, step.reason = at, e.actor, d.get("reason")
        step.started_at = min(step.started_at or at, at)
        step.outcome, step.runner = dict(d), None
    elif t == "step.retried":
        step.status, step.ended_at, step.reason, step.outcome = "pending", None, None, {}
        step.started_at = step.runner = None
    elif t == "decision.made":
        state.inputs[d["input"]] = d["value"]
        step.status, step.ended_at, step.actor = "done", at, e.actor
        step.reason = d.get("rationale")
        step.started_at = step.started_at or at
        step.outcome = dict(d)
        return INPUTS
    elif t == "approval.requested":
        step.requested_by = e.actor
        step.started_at = step.started_at or at
    elif t == "approval.granted":
        step.approved_by = e.actor
        step.status, step.ended_at, step.actor = "done", at, e.actor
        step.reason = d.get("rationale")
    return step.id


def _acted(d: Mapping[str, Any], recorded: datetime) -> datetime:
    acted = d.get("acted_at")
    with contextlib.suppress(ValueError, TypeError):
        return _moment(acted) if isinstance(acted, str) else recorded
    return recorded


def _apply_to_run(state: RunState, step: StepState | None, e: Event, at: datetime) -> None:
    d, t = e.data, e.type
    if t == "evidence.added":
        state.evidence.append(e)
        if step:
            step.evidence.append(str(d.get("sha256") or d.get("name")))
    elif t == "note.added":
        state.notes.append(e)
    elif t.startswith("notify."):
        state.notifications.append(e)
        _page(state, e)
    elif t == "checkpoint.signed":
        state.checkpoint_seq = e.seq
    elif t == "clock.warned":
        for w in d.get("covers") or [d["warn"]]:
            state.warned.add((d["clock"], w))
    elif t == "clock.missed":
        state.missed.add(d["clock"])
    elif t == "run.paused":
        state.paused = True
    elif t == "run.resumed":
        state.paused = False
    elif t == "run.closed":
        state.closed_at = at
    elif t.startswith("drill."):
        state.drill_log.append(e)
        if t == "drill.advanced":
            state.jumps.append((_moment(e.at), float(d["seconds"])))


def _page(state: RunState, e: Event) -> None:
    """Keep each page's delivery status: a failed page must never pass for a sent one."""
    d = e.data
    if e.type == "notify.requested":
        if d.get("reason") == "witness":
            state.witness_seq = int(d.get("seq") or 0)
        state.pages[e.seq] = {"route": d.get("route"), "step": d.get("step"),
                              "status": "pending", "detail": None}  # fmt: skip
        return
    page = state.pages.get(d.get("request_seq"))  # type: ignore[arg-type]
    if page is None or d.get("event") == "resolve":
        return
    if e.type in ("notify.delivered", "notify.failed"):
        page["status"], page["detail"] = e.type.split(".")[1], d.get("detail")
    elif e.type == "notify.retried":
        page["status"], page["detail"] = "pending", None


INPUTS = "\0inputs"  # _apply's answer when the inputs changed: every condition may change


def _statuses(state: RunState, touched: Iterable[str] | None) -> None:
    """Derive pending/ready/blocked/n-a for steps without a recorded outcome.

    ``touched`` are the steps an event changed; with None (the inputs changed, or the first
    fold) every step is derived again. Conditions come first, so that a step which needs a
    later-listed one sees whether that one is n/a.
    """
    idx = state.index
    if touched is None:
        todo = list(state.steps)
        conds = {sid: _condition(state, sid) for sid in todo}
    else:
        todo = list(dict.fromkeys(d for sid in touched for d in (sid, *idx.dependents[sid])))
        conds = {}
    for sid in todo:
        s = state.steps[sid]
        if s.status not in RECORDED:
            cond = conds[sid] if sid in conds else _condition(state, sid)
            _derive(state, idx.step[sid], s, cond)
        if s.status in FINISHED:
            state.unfinished.discard(sid)
        else:
            state.unfinished.add(sid)
        if s.status in ACTIONABLE:
            state.actionable.add(sid)
        else:
            state.actionable.discard(sid)


def _condition(state: RunState, sid: str) -> bool | None:
    when = state.index.step[sid].when
    return True if not when else condition(when, state.inputs, state.playbook)


def _derive(state: RunState, step: Step, s: StepState, cond: bool | None) -> None:
    if cond is False:
        s.status, s.waiting_for = "n/a", None
        return
    unmet = [n for n in state.index.needs[step.id] if not _finished(state, n)]
    if unmet:
        s.status, s.waiting_for = "pending", "after " + ", ".join(unmet)
    elif cond is None:
        s.status, s.waiting_for = "blocked", "its condition needs inputs not given yet"
    elif step.kind == "approval" and s.requested_by:
        s.status, s.waiting_for = "waiting", f"approval by {step.by}"
    elif s.started_at is not None and step.kind in ("command", "wait", "probe"):
        s.status, s.waiting_for = "running", None
    else:
        s.status, s.waiting_for = "ready", None


def _finished(state: RunState, sid: str) -> bool:
    s = state.steps[sid]
    if s.status in RECORDED:
        return s.status != "failed"
    # derived statuses can be stale mid-pass; n/a depends on the inputs alone, so ask them
    return _condition(state, sid) is False if state.index.step[sid].when else False


def fold(events: Iterable[Event], playbook: Playbook | PlaybookOf) -> RunState:
    """Fold a run's events, in order, into its state. The first must be run.opened.

    ``playbook`` is the run's playbook, or a function that rebuilds it from run.opened's data.
    """
    it = iter(events)
    first = next(it, None)
    if first is None or first.type != "run.opened":
        raise ValueError("a run's first event must be run.opened")
    d = first.data
    pb = playbook if isinstance(playbook, Playbook) else playbook(d)
    opened = parse_at(first.at)
    state = RunState(
        run_id=first.run,
        playbook=pb,
        mode=str(d.get("mode", "live")),
        opened_at=opened,
        opened_by=first.actor,
        timezone=d.get("timezone"),
        index=Index.of(pb),
        speed=float((d.get("scenario") or {}).get("speed", 1.0)),
        drill_spec=d.get("drill") if isinstance(d.get("drill"), Mapping) else None,
        inputs=dict(d.get("inputs") or {}),
        steps={s.id: StepState(s.id) for s in pb.steps},
        actors=[first.actor],
        last_seq=first.seq,
        head=first.hash,
        last_at=opened,
        milestone_seq=first.seq,
    )
    return _advance(state, it, everything=True)


def _moment(at: str) -> datetime:
    """An event's time: the store holds canonical text, which fromisoformat reads far faster
    than strptime (folding is on every step's path); anything else goes the strict way."""
    if len(at) == 27 and at[-1] == "Z":
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(at)
    return parse_at(at)


def advance(state: RunState, events: Iterable[Event]) -> RunState:
    """Apply events that follow ``state.last_seq`` (in place) and re-derive step statuses."""
    return _advance(state, events, everything=False)


def _advance(state: RunState, events: Iterable[Event], *, everything: bool) -> RunState:
    touched: set[str] = set()
    for e in events:
        if e.seq <= state.last_seq:
            continue
        wall = _moment(e.at)
        what = _apply(state, e, state.scenario(wall) if state.shifted else wall)
        if what == INPUTS:
            everything = True
        elif what is not None:
            touched.add(what)
        if milestone(state, e):
            state.milestone_seq = e.seq
        state.last_seq, state.head, state.last_at = e.seq, e.hash, wall
    if everything or touched:
        _statuses(state, None if everything else touched)
    return state


MILESTONES = frozenset(
    {"run.opened", "decision.made", "approval.granted", "clock.missed", "run.closed"}
)


def milestone(state: RunState, e: Event) -> bool:
    """Whether ``e`` is a milestone: the record is signed and witnessed after each.

    The run's opening and closure, a decision, an approval, a missed deadline, and a step that
    stops a legal clock finishing (the report it files is what a regulator asks about).
    """
    if e.type in MILESTONES:
        return True
    if e.type in ("step.done", "step.skipped"):
        step = state.index.step.get(str(e.data.get("step", "")))
        return step is not None and bool(step.stops)
    return False
