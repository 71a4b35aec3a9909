"""Checks of time in a playbook: where each clock starts, when it falls due, that a step stops
it, and that every duration is one (no zero span, no warning in working days).

They run inside ``PlaybookChecker`` (checks.py) and tolerate shape errors the schema reports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cslir.opsrepo.diagnostics import did_you_mean
from cslir.opsrepo.lenient import entries, ids_of, listed
from cslir.opsrepo.schemaparts import DURATION
from cslir.opsrepo.spec import PathKey, show_path

if TYPE_CHECKING:
    from cslir.opsrepo.checks import PlaybookChecker, Report


def check_durations(data: Mapping[str, Any], report: Report) -> None:
    """The schema checks the form of a duration; this checks its value (no zero, etc.)."""
    from cslir.engine.durations import DurationError, parse_duration

    def one(value: Any, at: PathKey) -> None:
        # a value of the wrong form is the schema's to report; reporting it twice is noise
        if isinstance(value, str) and re.fullmatch(DURATION, value):
            try:
                parse_duration(value)
            except DurationError as e:
                report(at, f"{show_path(at)}: {e}", False, "error")

    for cid, clock in entries(data.get("clocks")):
        if isinstance(clock, dict):
            one(clock.get("due"), ("clocks", cid, "due"))
            for i, w in enumerate(listed(clock.get("warn"))):
                one(w, ("clocks", cid, "warn", i))
                if isinstance(w, str) and w.strip().endswith("wd"):
                    # a warning is a span before the deadline; working days do not count back
                    report(
                        ("clocks", cid, "warn", i),
                        f"clocks.{cid}.warn[{i}]: warn in "
                        "s, m, h or d (a warning counts back from the deadline in clock "
                        "time), not working days",
                        False,
                        "error",
                    )
            for cond, d in entries(clock.get("due_if")):
                one(d, ("clocks", cid, "due_if", cond))
    for i, step in enumerate(listed(data.get("steps"))):
        if isinstance(step, dict):
            for key in ("estimate", "timeout", "duration", "within", "every"):
                one(step.get(key), ("steps", i, key))


def check_clocks(checker: PlaybookChecker) -> None:
    for cid, clock in checker.clocks.items():
        at: PathKey = ("clocks", cid)
        start = clock.get("from")
        if isinstance(start, str):
            _check_clock_start(checker, cid, start, (*at, "from"))
        for cond, _ in entries(clock.get("due_if")):
            checker.check_template(cond, (*at, "due_if", cond), expression=True, key=True)
        if isinstance(clock.get("when"), str):
            checker.check_template(clock["when"], (*at, "when"), expression=True)
        checker.check_route(clock.get("escalate"), (*at, "escalate"))
        _check_deadline(checker, cid, clock, at)


def _check_deadline(checker: PlaybookChecker, cid: str, clock: dict[str, Any], at: PathKey) -> None:
    """A clock falls due either a duration after its start or at a stated time, not both."""
    if "due" in clock and "due_at" in clock:
        checker.error((*at, "due_at"), f"clock '{cid}' has both due and due_at; keep one")
    elif "due" not in clock and "due_at" not in clock:
        checker.error(at, f"clock '{cid}' needs due (a duration) or due_at (a datetime input)")
    target = clock.get("due_at")
    if isinstance(target, str) and target in checker.input_names:
        kind = (checker.inputs.get(target) or {}).get("type")
        if kind not in ("datetime", None):
            checker.error(
                (*at, "due_at"),
                f"clock '{cid}' is due at input '{target}', which is {kind}, not datetime",
            )
    elif isinstance(target, str):
        checker.error(
            (*at, "due_at"),
            f"clock '{cid}' is due at unknown input '{target}'"
            f"{did_you_mean(target, checker.inputs)}; declare it as a datetime input",
        )
    if "due_at" in clock and "due_if" in clock:
        checker.error(
            (*at, "due_if"),
            f"clock '{cid}' is due at a stated time; due_if tightens only a due duration",
        )


def _check_clock_start(checker: PlaybookChecker, cid: str, start: str, at: PathKey) -> None:
    if start == "start":
        return
    if start.startswith("step:"):
        sid = start[5:]
        if sid not in checker.step_ids:
            checker.error(
                at,
                f"clock '{cid}' starts at unknown step '{sid}'"
                f"{did_you_mean(sid, checker.step_ids)}",
            )
        return
    inp = checker.inputs.get(start)
    if start in checker.input_names and inp is None:
        return  # declared, but malformed: the schema says how
    if inp is None:
        checker.error(
            at,
            f"clock '{cid}' starts from '{start}', which is not a datetime input, "
            f"'start' or 'step:<id>'{did_you_mean(start, checker.inputs)}",
        )
    elif inp.get("type") != "datetime":
        checker.error(
            at,
            f"clock '{cid}' starts from input '{start}', which is {inp.get('type')}, not datetime",
        )


def check_unstopped_clocks(checker: PlaybookChecker) -> None:
    stopped: set[str] = set()
    for _, step in checker.steps:
        stopped.update(ids_of(step.get("stops")))
    for cid in checker.clocks:
        if cid not in stopped:
            checker.warning(("clocks", cid), f"no step stops clock '{cid}'; it can only be missed")
