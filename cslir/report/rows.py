"""The rows of the report's fixed sections, one function each: the playbook, its inputs, each
clock, step, decision and approval, and the summary counts (``model.build_report`` puts them
together; the per-event sections are in ``sections``).
"""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from datetime import datetime
from typing import Any

from cslir.engine.actions import SUBMISSION
from cslir.engine.clocks import ClockView
from cslir.engine.durations import parse_duration
from cslir.engine.events import Event, format_at
from cslir.engine.model import localize
from cslir.engine.state import RunState
from cslir.report import leniency
from cslir.report.sections import Describer, Row


def iso(moment: datetime | None) -> str | None:
    return format_at(moment) if moment is not None else None


def seconds(a: datetime | None, b: datetime | None) -> int | None:
    return round((b - a).total_seconds()) if a is not None and b is not None else None


def playbook_row(state: RunState, recorded_sha256: str, lang: str) -> dict[str, Any]:
    pb = state.playbook
    return {
        "id": pb.id,
        "title": localize(pb.title, lang),
        "summary": localize(pb.summary, lang) or None,
        "version": pb.version,
        "sha256": recorded_sha256,
        # False only if the snapshot was altered; the hash chain would then fail as well.
        "sha256_matches_text": recorded_sha256 == pb.sha256,
        "path": pb.path or None,
        "basis": list(pb.basis),
    }


def input_rows(state: RunState, say: Describer) -> list[Row]:
    out = []
    for name, spec in state.playbook.inputs.items():
        value = state.inputs.get(name)
        if spec.type == "datetime" and isinstance(value, str):
            with suppress(ValueError):  # one spelling for every time in the report
                value = format_at(datetime.fromisoformat(value.replace("Z", "+00:00")))
        label = None
        if spec.type == "choice" and value is not None:
            label = next(
                (localize(c.label, say.lang) for c in spec.choices if c.value == value and c.label),
                None,
            )
        out.append({"name": name, "type": spec.type, "value": value, "label": label})
    return out


def summary(clocks: list[Row], steps: list[Row]) -> dict[str, int]:
    c = Counter(x["state"] for x in clocks)
    s = Counter(x["status"] for x in steps)
    return {
        "clocks_met": c["met"],
        "clocks_missed": c["missed"] + c["overdue"],
        "clocks_open": c["running"],
        "steps_done": s["done"],
        "steps_skipped": s["skipped"],
        "steps_failed": s["failed"],
        "steps_open": sum(s.values()) - s["done"] - s["skipped"] - s["failed"] - s["n/a"],
        "steps_na": s["n/a"],
    }


def clock_row(v: ClockView, now: datetime, say: Describer) -> Row:
    if v.stopped_at is not None and v.due_at is not None:
        margin = seconds(v.stopped_at, v.due_at)
    elif v.due_at is not None and v.state in ("running", "overdue"):
        margin = seconds(now, v.due_at)
    else:
        margin = None
    return {
        "id": v.id,
        "title": say.clock_title(v.id),
        "basis": list(v.clock.basis),
        "confidence": v.clock.confidence,
        "recipient": localize(v.clock.recipient, say.lang) or None,
        "applies": v.applies,
        "state": v.state,
        "rule": v.due_text,
        "started": iso(v.started_at),
        "due": iso(v.due_at),
        "stopped": iso(v.stopped_at),
        "stopped_by": v.stopped_by,
        "margin_seconds": margin,
        "provisional": v.provisional,
    }


def step_row(
    state: RunState, step_id: str, started: bool, outcome: Event | None, say: Describer
) -> Row:
    """``started``: its start was recorded, not inferred (else the row shows none);
    ``outcome``: the event that ended it, if any."""
    step = state.playbook.step(step_id)
    s = state.steps[step_id]
    owner = step.owner or step.by
    started_at = s.started_at if started else None
    planned = parse_duration(step.estimate) if step.estimate else None
    # a working-day estimate has no fixed length in seconds: the report shows it as written
    estimate = planned.seconds if planned and not planned.is_working_days else None
    facts = {k: outcome.data[k] for k in SUBMISSION if outcome and k in outcome.data}
    return {
        "id": step_id,
        "title": say.step_title(step_id),
        "kind": step.kind,
        "owner": owner,
        "owner_title": localize(state.playbook.roles.get(owner or ""), say.lang) or None,
        "actor": s.actor,
        "status": s.status,
        "started": iso(started_at),
        "ended": iso(s.ended_at),
        "duration_seconds": seconds(started_at, s.ended_at),
        "estimate": step.estimate,
        "estimate_seconds": estimate,
        "reason": s.reason,
        "attempts": s.attempts,
        "evidence": leniency.counted(s.evidence),
        "stops": list(step.stops),
        # when the outcome was recorded; "ended" is when the act happened, if the responder
        # said (a report filed at 10:55 and recorded at 11:10)
        "recorded": outcome.at if outcome else None,
        "automated": bool(outcome and outcome.data.get("automated")),
        "submission": facts or None,
    }


def decision_row(e: Event, say: Describer) -> Row:
    d = e.data
    step = str(d.get("step", ""))
    return {
        "seq": e.seq,
        "at": e.at,
        "actor": e.actor,
        "step": step,
        "title": say.step_title(step),
        "input": d.get("input"),
        "value": d.get("value"),
        "label": say.choice_label(step, d.get("value")),
        "rationale": d.get("rationale"),
        "floor": _floor(d.get("floor"), say.lang),
        "automated": bool(d.get("automated")),
    }


def _floor(recorded: Any, lang: str) -> Row | None:
    """What a grading threshold proposed when the decision was made, in the report's language."""
    if not isinstance(recorded, dict):
        return None
    return {
        "minimum": recorded.get("minimum"),
        "indicators": [localize(i, lang) for i in recorded.get("indicators", [])],
        "below": bool(recorded.get("below")),
    }


def approval_row(step_id: str, got: dict[str, Event], say: Describer) -> Row:
    asked, granted = got.get("approval.requested"), got.get("approval.granted")
    role = granted.data.get("role") if granted else None
    if role is None and asked is not None:
        role = asked.data.get("by")
    return {
        "step": step_id,
        "title": say.step_title(step_id),
        "role": say.role_title(role),
        "requested_by": asked.actor if asked else None,
        "requested_at": asked.at if asked else None,
        "granted_by": granted.actor if granted else None,
        "granted_at": granted.at if granted else None,
        "rationale": granted.data.get("rationale") if granted else None,
        "automated": bool(granted and granted.data.get("automated")),
        # an approval entered from an answers file: who entered it in the approver's name
        "recorded_by": _name_of(granted.data.get("recorded_by")) if granted else None,
    }


def _name_of(value: Any) -> str | None:
    return value if isinstance(value, str) else None
