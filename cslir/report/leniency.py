"""The mitigation file: the facts in the record that support a lighter penalty.

It follows the leniency file of reference/regulatory.md §8.3: CAC Incident Reporting Measures
Art 11 (liability reduced or waived for an operator that had protections in place, followed its
plan, reduced the impact and reported on time), the amended Cybersecurity Law's leniency clause
(cited as "Art 73", a number no source confirms yet; §3.4) and Administrative Penalty Law Arts
32-33 (lighter penalty for mitigating harm and for cooperating with the investigation and
rendering meritorious service; none for a minor first violation corrected in time).

What each step proves is its ``purpose:`` label, never a guess from its wording:

- ``report`` steps, and any other step that stops a clock, are the reports, each against its
  deadline, with the dealings logged as reports or submissions (``cslir regulator``);
- ``containment``, ``remediation`` and ``notification`` steps are measures that reduced harm;
- ``cooperation`` steps, and answers and submissions logged with the authorities, are
  cooperation;
- ``evidence`` steps show the scene was preserved.

Only what was *done* is claimed: a skipped or failed step appears among the deviations from the
plan with its reason, never as a measure, and a decision (to report or not) is never listed as
cooperation. Earlier drills of the same playbook are evidence of preparedness. Whether this is
a first violation is not in a run's record; the file says so. Evidence counts only if it is
evidence: the placeholder text that ``--auto``/``--answers`` once recorded for a step finished
without any is not counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from cslir.engine.events import parse_at
from cslir.engine.model import Step
from cslir.engine.state import RunState
from cslir.report.sections import Describer

BASIS = (
    "CAC Incident Reporting Measures Art 11",
    'Cybersecurity Law (2025 amendment) leniency clause ("Art 73", number unconfirmed)',
    "Administrative Penalty Law Art 32",
    "Administrative Penalty Law Art 33",
)
HARM_REDUCED = ("containment", "remediation", "notification")
OUTBOUND = ("answer", "submission", "report")

Row = dict[str, Any]

# What --auto and --answers recorded as a step's "evidence" before they stopped making it up:
# it proves nothing, so it never counts as evidence (each is its text's sha256).
PLACEHOLDERS = frozenset(
    hashlib.sha256(text.encode("utf-8")).hexdigest()
    for text in (
        "no evidence was supplied: the step was finished non-interactively (--auto/--answers)",
    )
)


def counted(evidence: list[str]) -> int:
    """How many of a step's evidence items (sha256 each) are evidence of anything."""
    return sum(1 for sha in evidence if sha not in PLACEHOLDERS)


def build(
    state: RunState,
    clocks: list[Row],
    steps: list[Row],
    improvements: list[Row],
    say: Describer,
    *,
    dealings: Sequence[Row] = (),
    drills: Sequence[Row] = (),
) -> dict[str, Any]:
    pb = state.playbook
    by_id = {row["id"]: row for row in steps}
    detected = min((c["started"] for c in clocks if c["started"]), default=None)

    def done(purposes: tuple[str, ...]) -> list[Row]:
        return [_fact(by_id[s.id], detected) for s in pb.steps
                if s.purpose in purposes and _claims(s, by_id[s.id])]  # fmt: skip

    return {
        "drill": state.drill,
        "basis": list(BASIS),
        "detected": detected,
        "reports": _reports(state, clocks, by_id, dealings, say),
        "measures": done(HARM_REDUCED),
        "cooperation": done(("cooperation",)) + _answered(dealings),
        "evidence": done(("evidence",)),
        "preparedness": list(drills),
        "plan": _plan(state, steps),
        "corrections": [
            {"id": i["id"], "text": i["text"], "closed_at": i["closed_at"]}
            for i in improvements
            if i["status"] == "closed"
        ],
    }


def _claims(step: Step, row: Row) -> bool:
    """Only a step that was done is claimed, and never a decision (a choice is not an act)."""
    return row["status"] == "done" and step.kind != "decision"


def _reports(
    state: RunState, clocks: list[Row], steps: Mapping[str, Row], dealings: Sequence[Row],
    say: Describer,
) -> list[Row]:  # fmt: skip
    """Every report the playbook owes or made: purpose report steps and the steps that stop a
    clock (each against that clock), then reports and submissions logged with the authorities.
    A decision is never a report (grading stops an internal target; it reports to nobody)."""
    by_clock = {c["id"]: c for c in clocks}
    out = []
    for step in state.playbook.steps:
        row = steps[step.id]
        reports = step.purpose == "report" or step.stops
        if not reports or step.kind == "decision" or row["status"] == "n/a":
            continue
        clock = next((by_clock[c] for c in step.stops if by_clock[c]["state"] != "n/a"), None)
        out.append(_report_row(step, row, clock, say))
    for d in dealings:
        if d["kind"] in ("report", "submission"):
            out.append({"step": d["step"], "title": d["summary"], "recipient": d["authority"],
                        "basis": [], "clock": None, "clock_title": None, "status": "done",
                        "made_at": d["at"], "recorded_at": None, "submission": None,
                        "automated": False, "due": d["due"], "state": None,
                        "margin_seconds": _margin(d["at"], d["due"]), "evidence": 0,
                        "reason": None, "source": "dealing"})  # fmt: skip
    return out


def _report_row(step: Step, row: Row, clock: Row | None, say: Describer) -> Row:
    made = row["ended"] if row["status"] == "done" else None
    due = clock["due"] if clock else None
    return {
        "step": step.id,
        "title": row["title"],
        "recipient": clock["recipient"] if clock else None,
        "basis": list(step.basis) or (clock["basis"] if clock else []),
        "clock": clock["id"] if clock else None,
        "clock_title": clock["title"] if clock else None,
        "status": row["status"],
        "made_at": made,
        "recorded_at": row["recorded"] if made else None,
        "submission": row["submission"],
        "automated": row["automated"],
        "due": due,
        "state": clock["state"] if clock else None,
        "margin_seconds": _margin(made, due),
        "evidence": row["evidence"],
        "reason": row["reason"] if row["status"] != "done" else None,
        "source": "step",
    }


def _margin(made: str | None, due: str | None) -> int | None:
    if not made or not due:
        return None
    return round((parse_at(due) - parse_at(made)).total_seconds())


def _answered(dealings: Sequence[Row]) -> list[Row]:
    """Answers to the authorities' requests, logged as dealings, are cooperation too."""
    return [
        {
            "step": d["step"],
            "title": f"{d['summary']} ({d['authority']})",
            "status": "done",
            "at": d["at"],
            "actor": d["actor"],
            "reason": None,
            "evidence": 0,
            "since_detection_seconds": None,
        }
        for d in dealings
        if d["kind"] == "answer"
    ]


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
