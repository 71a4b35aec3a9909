"""What ``cslir plan`` prints: each clock's verdict, deadline, earliest finish and path.

Times are shown in the ops repo's zone; ``plan_json`` gives the same in UTC for machines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cslir.base.timefmt import local_text
from cslir.engine.durations import format_span
from cslir.engine.events import format_at
from cslir.engine.model import localize
from cslir.engine.plan import ClockPlan

WORDS = {
    "feasible": "feasible",
    "tight": "TIGHT",
    "infeasible": "INFEASIBLE",
    "met": "met",
    "missed": "missed",
    "waived": "waived",
    "n/a": "does not apply",
    "unknown": "cannot be judged",
}


def plan_lines(plans: list[ClockPlan], tz: str | None, lang: str | None) -> list[str]:
    out: list[str] = []
    for p in plans:
        title = localize(p.clock.title, lang) or p.id
        out.append(f"{p.id}: {WORDS[p.verdict]}{_spare(p)} — {title}")
        if p.reason:
            out.append(f"  why          {p.reason}")
        if p.scenario and p.verdict in ("feasible", "tight", "infeasible", "unknown"):
            assumed = ", ".join(f"{k}={_value(v)}" for k, v in p.scenario.items())
            out.append(f"  worst case   {assumed}")
        if p.deadline is not None:
            prov = f" [provisional: {p.provisional}]" if p.provisional else ""
            basis = "; ".join(p.clock.basis)
            conf = f", {p.clock.confidence} confidence" if p.clock.confidence else ""
            out.append(f"  deadline     {local_text(p.deadline, tz)} ({_rule(p)}){prov}")
            out.append(f"  basis        {basis}{conf}")
        if p.finish is not None:
            verb = "finished" if p.verdict in ("met", "missed", "waived") else "earliest"
            out.append(f"  {verb:12} {local_text(p.finish, tz)}, when {p.stopped_by} finishes")
        if p.path:
            out.append("  path         " + " → ".join(f"{s} {_span(e)}" for s, e in p.path))
        if p.unestimated:
            out.append(f"  no estimate  {', '.join(p.unestimated)} (counted as taking no time)")
    return out


def plan_json(plans: list[ClockPlan]) -> list[dict[str, Any]]:
    return [
        {
            "clock": p.id,
            "verdict": p.verdict,
            "reason": p.reason or None,
            "scenario": dict(p.scenario),
            "rule": p.rule,
            "basis": list(p.clock.basis),
            "confidence": p.clock.confidence,
            "started": _at(p.started),
            "deadline": _at(p.deadline),
            "provisional": p.provisional,
            "earliest_finish": _at(p.finish),
            "stopped_by": p.stopped_by,
            "slack_seconds": round(p.slack.total_seconds()) if p.slack is not None else None,
            "path": [{"step": s, "estimate": e} for s, e in p.path],
            "unestimated": list(p.unestimated),
        }
        for p in plans
    ]


def _spare(p: ClockPlan) -> str:
    if p.slack is None or p.verdict in ("met", "missed", "waived"):
        return ""
    seconds = p.slack.total_seconds()
    if seconds < 0:
        return f" — {format_span(-seconds)} late"
    return f" — {format_span(seconds)} to spare"


def _rule(p: ClockPlan) -> str:
    if p.clock.due_at:
        return f"the time input {p.clock.due_at} states"
    start = p.clock.start
    after = f"{start[5:]} finishes" if start.startswith("step:") else start
    return f"{p.rule} after {after}"


def _span(estimate: str | None) -> str:
    return estimate or "(?)"


def _value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _at(moment: datetime | None) -> str | None:
    return format_at(moment) if moment is not None else None
