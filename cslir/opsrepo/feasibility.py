"""``cslir validate --strict``: a clock whose stopping steps cannot finish in time is an error.

The estimates are the playbook's own; the verdict is ``cslir plan``'s for a run opening at the
time given, in the worst case of the inputs nobody gave. The message names that case and the
path, located at the clock.
"""

from __future__ import annotations

from datetime import datetime

from cslir.engine.durations import format_span
from cslir.engine.model import build_playbook
from cslir.engine.plan import plan
from cslir.opsrepo.diagnostics import Diagnostic
from cslir.opsrepo.includes import Expansion


def infeasible_clocks(expansion: Expansion, opened: datetime) -> list[Diagnostic]:
    doc = expansion.doc
    playbook = build_playbook(expansion.data, path=doc.path, text=doc.text)
    out = []
    for p in plan(playbook, {}, opened=opened):
        if p.verdict != "infeasible":
            continue
        line, col = doc.loc(("clocks", p.id), key=True)
        case = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}"
                         for k, v in p.scenario.items())  # fmt: skip
        when = f" when {case}" if case else ""
        if p.slack is None or not p.path:
            why = p.reason
        else:
            path = " -> ".join(f"{s} ({e or 'no estimate'})" for s, e in p.path)
            why = f"{path} ends {format_span(-p.slack.total_seconds())} after its {p.rule} deadline"
        out.append(Diagnostic(doc.path, line, col, "error",
                              f"clock '{p.id}' cannot be met{when}: {why}"))  # fmt: skip
    return out
