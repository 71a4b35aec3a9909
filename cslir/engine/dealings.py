"""Dealings with regulators as structured events: what came in, what went out, by when.

A notice, an information request, an interview (约谈), an inspection, a deadline a regulator set
by telephone, an answer, a submission, a report (a supplementary one included): each is one
``regulator.dealing`` event with its kind, direction, authority and, where one was set, its
deadline and reference, so the record can list every dealing and every report in one table
instead of leaving them in free-text notes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cslir.base.errors import ActionRefused
from cslir.engine.inputs import InputValueError, parse_value, to_json
from cslir.engine.state import RunState

# kind -> direction: "in" from the regulator, "out" to it
KINDS = {
    "notice": "in",
    "request": "in",
    "interview": "in",
    "inspection": "in",
    "deadline": "in",
    "answer": "out",
    "submission": "out",
    "report": "out",
}
Events = list[tuple[str, dict[str, Any]]]


def dealing(
    state: RunState,
    kind: str,
    summary: str,
    *,
    authority: str,
    due: str | None = None,
    ref: str | None = None,
    step_id: str | None = None,
    now: dt.datetime,
    tz: dt.tzinfo | None = None,
) -> Events:
    """One dealing, checked: a known kind, an authority, a readable deadline, a real step."""
    if kind not in KINDS:
        raise ActionRefused(f"'{kind}' is not a kind of dealing: {', '.join(KINDS)}")
    if not summary.strip() or not authority.strip():
        raise ActionRefused("a dealing needs a summary and the authority it was with")
    if step_id is not None and step_id not in state.index.step:
        raise ActionRefused(f"no step '{step_id}' in this playbook")
    data: dict[str, Any] = {"kind": kind, "direction": KINDS[kind], "authority": authority.strip(),
                            "summary": summary.strip()}  # fmt: skip
    if due is not None:
        try:
            when = parse_value("datetime", due, now=now, tz=tz, future=True)
        except InputValueError as e:
            raise ActionRefused(f"--due: {e}") from None
        data["due"] = to_json(when)
    if ref:
        data["ref"] = ref
    if step_id:
        data["step"] = step_id
    return [("regulator.dealing", data)]
