"""The HSEEP after-action report's drill part: exercise overview, objectives with their ratings
and evidence, injects (the MSEL as played), strengths and areas for improvement, scenario time
beside wall time, and the comparison with the drill's previous runs.

``drill_section`` returns plain JSON values that ``cslir report`` adds to the run's report under
``drill``; the report's templates render it. Nothing here reads a clock or writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cslir.drills.live import drill_of
from cslir.drills.model import Drill
from cslir.drills.scoring import RATINGS, ratings
from cslir.engine.events import Event, format_at, parse_at
from cslir.engine.model import localize
from cslir.engine.state import RunState
from cslir.store.base import EventStore, RunRow

FINISHING = ("step.done", "step.skipped", "step.failed", "decision.made", "approval.granted")
HISTORY_MAX = 12  # runs compared, the newest last
CHART_W, CHART_H, CHART_TOP, CHART_LEFT, CHART_BOTTOM = 960, 240, 16, 56, 196


def _iso(moment: datetime | None) -> str | None:
    return format_at(moment) if moment is not None else None


def drill_section(
    state: RunState, events: Iterable[Event], history: list[dict[str, Any]], lang: str
) -> dict[str, Any] | None:
    """The drill part of the report of a drill run (None for any other run)."""
    drill = drill_of(state)
    if drill is None:
        return None
    notes, walls = [], {}
    for e in events:
        if e.type == "note.added" and e.data.get("tag"):
            notes.append(e)
        elif e.type in FINISHING and isinstance(e.data.get("step"), str):
            walls[e.data["step"]] = e.at
        elif e.type == "run.closed":
            walls["\0closed"] = e.at
    rows = ratings(state, drill)
    return {
        "id": drill.id,
        "title": drill.name(lang),
        "path": drill.path or None,
        "sha256": drill.sha256 or None,
        "participants": list(drill.participants),
        "scenario": _scenario(state, walls),
        "objectives": [_objective(drill, row, lang) for row in rows],
        "injects": _injects(state, drill, lang),
        "strengths": [_note(e) for e in notes if e.data["tag"] == "strength"],
        "areas_for_improvement": [_note(e) for e in notes if e.data["tag"] == "improve"],
        "history": history,
        "chart": history_chart(history, [o.id for o in drill.objectives]),
    }


def _scenario(state: RunState, walls: dict[str, str]) -> dict[str, Any]:
    closed = walls.get("\0closed")
    end_wall = parse_at(closed) if closed else state.last_at or state.opened_at
    end = state.closed_at or state.scenario(end_wall)
    return {
        "speed": state.speed,
        "advances": [_advance(state, e) for e in state.drill_log if e.type == "drill.advanced"],
        "scenario_seconds": round((end - state.opened_at).total_seconds()),
        "wall_seconds": round((end_wall - state.opened_at).total_seconds()),
        "steps": [
            {
                "id": sid,
                "status": s.status,
                "scenario_at": _iso(s.ended_at),
                "wall_at": walls[sid],
                "seconds_in": round((s.ended_at - state.opened_at).total_seconds()),
            }
            for sid, s in state.steps.items()
            if s.ended_at is not None and sid in walls
        ],
    }


def _advance(state: RunState, e: Event) -> dict[str, Any]:
    return {
        "at": e.at,
        "actor": e.actor,
        "by": e.data.get("by"),
        "reason": e.data.get("reason"),
        "scenario_at": _iso(state.scenario(parse_at(e.at))),
    }


def _objective(drill: Drill, row: dict[str, Any], lang: str) -> dict[str, Any]:
    obj = next(o for o in drill.objectives if o.id == row["objective"])
    return {
        "id": obj.id,
        "text": localize(obj.text, lang),
        "core_capability": obj.core_capability,
        "step": obj.step,
        "clock": obj.clock,
        "within": obj.within,
        "measured_seconds": row.get("measured_seconds"),
        "rating": row["rating"],
        "rating_words": RATINGS[row["rating"]],
        "provisional": row["provisional"],
        "evidence": row.get("why") or None,
        "rated_by": row.get("rated_by"),
        "rated_reason": row.get("rated_reason"),
    }


def _injects(state: RunState, drill: Drill, lang: str) -> list[dict[str, Any]]:
    fired = {int(e.data["inject"]): e for e in state.drill_log if e.type == "drill.inject"}
    out = []
    for inject in drill.injects:
        e = fired.get(inject.number)
        out.append(
            {
                "number": inject.number,
                "when": inject.when(),
                "message": localize(inject.message, lang),
                "set": dict(inject.set),
                "fired_at": e.at if e else None,
                "scenario_at": e.data.get("scenario_at") if e else None,
            }
        )
    return out


def _note(e: Event) -> dict[str, Any]:
    return {"at": e.at, "actor": e.actor, "text": e.data.get("text"), "step": e.data.get("step")}


# -- the drill's previous runs -------------------------------------------------------------------


def history(store: EventStore, drill_id: str, upto: str) -> list[dict[str, Any]]:
    """This drill's runs up to ``upto`` (that run included), oldest first, with the objective
    ratings and measured values each recorded."""
    every = store.runs()
    until = next((r.created_at for r in every if r.id == upto), "")
    runs = [r for r in every if r.drill == drill_id and r.created_at <= until][-HISTORY_MAX:]
    wanted = {r.id for r in runs}
    scored: dict[str, dict[str, Any]] = {}
    for e in store.events_of_types(("drill.scored", "drill.rated")):
        if e.run not in wanted:
            continue
        entry = scored.setdefault(e.run, {})
        if e.type == "drill.scored":
            for o in e.data.get("objectives") or []:
                entry[o["objective"]] = {"rating": o["rating"], "seconds": o["measured_seconds"]}
        else:
            entry.setdefault(str(e.data["objective"]), {"seconds": None})["rating"] = e.data[
                "rating"
            ]
    return [_history_row(r, scored.get(r.id, {}), r.id == upto) for r in runs]


def _history_row(run: RunRow, scored: dict[str, Any], this: bool) -> dict[str, Any]:
    return {
        "run": run.id,
        "started": run.created_at,
        "this": this,
        "ratings": {k: v.get("rating") for k, v in scored.items()},
        "measured": {k: v.get("seconds") for k, v in scored.items()},
    }


def history_chart(rows: list[dict[str, Any]], objectives: list[str]) -> dict[str, Any]:
    """Bar geometry: per run (oldest left), one bar per objective with a measured time, its
    height the time it took, its class the rating it got. The template draws it as SVG."""
    values = [v for r in rows for v in r["measured"].values() if isinstance(v, int | float)]
    top = max(values, default=0) or 1
    per_run = max(len(objectives), 1)
    slot = (CHART_W - CHART_LEFT - 8) / max(len(rows), 1)
    bar_w = max(min(slot / (per_run + 1), 40.0), 4.0)
    bars, labels = [], []
    for i, row in enumerate(rows):
        x0 = CHART_LEFT + i * slot + (slot - bar_w * per_run) / 2
        labels.append({"x": round(CHART_LEFT + (i + 0.5) * slot, 1), "at": row["started"],
                       "this": row["this"]})  # fmt: skip
        for j, objective in enumerate(objectives):
            seconds = row["measured"].get(objective)
            if not isinstance(seconds, int | float):
                continue
            h = (CHART_BOTTOM - CHART_TOP) * seconds / top
            bars.append({
                "x": round(x0 + j * bar_w, 1), "y": round(CHART_BOTTOM - h, 1),
                "w": round(bar_w - 2, 1), "h": round(h, 1), "series": j % 6,
                "rating": row["ratings"].get(objective) or "U", "objective": objective,
                "seconds": seconds, "run": row["run"],
            })  # fmt: skip
    return {
        "width": CHART_W, "height": CHART_H, "left": CHART_LEFT, "top": CHART_TOP,
        "bottom": CHART_BOTTOM, "max_seconds": top, "bars": bars, "labels": labels,
        "series": [{"objective": o, "n": j % 6} for j, o in enumerate(objectives)],
    }  # fmt: skip
