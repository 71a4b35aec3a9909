"""The report's log of dealings with regulators, and its flags on grading decisions.

Dealings come from ``regulator.dealing`` events (``cslir regulator``) and from the steps that
reported to or cooperated with an authority (``purpose: report`` or ``cooperation``, done), in
time order. A grading decision below the minimum its thresholds proposed is flagged, with the
indicators met and the rationale given; so is one that the facts recorded later (a new count of
records affected) would put below the minimum, because the grade may then need revisiting and a
supplementary report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cslir.engine.events import Event, format_at
from cslir.engine.floors import propose
from cslir.engine.model import localize
from cslir.engine.state import RunState
from cslir.report.sections import Describer

Row = dict[str, Any]


def dealing_row(e: Event) -> Row:
    d = e.data
    return {
        "at": e.at,
        "actor": e.actor,
        "kind": str(d.get("kind")),
        "direction": str(d.get("direction")),
        "authority": str(d.get("authority", "")),
        "summary": str(d.get("summary", "")),
        "due": _canonical(d.get("due")),
        "ref": d.get("ref"),
        "step": d.get("step"),
        "source": "logged",
    }


def dealings(state: RunState, logged: list[Row], steps: list[Row]) -> list[Row]:
    """Logged dealings and the report and cooperation steps done, in time order."""
    purpose = {s.id: s.purpose for s in state.playbook.steps}
    done = [
        {
            "at": r["ended"],
            "actor": r["actor"],
            "kind": "report" if purpose[r["id"]] == "report" else "answer",
            "direction": "out",
            "authority": (r["submission"] or {}).get("recipient", ""),  # as the responder gave it
            "summary": r["title"],
            "due": None,
            "ref": (r["submission"] or {}).get("reference"),
            "step": r["id"],
            "source": "step",
        }
        for r in steps
        if purpose.get(r["id"]) in ("report", "cooperation") and r["status"] == "done"
    ]
    return sorted([*logged, *done], key=lambda r: r["at"] or "")


def flags(state: RunState, decisions: list[Event], say: Describer) -> list[Row]:
    """Grading decisions below the minimum the thresholds proposed, then or now."""
    out = []
    for e in decisions:
        d = e.data
        step = state.index.step.get(str(d.get("step")))
        if step is None or not step.floor:
            continue
        then = d.get("floor") or {}
        choices = [c.value for c in state.playbook.choices_of(step)]
        now = propose(state.playbook, step, state.inputs)
        later = now is not None and now.below(choices, str(d.get("value")))
        if not then.get("below") and not later:
            continue
        proposal = now if later and now is not None else None
        met = proposal.met if proposal else ()
        out.append({
            "step": step.id,
            "title": say.step_title(step.id),
            "value": d.get("value"),
            "minimum": proposal.minimum if proposal else then.get("minimum"),
            "indicators": [localize(f.indicator, say.lang) for f in met]
            or [_text(i, say.lang) for i in then.get("indicators", [])],
            "rationale": d.get("rationale"),
            "when": "since" if later and not then.get("below") else "at",
            "at": e.at,
        })  # fmt: skip
    return out


def _text(value: Any, lang: str) -> str:
    return localize(value, lang) if isinstance(value, str | dict) else str(value)


def _canonical(value: Any) -> str | None:
    """A recorded time in the report's one spelling (``...T10:00:00.000000Z``)."""
    if not isinstance(value, str):
        return None
    try:
        return format_at(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return value
