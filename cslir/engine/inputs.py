"""Typed input values: parsing what a responder types or a file supplies."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

TRUE = {"true", "yes", "y", "1", "是", "对"}
FALSE = {"false", "no", "n", "0", "否", "不"}
_UNIT = r"(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)"
_AGO = re.compile(rf"\s*(\d+)\s*{_UNIT}\s+ago\s*|\s*now\s*-\s*(\d+)\s*{_UNIT}\s*")


class InputValueError(ValueError):
    """An answer that does not fit its input's type; the message says what would."""


def parse_value(
    kind: str,
    raw: Any,
    choices: Sequence[str] = (),
    *,
    now: dt.datetime | None = None,
    tz: dt.tzinfo | None = None,
    future: bool = False,
) -> Any:
    """Parse ``raw`` as an input of type ``kind``.

    Datetimes come back as aware UTC datetimes (naive text is read in ``tz``); ``now`` and
    ``30m ago`` need ``now`` and are otherwise returned as the literal text "now" (a default
    written in a playbook). A time in the future is refused unless ``future`` (a deadline a
    notice states, read by a clock's ``due_at``).
    """
    if kind in ("string", "text"):
        if isinstance(raw, str | int | float) and not isinstance(raw, bool) and str(raw).strip():
            return str(raw)
        raise InputValueError("expected some text")
    if kind == "int":
        if isinstance(raw, bool):
            raise InputValueError("expected a whole number")
        try:
            number = int(str(raw).strip().replace(",", "").replace("_", ""))
        except ValueError:
            raise InputValueError(f"'{raw}' is not a whole number") from None
        if number < 0:  # int inputs count things (records, people, systems): never below zero
            raise InputValueError(f"'{raw}' is below zero; give a count, 0 or more")
        return number
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE:
            return True
        if word in FALSE:
            return False
        raise InputValueError(f"'{raw}' is not yes or no")
    if kind == "choice":
        value = str(raw).strip() if not isinstance(raw, bool) else str(raw).lower()
        if value in choices:
            return value
        if value.isdigit() and 1 <= int(value) <= len(choices):
            return choices[int(value) - 1]
        raise InputValueError(f"'{raw}' is not one of: {', '.join(choices)}")
    if kind == "duration":
        from cslir.engine.durations import DurationError, parse_duration

        try:
            return str(parse_duration(raw))
        except DurationError as e:
            raise InputValueError(str(e)) from None
    if kind == "datetime":
        return _parse_datetime(raw, now=now, tz=tz, future=future)
    raise InputValueError(f"unknown input type '{kind}'")


def _parse_datetime(
    raw: Any, *, now: dt.datetime | None, tz: dt.tzinfo | None, future: bool
) -> Any:
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        text = str(raw).strip()
        if text.lower() == "now":
            return now.astimezone(dt.UTC) if now else "now"
        m = _AGO.fullmatch(text.lower())
        if m:
            from cslir.engine.durations import parse_duration

            amount, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            span = parse_duration(f"{amount}{unit[0]}")
            if now is None:
                return "now"
            return (now - dt.timedelta(seconds=span.seconds)).astimezone(dt.UTC)
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InputValueError(
                f"'{text}' is not a date and time: write 2026-03-01 14:30, "
                "2026-03-01T14:30+08:00, now, or 30m ago"
            ) from None
    if value.tzinfo is None:  # no zone typed and none configured: the machine's own
        value = value.replace(tzinfo=tz) if tz else value.astimezone()
    if now is not None and not future and value > now + dt.timedelta(minutes=5):
        raise InputValueError(f"'{raw}' lies in the future")
    return value.astimezone(dt.UTC)


def to_json(value: Any) -> Any:
    """An input value as it is recorded in an event."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return value
