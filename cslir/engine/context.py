"""What a playbook's text templates see: the run's inputs, its clocks, its steps, the run and
the playbook.

The walkthrough, pages and commands (``cslir.runs.session``) and the report render text with the
same names, so that a step title reads the same on the screen and in the record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cslir.base.timefmt import local_text
from cslir.engine.clocks import views
from cslir.engine.conditions import input_values
from cslir.engine.model import localize
from cslir.engine.state import RunState


def template_context(st: RunState, now: datetime, tz: str | None) -> dict[str, Any]:
    """The names a template may use, as of ``now``; times are shown in the zone ``tz``."""
    values = input_values(st.inputs, st.playbook)
    clocks = {}
    for v in views(st, now):
        clocks[v.id] = {
            "state": v.state,
            "due_utc": v.due_at.isoformat() if v.due_at else "not started",
            "due_local": local_text(v.due_at, tz) if v.due_at else "not started yet",
            "provisional": v.provisional,
        }
    return {
        **values,
        "inputs": {
            k: local_text(v, tz) if isinstance(v, datetime) else v for k, v in values.items()
        },
        "clocks": clocks,
        "run": {"id": st.run_id, "mode": st.mode},
        "playbook": {"id": st.playbook.id, "title": localize(st.playbook.title)},
        "steps": {k: {"status": s.status, "actor": s.actor} for k, s in st.steps.items()},
        "drill": st.drill,
        "now": local_text(now, tz),
    }
