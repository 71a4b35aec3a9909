"""The mitigation file: the facts in the record that support a lighter penalty.

It follows the leniency file of reference/regulatory.md §8.3, for CAC Incident Reporting
Measures Art 11 (reduced or waived liability for an operator that followed its plan, reduced the
impact and reported on time) and Administrative Penalty Law Arts 32-33 (lighter penalty for
mitigating harm and cooperating; none for a minor first violation corrected in time).

A playbook does not label which steps are reports, containment or dealings with the authorities,
so the file reads them from the playbook's shape and words:

- a *report* is a step that stops a clock, unless it is a decision (grading stops an internal
  target, it reports to nobody);
- *containment* is a step whose id or title speaks of containing, isolating, blocking, revoking
  or rotating;
- *cooperation* is a step whose id or title names the police, a regulator or an authority.

Pre-existing protections and whether this is a first violation are not in a run's record; the
file says so rather than leave them out silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cslir.engine.events import parse_at
from cslir.engine.model import Step, Text
from cslir.engine.state import RunState
from cslir.report.sections import Describer

BASIS = (
    "CAC Incident Reporting Measures Art 11",
    "Administrative Penalty Law Art 32",
    "Administrative Penalty Law Art 33",
)
# English words match at the start of a word ("contain" finds "containment", "cac" does not
# find "cache"); Chinese has no word boundaries, so its words match anywhere.
CONTAINMENT = re.compile(
    r"\b(?:contain|isolat|mitigat|revok|rotat|block|quarantin)|遏制|控制|隔离|阻断|止损"
)
AUTHORITY = re.compile(
    r"\b(?:police|public security|regulator|authorit|cac\b|cncert\b)"
    r"|公安|监管|网信|主管部门|个人信息保护职责"
)

Row = dict[str, Any]


def build(
    state: RunState,
    clocks: list[Row],
    steps: list[Row],
    improvements: list[Row],
    say: Describer,
) -> dict[str, Any]:
    pb = state.playbook
    by_id = {row["id"]: row for row in steps}
    detected = min((c["started"] for c in clocks if c["started"]), default=None)
    return {
        "drill": state.drill,
        "basis": list(BASIS),
        "detected": detected,
        "reports": _reports(state, clocks, by_id),
        "containment": [
            _fact(by_id[s.id], detected)
            for s in pb.steps
            if _names(s, CONTAINMENT) and _acted(by_id[s.id])
        ],
        "cooperation": [
            _fact(by_id[s.id], detected)
            for s in pb.steps
            if _names(s, AUTHORITY) and _acted(by_id[s.id])
        ],
        "plan": _plan(state, steps),
        "corrections": [
            {"id": i["id"], "text": i["text"], "closed_at": i["closed_at"]}
            for i in improvements
            if i["status"] == "closed"
        ],
    }


def _reports(state: RunState, clocks: list[Row], steps: Mapping[str, Row]) -> list[Row]:
    out = []
    for clock in clocks:
        if clock["state"] == "n/a":
            continue
        stoppers = [
            s for s in state.playbook.steps if clock["id"] in s.stops and s.kind != "decision"
        ]
        if not stoppers:
            continue
        step = steps[clock["stopped_by"] or stoppers[0].id]
        out.append(
            {
                "clock": clock["id"],
                "title": clock["title"],
                "recipient": clock["recipient"],
                "basis": clock["basis"],
                "step": step["id"],
                "step_title": step["title"],
                "status": step["status"],
                "made_at": step["ended"] if step["status"] == "done" else None,
                "due": clock["due"],
                "state": clock["state"],
                "margin_seconds": clock["margin_seconds"],
                "evidence": step["evidence"],
            }
        )
    return out


def _acted(row: Row) -> bool:
    return row["status"] in ("done", "skipped", "failed")


def _fact(row: Row, detected: str | None) -> Row:
    since = None
    if detected and row["ended"]:
        since = round((parse_at(row["ended"]) - parse_at(detected)).total_seconds())
    return {
        "step": row["id"],
        "title": row["title"],
        "status": row["status"],
        "at": row["ended"],
        "actor": row["actor"],
        "reason": row["reason"],
        "evidence": row["evidence"],
        "since_detection_seconds": since,
    }


def _plan(state: RunState, steps: list[Row]) -> Row:
    def listed(status: str) -> list[Row]:
        return [
            {"step": r["id"], "title": r["title"], "reason": r["reason"]}
            for r in steps
            if r["status"] == status
        ]

    return {
        "playbook": state.playbook.id,
        "version": state.playbook.version,
        "done": sum(1 for r in steps if r["status"] == "done"),
        "skipped": listed("skipped"),
        "failed": listed("failed"),
        "na": sum(1 for r in steps if r["status"] == "n/a"),
    }


def _names(step: Step, words: re.Pattern[str]) -> bool:
    text = " ".join([step.id.replace("-", " "), *_all_languages(step.title)]).lower()
    return words.search(text) is not None


def _all_languages(value: Text | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value.values())
