"""The state of a run as text and JSON for ``cslir status``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cslir.engine.clocks import views
from cslir.engine.durations import format_span
from cslir.engine.events import format_at
from cslir.engine.model import localize
from cslir.runs.session import RunCore


def _utc(moment: datetime | None) -> str | None:
    return format_at(moment) if moment else None


def status_json(s: RunCore) -> dict[str, Any]:
    st = s.state()
    now = s.now()
    return {
        "run": st.run_id,
        "playbook": st.playbook.id,
        "title": localize(st.playbook.title),
        "mode": st.mode,
        "opened_at": _utc(st.opened_at),
        "closed_at": _utc(st.closed_at),
        "closed": st.closed,
        "paused": st.paused,
        "last_seq": st.last_seq,
        "head": st.head,
        "inputs": st.inputs,
        "steps": [
            {
                "id": sid,
                "status": x.status,
                "actor": x.actor,
                "reason": x.reason,
                "waiting_for": x.waiting_for,
                "started_at": _utc(x.started_at),
                "ended_at": _utc(x.ended_at),
            }
            for sid, x in st.steps.items()
        ],
        "clocks": [
            {
                "id": v.id,
                "title": localize(v.clock.title) or v.id,
                "state": v.state,
                "applies": v.applies,
                "started_at": _utc(v.started_at),
                "due": _utc(v.due_at),
                "due_local": s.local(v.due_at) if v.due_at else None,
                "stopped_at": _utc(v.stopped_at),
                "stopped_by": v.stopped_by,
                "left_seconds": int(v.left.total_seconds()) if v.left is not None else None,
                "basis": list(v.clock.basis),
                "confidence": v.clock.confidence,
                "provisional": v.provisional,
            }
            for v in views(st, now)
        ],
    }


def status_text(s: RunCore) -> str:
    st = s.state()
    lines = [
        f"run {st.run_id} ({st.mode}{', closed' if st.closed else ''}"
        f"{', paused' if st.paused else ''}): {localize(st.playbook.title)}"
    ]
    for step in st.playbook.steps:
        x = st.steps[step.id]
        who = f" by {x.actor}" if x.actor else ""
        why = f" — {x.reason}" if x.reason else (f" ({x.waiting_for})" if x.waiting_for else "")
        lines.append(f"  {x.status:8} {step.id}{who}{why}")
    lines.append("clocks:")
    for v in views(st, s.now()):
        due = f" due {s.local(v.due_at)}" if v.due_at else ""
        left = ""
        if v.left is not None:
            secs = v.left.total_seconds()
            left = f", {format_span(secs)} left" if secs >= 0 else f", overdue {format_span(-secs)}"
        maybe = " (if it applies)" if v.applies is None else ""
        lines.append(f"  {v.state:11} {v.id}{due}{left}{maybe} — {'; '.join(v.clock.basis)}")
    return "\n".join(lines)
