"""Meaning checks for route files, drill files and settings (playbooks are in checks.py)."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from cslir.base.secretrefs import ENV_REF
from cslir.opsrepo.checks import Report
from cslir.opsrepo.diagnostics import did_you_mean
from cslir.opsrepo.spec import PathKey

# Fields that identify or authorise a target: they must be references, never the value.
SECRET_FIELDS = ("url", "secret", "routing_key")
# What each channel cannot work without.
NEEDED = {
    "webhook": ("url", "secret"),
    "slack": ("url",),
    "teams": ("url",),
    "pagerduty": ("routing_key",),
    "dingtalk": ("url",),
    "wecom": ("url",),
    "feishu": ("url",),
}
FORMATS = {"wecom": ("markdown", "text"), "feishu": ("post", "card")}
# Whom each channel can ping (notifiers.md); the builders leave out any other mention rather
# than pretend to page someone, so a route asking for one is an error. WeCom pings phone
# numbers and @all only as msgtype text, which it then sends; Slack and Feishu mention by user
# id, Teams cards by UPN or AAD id with no @all; PagerDuty's escalation policy decides alone.
MENTIONS = {
    "webhook": ("mobiles", "user_ids", "all"),  # passed through as data for the receiver
    "slack": ("user_ids", "all"),
    "teams": ("user_ids",),
    "pagerduty": (),
    "dingtalk": ("mobiles", "user_ids", "all"),
    "wecom": ("mobiles", "user_ids", "all"),
    "feishu": ("user_ids", "all"),
}


def check_routes(data: Mapping[str, Any], all_routes: set[str], report: Report) -> None:
    routes = data.get("routes")
    if not isinstance(routes, dict):
        return
    for name, route in routes.items():
        if not isinstance(route, dict):
            continue
        at = ("routes", name)
        channel = route.get("channel")
        for key in SECRET_FIELDS:
            value = route.get(key)
            if isinstance(value, str) and not ENV_REF.fullmatch(value.strip()):
                if key == "url" and channel == "webhook" and "?" not in value:
                    continue  # a plain endpoint URL carries no credential; the whsec secret does
                report(
                    (*at, key),
                    f"route '{name}': {key} is written out literally; a literal "
                    f"secret is an error: use a reference such as ${{env:{_env_name(name, key)}}}",
                    False,
                    "error",
                )
        for key in NEEDED.get(channel, ()) if isinstance(channel, str) else ():
            if key not in route:
                report(at, f"route '{name}' ({channel}) needs '{key}'", False, "error")
        fmt = route.get("format")
        if (
            isinstance(fmt, str)
            and isinstance(channel, str)
            and fmt not in FORMATS.get(channel, ())
        ):
            allowed = ", ".join(FORMATS.get(channel, ())) or "no format option"
            report(
                (*at, "format"),
                f"route '{name}': format '{fmt}' does not apply to {channel} (it takes {allowed})",
                False,
                "error",
            )
        if isinstance(channel, str) and channel in MENTIONS:
            _check_mentions(name, channel, route.get("mention"), at, report)
        if channel == "dingtalk" and "secret" not in route:
            report(
                at,
                f"route '{name}': DingTalk robot without a signing secret; "
                "add secret: so messages are signed",
                False,
                "warning",
            )
        for key in ("fallback", "drill_route"):
            target = route.get(key)
            if isinstance(target, str) and target not in all_routes:
                report(
                    (*at, key),
                    f"route '{name}': {key} '{target}' is not a route"
                    f"{did_you_mean(target, all_routes)}",
                    False,
                    "error",
                )
            if target == name:
                report((*at, key), f"route '{name}' names itself as its {key}", False, "error")


def _check_mentions(name: str, channel: str, mention: Any, at: PathKey, report: Report) -> None:
    if not isinstance(mention, dict):
        return
    allowed = MENTIONS[channel]
    for kind in ("mobiles", "user_ids", "all"):
        if mention.get(kind) and kind not in allowed:
            report(
                (*at, "mention", kind),
                f"route '{name}': mention {kind} does not apply to {channel} "
                f"(it takes {', '.join(allowed) or 'no mentions'})",
                False,
                "error",
            )


def _shown(path: Path) -> str:
    """A path as short as it can be shown: relative to the working directory, normalised."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return os.path.normpath(path)


