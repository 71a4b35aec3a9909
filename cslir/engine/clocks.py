"""Legal clocks: when each started, when it falls due, and whether it was met.

A clock whose condition names an input nobody has given yet (``when: grade != 'general'``
before grading) is shown as running "if it applies": when unsure, we count the deadline rather
than guess it away. A ``due_if`` condition that cannot be evaluated yet counts as holding, so the
tighter deadline is shown until the facts say otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cslir.engine.conditions import condition, input_values
from cslir.engine.durations import Deadline, add_duration, parse_duration
from cslir.engine.model import Clock, Playbook
from cslir.engine.state import RunState


@dataclass(frozen=True)
class ClockView:
    id: str
    clock: Clock
    state: str  # not-started | running | met | missed | overdue | waived | n/a
    applies: bool | None  # None: depends on inputs not given yet
    started_at: datetime | None
    due_at: datetime | None
    stopped_at: datetime | None
    due_text: str  # the duration that applied, e.g. "1h"
    provisional: str | None  # working-day deadline beyond the known calendar
    left: timedelta | None  # time left (negative when overdue), for running clocks
    stopped_by: str | None = None

    @property
    def open(self) -> bool:
        return self.state in ("running", "overdue")


def _start(state: RunState, clock: Clock) -> datetime | None:
    if clock.start == "start":
        return state.opened_at
    if clock.start.startswith("step:"):
        step = state.steps.get(clock.start[5:])
        return step.ended_at if step and step.status == "done" else None
    value = state.inputs.get(clock.start)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None


def discovered_at(state: RunState) -> datetime | None:
    """When the incident was discovered, as the clocks count it: the earliest time a clock
    starts from (an input such as ``detected_at``, or the run's start); None if none does."""
    starts = [
        _start(state, c) for c in state.playbook.clocks.values() if not c.start.startswith("step:")
    ]
    return min((t for t in starts if t is not None), default=None)


def _due(state: RunState, clock: Clock) -> str:
    return due_rule(clock, state.inputs, state.playbook)


def due_rule(clock: Clock, inputs: Mapping[str, Any], playbook: Playbook) -> str:
    """The tightest deadline whose condition holds (or cannot be ruled out yet)."""
    if clock.due is None:
        return clock.rule
    best = clock.due
    best_key = _sort_key(best)
    for cond, dur in clock.due_if:
        if condition(cond, inputs, playbook) is not False and _sort_key(dur) < best_key:
            best, best_key = dur, _sort_key(dur)
    return best


def _sort_key(text: str) -> float:
    d = parse_duration(text)
    # a working day is at least a calendar day; compare conservatively
    return d.amount * 86400.0 if d.is_working_days else float(d.seconds)


def _deadline(state: RunState, clock: Clock, started: datetime, due_text: str) -> Deadline | None:
    """When it falls due: its duration after the start, or the time its due_at input holds."""
    if clock.due_at is None:
        return add_duration(started, parse_duration(due_text))
    value = input_values(state.inputs, state.playbook).get(clock.due_at)
    return Deadline(value.astimezone(UTC)) if isinstance(value, datetime) else None


def _stopper(state: RunState, clock: Clock) -> tuple[str | None, datetime | None, str | None]:
    """(step, time, status) of the step whose finishing stopped the clock.

    With ``stop: all`` that is the last of its stopping steps to finish, once none is left
    (each recipient's report made); it is waived only if every one was skipped.
    """
    if clock.stop == "all":
        return _last_stopper(state, clock.id)
    best: tuple[str | None, datetime | None, str | None] = (None, None, None)
    for sid in state.index.stoppers.get(clock.id, ()):
        s = state.steps[sid]
        if (
            s.status in ("done", "skipped")
            and s.ended_at
            and (best[1] is None or s.ended_at < best[1])
        ):
            best = (sid, s.ended_at, s.status)
    return best


def _last_stopper(state: RunState, clock_id: str) -> tuple[str | None, datetime | None, str | None]:
    finished = [state.steps[sid] for sid in state.index.stoppers.get(clock_id, ())]
    finished = [s for s in finished if s.status != "n/a"]
    if not finished or any(s.status not in ("done", "skipped") or not s.ended_at for s in finished):
        return None, None, None
    last = max(finished, key=lambda s: s.ended_at or datetime.min)
    how = "skipped" if all(s.status == "skipped" for s in finished) else "done"
    return last.id, last.ended_at, how


def view(state: RunState, clock: Clock, now: datetime) -> ClockView:
    applies = condition(clock.when, state.inputs, state.playbook)
    started = _start(state, clock)
    due_text = _due(state, clock)
    empty = ClockView(clock.id, clock, "n/a", applies, None, None, None, due_text, None, None)
    if applies is False:
        return empty
    if started is None:
        return ClockView(
            clock.id, clock, "not-started", applies, None, None, None, due_text, None, None
        )
    deadline = _deadline(state, clock, started, due_text)
    if deadline is None:  # a stated deadline nobody has entered yet
        return ClockView(
            clock.id, clock, "not-started", applies, started, None, None, due_text, None, None
        )
    due = deadline.at
    step, stopped, how = _stopper(state, clock)
    if stopped is not None:
        status = "waived" if how == "skipped" else ("met" if stopped <= due else "missed")
        return ClockView(
            clock.id,
            clock,
            status,
            applies,
            started,
            due,
            stopped,
            due_text,
            deadline.provisional,
            None,
            step,
        )
    left = due - now
    status = "overdue" if left.total_seconds() < 0 else "running"
    return ClockView(
        clock.id, clock, status, applies, started, due, None, due_text, deadline.provisional, left
    )


def views(state: RunState, now: datetime) -> list[ClockView]:
    """Every clock as of wall time ``now`` (a drill's clocks count in its scenario time)."""
    return views_at(state, state.scenario(now))


def views_at(state: RunState, moment: datetime) -> list[ClockView]:
    """Every clock as of ``moment`` in the run's own time (scenario time in a drill)."""
    return [view(state, c, moment) for c in state.playbook.clocks.values()]


def due_alerts(state: RunState, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """Warnings and misses that have come due by wall time ``now`` and are not recorded yet:
    (event type, data).

    Recording each is the watcher's job; folding the result marks it, so each fires once.
    """
    out: list[tuple[str, dict[str, Any]]] = []
    if state.closed:
        return out
    now = state.scenario(now)
    for v in views_at(state, now):
        if not v.open or v.due_at is None:
            continue
        base: dict[str, Any] = {"clock": v.id, "due": v.due_at.isoformat().replace("+00:00", "Z")}
        if v.provisional:
            base["provisional"] = v.provisional  # recorded wherever the deadline is
        if v.applies is None:
            base["conditional"] = True  # its condition waits on an input; counted anyway
        if v.state == "overdue":
            if v.id not in state.missed:
                out.append(("clock.missed", base))
            continue  # past due: no more warnings
        passed = [
            w
            for w in v.clock.warn
            if not w.endswith("wd")
            and now >= v.due_at - timedelta(seconds=parse_duration(w).seconds)
            and (v.id, w) not in state.warned
        ]
        if passed:
            # one warning (the tightest threshold passed) covers every threshold passed so far
            tightest = min(passed, key=lambda w: parse_duration(w).seconds)
            out.append(("clock.warned", {**base, "warn": tightest, "covers": passed}))
    return out
