"""Can the steps that stop each clock finish in time? The critical path from estimates.

Each step's earliest finish is the latest earliest finish of the steps it needs (a step needs
the one before it unless ``needs:`` says otherwise) plus its estimate; a step without one counts
as taking no time and is named, because the verdict is only as good as the estimates. A clock's
earliest finish is that of its stopping step (the first to finish, or the last with
``stop: all``); against its deadline this gives the slack and the verdict:

- ``infeasible``: the path cannot finish before the deadline;
- ``tight``: it can, with less than a fifth of the clock's time to spare;
- ``feasible``: it can, with more.

Inputs nobody gave are not guessed: every combination of the choice and yes/no inputs that the
conditions read is tried (up to ``MAX_SCENARIOS``), and each clock is judged by its worst one,
which is named. On a live run the plan starts from what has finished, at the times it did, and
projects the rest from ``now``. Pure: the time is a parameter.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cslir.engine.clocks import due_rule, view
from cslir.engine.durations import Deadline, add_duration, parse_duration
from cslir.engine.model import Clock, Playbook, Step
from cslir.engine.state import Index, RunState, condition, input_values
from cslir.engine.templating import TemplateProblem, names_in

MAX_SCENARIOS = 256
TIGHT = 0.2  # less than this share of the clock's time to spare is tight
INSTANT = ("notify",)  # cslir does these at once: they need no estimate


@dataclass(frozen=True)
class ClockPlan:
    """One clock's verdict in its worst scenario."""

    id: str
    clock: Clock
    verdict: str  # feasible | tight | infeasible | met | missed | waived | n/a | unknown
    scenario: Mapping[str, Any] = field(default_factory=dict)  # the inputs assumed
    started: datetime | None = None
    deadline: datetime | None = None
    rule: str = ""
    provisional: str | None = None
    finish: datetime | None = None
    stopped_by: str | None = None
    path: tuple[tuple[str, str | None], ...] = ()  # (step, its estimate) up to the stopper
    unestimated: tuple[str, ...] = ()
    reason: str = ""  # why the verdict is n/a or unknown

    @property
    def slack(self) -> timedelta | None:
        if self.deadline is None or self.finish is None:
            return None
        return self.deadline - self.finish


@dataclass
class _Schedule:
    """Earliest finishes of every step in one scenario."""

    finish: dict[str, datetime]
    before: dict[str, str | None]  # the need that finishes last (the path runs through it)
    applies: dict[str, bool]
    estimate: dict[str, str | None]
    done: set[str] = field(default_factory=set)  # finished in the run: no longer on a path


def plan(
    playbook: Playbook,
    inputs: Mapping[str, Any],
    *,
    opened: datetime,
    now: datetime | None = None,
    state: RunState | None = None,
) -> list[ClockPlan]:
    """The verdict of every clock; with ``state``, projected from ``now`` on that run."""
    index = state.index if state is not None else Index.of(playbook)
    order = _topological(playbook, index)
    given = dict(state.inputs if state is not None else inputs)
    out = []
    scenarios = list(_scenarios(playbook, given))
    schedules = [_schedule(playbook, index, order, s, opened, now, state) for s in scenarios]
    for clock in playbook.clocks.values():
        settled = _settled(state, clock, now or opened) if state is not None else None
        if settled is not None:
            out.append(settled)
            continue
        pairs = zip(scenarios, schedules, strict=True)
        judged = [_judge(playbook, index, clock, s, sc, opened) for s, sc in pairs]
        out.append(_worst(clock, judged))
    return out


def _settled(state: RunState, clock: Clock, now: datetime) -> ClockPlan | None:
    """A clock the run has already stopped: its verdict is what happened."""
    v = view(state, clock, now)
    if v.state not in ("met", "missed", "waived"):
        return None
    return ClockPlan(clock.id, clock, v.state, started=v.started_at, deadline=v.due_at,
                     finish=v.stopped_at, stopped_by=v.stopped_by, rule=v.due_text)  # fmt: skip


