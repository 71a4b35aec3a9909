"""Holding a drill: the run opened in drill mode with the scenario, the participants called,
and the facilitator's jumps in scenario time.

Used by ``cslir drill run`` (a responder at a terminal, or unattended) and by the scheduler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cslir.base.errors import ActionRefused, InvalidInput
from cslir.base.timefmt import zone
from cslir.drills.live import call_events, drill_of, watchers_for
from cslir.drills.model import Drill
from cslir.engine import actions
from cslir.engine.durations import DurationError, format_span, parse_duration
from cslir.engine.events import Event
from cslir.engine.model import Playbook
from cslir.engine.state import RunState
from cslir.runs.answers import collect_inputs, decision_inputs
from cslir.runs.effects import RunSession
from cslir.runs.session import RunCore, open_run
from cslir.store.base import EventStore


def open_drill(
    store: EventStore,
    drill: Drill,
    playbook: Playbook,
    *,
    actor: str,
    now: datetime,
    timezone: str | None,
    lang: str | None = None,
    given: Mapping[str, Any] | None = None,
    speed: float = 1.0,
    run_id: str | None = None,
    slot: str | None = None,
    driven_by: str | None = None,
) -> str:
    """Open the drill's run with its scenario inputs (``given`` on top); return the run id.

    ``run_id`` makes opening idempotent (the scheduler derives it from the slot): opening a
    run that exists already is refused by the store. ``driven_by: scheduler`` marks a run the
    scheduler works to its end by itself.
    """
    if speed <= 0:
        raise ActionRefused(f"--speed {speed:g}: scenario time must run forward (speed > 0)")
    merged = {**drill.inputs, **(given or {})}
    decided = decision_inputs(playbook)
    lacking = [
        name for name, spec in playbook.inputs.items()
        if spec.required and spec.default is None and name not in merged and name not in decided
    ]  # fmt: skip
    if lacking:
        raise InvalidInput(
            f"{drill.path or drill.id}: the scenario does not give input(s) "
            f"{', '.join(lacking)} that the playbook needs: add them under inputs:"
        )
    inputs = collect_inputs(playbook, merged, None, now=now, tz=zone(timezone))
    snapshot = drill.snapshot(lang=lang, slot=slot, driven_by=driven_by)
    extra: dict[str, Any] = {"drill": snapshot}
    if speed != 1.0:
        extra["scenario"] = {"speed": speed}
    return open_run(
        store, playbook, inputs, actor=actor, mode="drill", timezone=timezone, now=now,
        extra=extra, run_id=run_id, drill=drill.id,
    )  # fmt: skip


def call_participants(session: RunCore) -> list[Event]:
    """Page the participants with the join command (once per run, whoever calls it)."""

    def build(st: RunState) -> actions.Events:
        drill = drill_of(st)
        if drill is None:
            return []
        return call_events(st, drill, (st.drill_spec or {}).get("lang"))

    return session.record(build)


def attach(session: RunSession) -> RunSession:
    """Give a session of a drill run the drill's watchers (injects, scoring)."""
    if not session.watchers:
        session.watchers = watchers_for(session.state())
    return session


def advance(session: RunCore, duration: str, reason: str | None) -> list[Event]:
    """Record a facilitator's jump in scenario time ("it is now four hours later")."""
    try:
        span = parse_duration(duration)
    except DurationError as e:
        raise ActionRefused(f"'{duration}': {e}") from None
    if span.is_working_days:
        raise ActionRefused(f"'{duration}': advance scenario time in m, h or d, not working days")

    def build(st: RunState) -> actions.Events:
        if not st.drill:
            raise ActionRefused(f"run {st.run_id} is not a drill: its time cannot be advanced")
        if st.closed:
            raise ActionRefused(f"drill run {st.run_id} is closed")
        data: dict[str, Any] = {"by": str(span), "seconds": span.seconds}
        if reason:
            data["reason"] = reason
        return [("drill.advanced", data)]

    return session.record(build)


def scenario_line(state: RunState, now: datetime, local: Callable[[datetime], str]) -> str:
    """``scenario +4h 12m (2026-03-03 14:12 CST), wall +12m`` for screens and logs."""
    scenario = state.scenario(now)
    into = format_span((scenario - state.opened_at).total_seconds())
    wall = format_span((now - state.opened_at).total_seconds())
    return f"scenario time +{into} ({local(scenario)}); wall clock +{wall}"
