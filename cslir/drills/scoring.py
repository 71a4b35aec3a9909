"""Objectives scored from the record: a measured value in scenario time and an HSEEP rating.

The provisional rating is the record's verdict; an evaluator may override it with a reason
(``drill.rated``). Both are kept, and the latest override is the rating that counts.

HSEEP ratings (AAR/IP template HSEEP-IP01, peers.md §15): P performed without challenges,
S performed with some challenges, M performed with major challenges, U unable to be performed.
cslir's provisional reading of the record:

- a step objective: P when the step was done within ``within:`` (or done at all, without one)
  and never failed; S when done in time after a recorded failure; M when done late; U when it
  was never done (skipped, failed, not applicable, or the run closed without it);
- a clock objective: P met; S waived (its stopping step skipped with a reason); M missed
  (stopped late); U still open or overdue at the close, or it never applied in the scenario.

An objective naming both a step and a clock gets the worse of the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cslir.drills.model import Drill, Objective
from cslir.engine import actions
from cslir.engine.clocks import ClockView, views_at
from cslir.engine.durations import format_span, parse_duration
from cslir.engine.state import RunState

RATINGS = {
    "P": "performed without challenges",
    "S": "performed with some challenges",
    "M": "performed with major challenges",
    "U": "unable to be performed",
}
ORDER = "PSMU"


def worse(a: str, b: str) -> str:
    return max(a, b, key=ORDER.index)


def _step_rating(state: RunState, obj: Objective) -> tuple[str, int | None, str]:
    s = state.steps[obj.step or ""]
    if s.status != "done" or s.ended_at is None:
        why = s.reason or s.waiting_for or "not reached"
        return "U", None, f"step {obj.step} was not done ({s.status}: {why})"
    measured = round((s.ended_at - state.opened_at).total_seconds())
    took = f"step {obj.step} done {format_span(measured)} into the scenario"
    if obj.within is not None:
        limit = parse_duration(obj.within).seconds
        if measured > limit:
            return "M", measured, f"{took}, later than {obj.within}"
        took += f", within {obj.within}"
    if s.failures:
        return "S", measured, f"{took}, after {s.failures} failed attempt(s)"
    return "P", measured, took


def _clock_rating(v: ClockView) -> tuple[str, str]:
    if v.state == "met":
        return "P", f"clock {v.id} met"
    if v.state == "waived":
        return "S", f"clock {v.id} waived (its stopping step {v.stopped_by} was skipped)"
    if v.state == "missed":
        return "M", f"clock {v.id} missed (stopped after its {v.due_text} deadline)"
    if v.state == "n/a":
        return "U", f"clock {v.id} never applied in this scenario"
    return "U", f"clock {v.id} was {v.state} at the close"


def score(state: RunState, drill: Drill, at: datetime | None = None) -> list[dict[str, Any]]:
    """Each objective's measured value and provisional rating, as of scenario time ``at``
    (default: the close, else the last event)."""
    moment = at or state.closed_at or state.scenario(state.last_at or state.opened_at)
    clocks = {v.id: v for v in views_at(state, moment)}
    out = []
    for obj in drill.objectives:
        rating, measured, why = "P", None, []
        if obj.step is not None and obj.step in state.steps:
            rating, measured, text = _step_rating(state, obj)
            why.append(text)
        view = clocks.get(obj.clock or "")
        if view is not None:
            clock_rating, text = _clock_rating(view)
            rating = worse(rating, clock_rating)
            why.append(text)
        out.append(
            {
                "objective": obj.id,
                "rating": rating,
                "measured_seconds": measured,
                "clock_state": view.state if view is not None else None,
                "why": "; ".join(why),
            }
        )
    return out


def score_events(state: RunState, drill: Drill) -> actions.Events:
    """``drill.scored`` once the run has closed, once."""
    if not state.closed or not drill.objectives:
        return []
    if any(e.type == "drill.scored" for e in state.drill_log):
        return []
    scenario = (state.closed_at or state.opened_at) - state.opened_at
    wall = (state.last_at or state.opened_at) - state.opened_at
    data = {
        "objectives": score(state, drill),
        "scenario_seconds": round(scenario.total_seconds()),
        "wall_seconds": round(wall.total_seconds()),
    }
    return [("drill.scored", data)]


def rate(state: RunState, drill: Drill, objective: str, rating: str, reason: str) -> actions.Events:
    """An evaluator's rating of one objective, overriding the provisional one."""
    from cslir.base.errors import ActionRefused
    from cslir.opsrepo.diagnostics import did_you_mean

    ids = [o.id for o in drill.objectives]
    if objective not in ids:
        known = ", ".join(ids) or "none"
        raise ActionRefused(
            f"the drill has no objective '{objective}'{did_you_mean(objective, ids)}"
            f" (objectives: {known})"
        )
    rating = rating.strip().upper()
    if rating not in RATINGS:
        raise ActionRefused(f"'{rating}' is not an HSEEP rating: P, S, M or U")
    if not reason.strip():
        raise ActionRefused("an evaluator's rating needs a reason: it goes into the record")
    return [("drill.rated", {"objective": objective, "rating": rating, "reason": reason.strip()})]


def ratings(state: RunState, drill: Drill) -> list[dict[str, Any]]:
    """Each objective's rating as it stands: provisional (recorded at the close, else as of
    now), and the latest evaluator override, if any."""
    recorded = next((e.data for e in reversed(state.drill_log) if e.type == "drill.scored"), None)
    scored = {s["objective"]: dict(s) for s in (recorded or {}).get("objectives") or []}
    if recorded is None:
        scored = {s["objective"]: s for s in score(state, drill)}
    out = []
    for obj in drill.objectives:
        row = dict(scored.get(obj.id) or {"objective": obj.id, "rating": "U", "why": ""})
        row["provisional"] = row["rating"]
        row["final"] = recorded is not None
        for e in state.drill_log:
            if e.type == "drill.rated" and e.data.get("objective") == obj.id:
                row.update(rating=e.data["rating"], rated_by=e.actor, rated_reason=e.data["reason"])
        out.append(row)
    return out
