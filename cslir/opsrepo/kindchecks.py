"""Checks of what only some step kinds carry: a probe's target, a decision's thresholds.

They run inside ``PlaybookChecker`` (checks.py), tolerate shape errors the schema reports, and
point every message at the key it is about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cslir.opsrepo.diagnostics import did_you_mean
from cslir.opsrepo.spec import PathKey

if TYPE_CHECKING:
    from cslir.opsrepo.checks import PlaybookChecker

PROBES = ("http", "tcp", "dns")


def check_probe(checker: PlaybookChecker, sid: str, step: dict[str, Any], at: PathKey) -> None:
    """One target (http, tcp or dns), templates that name what is declared, a sane rhythm."""
    given = [k for k in PROBES if k in step]
    if not given:
        checker.error(at, f"probe '{sid}' needs one of http:, tcp: or dns:")
    for extra in given[1:]:
        checker.error(
            (*at, extra), f"probe '{sid}' has {given[0]}: and {extra}:; a probe checks one thing"
        )
    for kind in given:
        body = step[kind]
        if isinstance(body, dict):
            _probe_templates(checker, kind, body, (*at, kind))
    if isinstance(step.get("drill_target"), str):
        checker.check_template(step["drill_target"], (*at, "drill_target"))
    http = step.get("http")
    if isinstance(http, dict) and not any(
        k in http for k in ("expect_status", "absent", "present")
    ):
        checker.error(
            (*at, "http"),
            f"probe '{sid}' has nothing to check: give expect_status, absent or present",
        )
    if isinstance(http, dict) and isinstance(http.get("url"), str):
        url = http["url"].strip()
        if not url.startswith(("http://", "https://", "{")):
            checker.error((*at, "http", "url"), f"'{url}' is not an http:// or https:// URL")
    _check_rhythm(checker, sid, step, at)


def _probe_templates(
    checker: PlaybookChecker, kind: str, body: dict[str, Any], at: PathKey
) -> None:
    for key in ("url", "host", "name", "server"):
        if isinstance(body.get(key), str):
            checker.check_template(body[key], (*at, key))
    if isinstance(body.get("port"), str):
        checker.check_template(body["port"], (*at, "port"))
    for key in ("absent", "present"):
        value = body.get(key)
        texts = value.items() if isinstance(value, dict) else [((), value)]
        for sub, src in texts:
            if isinstance(src, str):
                checker.check_template(src, (*at, key, *((sub,) if sub else ())))
    expect = body.get("expect")
    if kind == "dns" and isinstance(expect, list):
        for j, address in enumerate(expect):
            if isinstance(address, str):
                checker.check_template(address, (*at, "expect", j))


def _check_rhythm(checker: PlaybookChecker, sid: str, step: dict[str, Any], at: PathKey) -> None:
    from cslir.engine.durations import DurationError, parse_duration

    try:
        within = parse_duration(step.get("within", "5m"))
        every = parse_duration(step.get("every", "30s"))
    except DurationError:
        return  # check_durations says why
    if within.is_working_days or every.is_working_days:
        key = "within" if within.is_working_days else "every"
        checker.error((*at, key), f"probe '{sid}': {key} counts clock time, not working days")
    elif every.seconds > within.seconds:
        checker.error(
            (*at, "every"),
            f"probe '{sid}' waits {every} between attempts but gives up after {within}",
        )


def check_floor(checker: PlaybookChecker, sid: str, step: dict[str, Any], at: PathKey) -> None:
    """Each threshold's condition compiles over declared names and proposes a real choice."""
    floors = step.get("floor")
    if not isinstance(floors, list):
        return
    choices = checker.decision_choices(step)
    for j, rule in enumerate(floors):
        if not isinstance(rule, dict):
            continue
        if isinstance(rule.get("when"), str):
            checker.check_template(rule["when"], (*at, "floor", j, "when"), expression=True)
        choice = rule.get("choice")
        if choices and isinstance(choice, str) and choice not in choices:
            checker.error(
                (*at, "floor", j, "choice"),
                f"floor of '{sid}' proposes '{choice}', which is not one of its choices"
                f"{did_you_mean(choice, choices)}",
            )