def _worst(clock: Clock, judged: list[ClockPlan]) -> ClockPlan:
    rank = {"infeasible": 0, "tight": 1, "feasible": 2, "unknown": 3, "n/a": 4}
    live = [j for j in judged if j.verdict != "n/a"]
    if not live:
        return judged[0]

    def key(j: ClockPlan) -> tuple[int, float]:
        slack = j.slack.total_seconds() if j.slack is not None else float("inf")
        return rank[j.verdict], slack

    return min(live, key=key)


def _scenarios(playbook: Playbook, given: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every combination of the choice and yes/no inputs that conditions read and nobody gave."""
    read: set[str] = set()
    expressions = [s.when for s in playbook.steps if s.when]
    for c in playbook.clocks.values():
        expressions += [c.when or "", *(cond for cond, _ in c.due_if)]
    for expr in set(filter(None, expressions)):
        read |= _names(expr)
    open_inputs = [
        i for name, i in playbook.inputs.items()
        if name in read and name not in given and i.type in ("choice", "bool")
    ]  # fmt: skip
    values = [[c.value for c in i.choices] if i.type == "choice" else [True, False]
              for i in open_inputs]  # fmt: skip
    combos = itertools.islice(itertools.product(*values), MAX_SCENARIOS)
    for combo in combos:
        yield {**given, **{i.name: v for i, v in zip(open_inputs, combo, strict=True)}}


def _reads(expressions: tuple[str | None, ...]) -> set[str]:
    """The input names these conditions read (what a scenario needs to say of a clock)."""
    out: set[str] = set()
    for expr in expressions:
        out |= _names(expr) if expr else set()
    return out


@functools.lru_cache(maxsize=1024)
def _names(expr: str) -> frozenset[str]:
    try:
        return frozenset(names_in(expr, expression=True))
    except TemplateProblem:
        return frozenset()


def _topological(playbook: Playbook, index: Index) -> list[str]:
    """Steps in an order where each comes after what it needs (Kahn's algorithm)."""
    waiting = {s.id: len(index.needs[s.id]) for s in playbook.steps}
    ready = [s.id for s in playbook.steps if not waiting[s.id]]
    order: list[str] = []
    while ready:
        sid = ready.pop()
        order.append(sid)
        for d in index.dependents.get(sid, ()):
            waiting[d] -= 1
            if not waiting[d]:
                ready.append(d)
    return order


def _schedule(
    playbook: Playbook,
    index: Index,
    order: list[str],
    scenario: Mapping[str, Any],
    opened: datetime,
    now: datetime | None,
    state: RunState | None,
) -> _Schedule:
    conditions: dict[str, bool | None] = {}
    sched = _Schedule({}, {}, {}, {})
    for sid in order:
        step = index.step[sid]
        if step.when and step.when not in conditions:
            conditions[step.when] = condition(step.when, scenario, playbook)
        applies = conditions.get(step.when or "", True) is not False
        sched.applies[sid] = applies
        sched.estimate[sid] = _estimate(step)
        got = state.steps.get(sid) if state is not None else None
        if got is not None and got.finished:
            sched.finish[sid] = got.ended_at or opened
            sched.before[sid] = None
            sched.done.add(sid)
            continue
        needs = index.needs[sid]
        last = max(needs, key=lambda n: sched.finish[n], default=None)
        ready = sched.finish[last] if last is not None else opened
        if now is not None:
            ready = max(ready, now)
        sched.before[sid] = last
        if not applies:
            sched.finish[sid] = opened  # a step that does not apply lets the next go at once
            continue
        started = got.started_at if got is not None else None
        sched.finish[sid] = _after(started or ready, step, now)
    return sched


def _estimate(step: Step) -> str | None:
    """How long a step takes as written (``30m``, ``2wd``); None when nobody said."""
    if step.estimate:
        return step.estimate
    if step.kind == "wait":
        return step.duration
    if step.kind == "probe":
        return step.within or "5m"
    return "0s" if step.kind in INSTANT else None


def _after(start: datetime, step: Step, now: datetime | None) -> datetime:
    text = _estimate(step)
    end = add_duration(start, parse_duration(text)).at if text and text != "0s" else start
    return max(end, now) if now is not None else end


def _judge(
    playbook: Playbook,
    index: Index,
    clock: Clock,
    scenario: Mapping[str, Any],
    sched: _Schedule,
    opened: datetime,
) -> ClockPlan:
    reads = _reads((clock.when, *(c for c, _ in clock.due_if),
                    *(index.step[s].when for s in index.stoppers.get(clock.id, ()))))  # fmt: skip
    shown = {k: v for k, v in scenario.items() if k in reads}
    rule = due_rule(clock, scenario, playbook)
    base = ClockPlan(clock.id, clock, "n/a", scenario=shown, rule=rule)
    if condition(clock.when, scenario, playbook) is False:
        return _with(base, reason=f"its condition ({clock.when}) does not hold")
    started = _clock_start(clock, scenario, sched, opened, playbook)
    if started is None:
        return _with(base, reason=f"it starts when {clock.start[5:]} finishes, which does not "
                     "apply")  # fmt: skip
    deadline = _deadline(clock, base.rule, started, scenario, playbook)
    stoppers = [sid for sid in index.stoppers.get(clock.id, ()) if sched.applies[sid]]
    if not stoppers:
        return _with(base, verdict="infeasible", started=started,
                     deadline=deadline.at if deadline else None,
                     reason="no step that applies stops it")  # fmt: skip
    pick = max if clock.stop == "all" else min
    stopper = pick(stoppers, key=lambda s: sched.finish[s])
    path = _path(stopper, sched)
    if clock.start.startswith("step:") and clock.start[5:] in path:  # the path after the start
        path = path[path.index(clock.start[5:]) + 1 :]
    plan = _with(base, started=started, finish=sched.finish[stopper], stopped_by=stopper,
                 path=tuple((s, sched.estimate[s]) for s in path),
                 unestimated=tuple(s for s in path if sched.estimate[s] is None))  # fmt: skip
    if deadline is None:
        return _with(plan, verdict="unknown", reason=f"its deadline is input {clock.due_at}, "
                     "which is not given")  # fmt: skip
    plan = _with(plan, deadline=deadline.at, provisional=deadline.provisional)
    return _with(plan, verdict=_verdict(started, deadline.at, sched.finish[stopper]))


def _clock_start(
    clock: Clock,
    scenario: Mapping[str, Any],
    sched: _Schedule,
    opened: datetime,
    playbook: Playbook,
) -> datetime | None:
    if clock.start == "start":
        return opened
    if clock.start.startswith("step:"):
        sid = clock.start[5:]
        return sched.finish[sid] if sched.applies.get(sid) else None
    value = input_values(scenario, playbook).get(clock.start)
    return value if isinstance(value, datetime) else opened  # not given: as if it were now


def _deadline(
    clock: Clock, rule: str, started: datetime, scenario: Mapping[str, Any], playbook: Playbook
) -> Deadline | None:
    if clock.due_at is None:
        return add_duration(started, parse_duration(rule))
    value = input_values(scenario, playbook).get(clock.due_at)
    return Deadline(value) if isinstance(value, datetime) else None


def _path(stopper: str, sched: _Schedule) -> list[str]:
    path: list[str] = []
    at: str | None = stopper
    while at is not None:
        if sched.applies.get(at, True) and at not in sched.done:
            path.append(at)
        at = sched.before.get(at)
    return path[::-1]


def _verdict(started: datetime, deadline: datetime, finish: datetime) -> str:
    slack = (deadline - finish).total_seconds()
    if slack < 0:
        return "infeasible"
    span = (deadline - started).total_seconds()
    return "tight" if span > 0 and slack < TIGHT * span else "feasible"


def _with(plan: ClockPlan, **changes: Any) -> ClockPlan:
    from dataclasses import replace

    return replace(plan, **changes)