def _env_name(route: str, key: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", f"{route}_{key}".upper())


def check_settings(data: Mapping[str, Any], all_routes: set[str] | None, report: Report) -> None:
    """cslir.yaml beyond its shape; with ``all_routes`` None the routes it names are not looked
    up (the notifier files are validate's to read, not every command's)."""
    tz = data.get("timezone")
    if isinstance(tz, str) and not _valid_zone(tz):
        report(
            ("timezone",),
            f"unknown time zone '{tz}' (use an IANA name such as Asia/Shanghai)",
            False,
            "error",
        )
    for section in ("routes", "role_routes"):
        routes = data.get(section)
        for key, route in routes.items() if isinstance(routes, dict) else ():
            if all_routes is not None and isinstance(route, str) and route not in all_routes:
                report(
                    (section, key),
                    f"unknown route '{route}'{did_you_mean(route, all_routes)}",
                    False,
                    "error",
                )
    key = data.get("signing_key")
    if isinstance(key, str) and not ENV_REF.fullmatch(key.strip()):
        report(
            ("signing_key",),
            "signing_key is written out literally; the private key must stay outside the ops"
            " repo: use a reference such as ${env:CSLIR_SIGNING_KEY} (its PEM, or a path to it)",
            False,
            "error",
        )


def _cron_problem(expression: str) -> str | None:
    from cslir.opsrepo.cron import CronError, cron_trigger

    try:
        cron_trigger(expression, dt.UTC)
    except CronError as e:
        return str(e)
    return None


def _check_known(name: Any, known: Collection[str], what: str, at: PathKey, report: Report) -> None:
    """Report ``what 'name'`` (and the likely one meant) when ``name`` is not among ``known``."""
    if isinstance(name, str) and name not in known:
        report(at, f"{what} '{name}'{did_you_mean(name, known)}", False, "error")


def _valid_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_drill(
    data: Mapping[str, Any],
    path: Path,
    playbook: Mapping[str, Any] | None,
    all_routes: set[str],
    report: Report,
) -> None:
    """``playbook`` is the loaded data of the playbook the drill names, or None if it failed."""
    pb_ref = data.get("playbook")
    if isinstance(pb_ref, str) and playbook is None:
        target = path.parent / pb_ref
        if not target.is_file():
            report(
                ("playbook",),
                f"playbook '{pb_ref}' does not exist (looked for {_shown(target)})",
                False,
                "error",
            )
        else:
            report(("playbook",), f"playbook '{pb_ref}' has errors; fix them first", False, "error")
    schedule = data.get("schedule")
    if isinstance(schedule, dict):
        cron = schedule.get("cron")
        if isinstance(cron, str):
            problem = _cron_problem(cron)
            if problem:
                report(("schedule", "cron"), problem, False, "error")
        tz = schedule.get("timezone")
        if isinstance(tz, str) and not _valid_zone(tz):
            report(
                ("schedule", "timezone"),
                f"unknown time zone '{tz}' (use an IANA name such as Asia/Shanghai)",
                False,
                "error",
            )
    for i, route in enumerate(data.get("participants") or []):
        _check_known(route, all_routes, "unknown route", ("participants", i), report)
    for i, inject in enumerate(data.get("injects") or []):
        if isinstance(inject, dict) and ("at" in inject) == ("after" in inject):
            report(("injects", i), "an inject needs exactly one of 'at' or 'after'", False, "error")
        at = inject.get("at") if isinstance(inject, dict) else None
        if isinstance(at, str) and at.strip().endswith("wd"):
            report(("injects", i, "at"), f"inject at '{at}': scenario time runs on the clock; "
                   "give the offset in m, h or d, not working days", False, "error")  # fmt: skip
    if playbook is not None:
        _check_against_playbook(data, playbook, report)


def _check_against_playbook(data: Mapping[str, Any], pb: Mapping[str, Any], report: Report) -> None:
    inputs = pb.get("inputs") or {}
    steps = [s["id"] for s in pb.get("steps") or [] if isinstance(s, dict) and s.get("id")]
    _check_values(data.get("inputs") or {}, inputs, ("inputs",), report)
    for i, inject in enumerate(data.get("injects") or []):
        if not isinstance(inject, dict):
            continue
        at = ("injects", i)
        after = inject.get("after")
        _check_known(after, steps, "inject after unknown step", (*at, "after"), report)
        if isinstance(inject.get("set"), dict):
            _check_values(inject["set"], inputs, (*at, "set"), report)
    _check_objectives(data, steps, pb.get("clocks") or {}, report)
    answers = data.get("answers")
    for sid, answer in answers.items() if isinstance(answers, dict) else ():
        if sid not in steps:
            hint = did_you_mean(str(sid), steps)
            report(("answers", sid), f"answer for unknown step '{sid}'{hint}", True, "error")
        elif isinstance(answer, str) and answer not in ("done", "skip", "fail"):
            report(("answers", sid), f"answer '{answer}' must be done, skip or fail, or a mapping"
                   " such as {outcome: skip, reason: ...}", False, "error")  # fmt: skip


def _check_values(
    given: Mapping[str, Any], inputs: Mapping[str, Any], at: tuple[Any, ...], report: Report
) -> None:
    """Values a drill gives inputs (its scenario, an inject's ``set:``): declared, and fitting."""
    from cslir.engine.inputs import InputValueError, parse_value

    for name, value in given.items():
        spec = inputs.get(name)
        if not isinstance(spec, dict):
            report(
                (*at, name),
                f"input '{name}' is not declared by the playbook{did_you_mean(name, inputs)}",
                True,
                "error",
            )
            continue
        raw = spec.get("choices") or []
        choices = [str(c.get("value") if isinstance(c, dict) else c) for c in raw]
        if choices and str(value) not in choices:
            report(
                (*at, name),
                f"'{value}' is not among the choices of input '{name}': {', '.join(choices)}",
                False,
                "error",
            )
            continue
        try:
            parse_value(str(spec.get("type")), value, choices, now=dt.datetime.now(dt.UTC))
        except InputValueError as e:
            report((*at, name), f"input '{name}': {e}", False, "error")


def _check_objectives(
    data: Mapping[str, Any], steps: list[str], clocks: Mapping[str, Any], report: Report
) -> None:
    seen: set[str] = set()
    for i, obj in enumerate(data.get("objectives") or []):
        if not isinstance(obj, dict):
            continue
        at = ("objectives", i)
        if obj.get("id") in seen:
            report((*at, "id"), f"objective '{obj['id']}' is defined twice", False, "error")
        seen.add(str(obj.get("id")))
        _check_known(obj.get("step"), steps, "objective names unknown step", (*at, "step"), report)
        clock = obj.get("clock")
        _check_known(clock, list(clocks), "objective names unknown clock", (*at, "clock"), report)
        if "step" not in obj and "clock" not in obj:
            report(at, "an objective names a step or a clock to score", False, "error")
        elif "within" in obj and "step" not in obj:
            report((*at, "within"), "within: measures a step: name it with step:", False, "error")
