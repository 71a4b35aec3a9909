"""The status of a run, rendered once for everyone: ``cslir status`` (text and JSON) and the
walkthrough's status view (``t``) print the same lines; the walkthrough's clock banner uses
the same clock line.

Lines are (text, styles); the console colours them on a terminal and prints them plain elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cslir.engine.clocks import ClockView, views
from cslir.engine.durations import format_span
from cslir.engine.events import format_at
from cslir.engine.model import localize
from cslir.engine.state import RunState
from cslir.runs.session import RunCore
from cslir.terminal.console import Line

URGENT = 15 * 60  # seconds left under which a clock is shown in bold red


def _utc(moment: datetime | None) -> str | None:
    return format_at(moment) if moment else None


def clock_line(v: ClockView, s: RunCore, lang: str | None, *, basis: bool = False) -> Line:
    """One clock: time left or overdue, met or missed, with its confidence and provisional
    mark (and its legal basis when asked)."""
    title = localize(v.clock.title, lang) or v.id
    why = f" — {'; '.join(v.clock.basis)}" if basis and v.clock.basis else ""
    if v.state in ("met", "missed", "waived"):
        return f"  ✓ {title}: {v.state}{why}", ("green",) if v.state == "met" else ("red",)
    if v.state not in ("running", "overdue") or v.due_at is None or v.left is None:
        return f"  · {title}: {v.state}{why}", ("dim",)
    conf = f" [{v.clock.confidence} confidence]" if v.clock.confidence in ("medium", "low") else ""
    prov = f" [provisional: {v.provisional}]" if v.provisional else ""
    tail = f"{' (if it applies)' if v.applies is None else ''}{conf}{prov}{why}"
    secs = v.left.total_seconds()
    when = f"due {s.local(v.due_at)}"
    if secs < 0:
        return f"  ⏰ {title}: OVERDUE by {format_span(-secs)} ({when}){tail}", ("red", "bold")
    style = ("red", "bold") if secs < URGENT else (("yellow",) if secs < 3600 else ())
    return f"  ⏱ {title}: {format_span(secs)} left ({when}){tail}", style


def clock_lines(
    st: RunState, s: RunCore, lang: str | None, only: tuple[str, ...] | None = None
) -> list[Line]:
    """The clock banner: the clocks named in ``only``, else every clock that applies."""
    shown = views(st, s.now())
    if only is None:
        return [clock_line(v, s, lang) for v in shown if v.state != "n/a"]
    return [clock_line(v, s, lang) for v in shown if v.id in only]


def status_lines(st: RunState, s: RunCore, lang: str | None = None) -> list[Line]:
    """Every step with its status and who settled it, then every clock with its basis."""
    flags = f"{', closed' if st.closed else ''}{', paused' if st.paused else ''}"
    lines: list[Line] = [
        (f"run {st.run_id} ({st.mode}{flags}): {localize(st.playbook.title, lang)}", ("bold",))
    ]
    if st.drill and st.shifted:  # a drill's clocks count in scenario time: say how far it is
        from cslir.drills.holding import scenario_line

        lines.append((scenario_line(st, s.now(), s.local), ("yellow",)))
    for step in st.playbook.steps:
        x = st.steps[step.id]
        who = f" by {x.actor}" if x.actor else ""
        why = f" — {x.reason}" if x.reason else (f" ({x.waiting_for})" if x.waiting_for else "")
        lines.append((f"  {x.status:8} {step.id}{who}{why}", ()))
    failed = [(seq, p) for seq, p in st.pages.items() if p["status"] == "failed"]
    if failed:
        again = f"cslir notify retry --run {st.run_id} sends them again"
        lines.append((f"pages NOT delivered ({again}):", ("red", "bold")))
        for seq, p in failed:
            which = f" (step {p['step']})" if p["step"] else ""
            lines.append(
                (f"  failed   event {seq} to {p['route']}{which}: {p['detail']}", ("red",))
            )
    lines.append(("clocks:", ()))
    lines += [clock_line(v, s, lang, basis=True) for v in views(st, s.now())]
    return lines


def status_text(s: RunCore, lang: str | None = None) -> str:
    """The status view for ``cslir status``: the same lines, without styles."""
    return "\n".join(text for text, _ in status_lines(s.state(), s, lang))


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
        "pages": [{"request_seq": seq, **page} for seq, page in st.pages.items()],
    }
