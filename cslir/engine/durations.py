"""Clock durations (``30m``, ``4h``, ``30d``, ``10wd``) and the deadlines they give.

``s``, ``m``, ``h`` and ``d`` are exact elapsed time (a ``d`` is 24 hours). ``wd`` counts PRC
working days, which follow the State Council's holiday calendar including the adjusted weekend
workdays (DESIGN.md "Clocks"). Each year's calendar is published late in the year before, so a
count that reaches a year the installed ``chinesecalendar`` data does not cover counts Monday to
Friday there and says so in ``Deadline.provisional``: never a silent guess.

Pure: no I/O and no wall clock. ``chinese_calendar`` and the time-zone data are loaded on first
use so that importing this module stays cheap for every command that never counts working days.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from cslir.base.errors import InvalidInput

UNITS = ("s", "m", "h", "d", "wd")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A longer clock is a typo, and it would overflow datetime or count days for minutes.
_MAX_DAYS = 36500
_MAX_AMOUNT = {"s": _MAX_DAYS * 86400, "m": _MAX_DAYS * 1440, "h": _MAX_DAYS * 24}
_EXAMPLES = "write a number and a unit, as in 30m, 4h, 30d or 10wd"
_SHAPE = re.compile(r"(-?[0-9]+(?:\.[0-9]+)?)([A-Za-z]*)", re.ASCII)
_END_OF_DAY = time(23, 59, 59)


class DurationError(InvalidInput, ValueError):
    """A playbook's duration is not one cslir can read; the message says how to write one."""


@dataclass(frozen=True)
class Duration:
    """A positive whole number of one unit from ``UNITS``."""

    amount: int
    unit: str

    def __post_init__(self) -> None:
        whole = isinstance(self.amount, int) and not isinstance(self.amount, bool)
        if self.unit not in UNITS or not whole or self.amount < 1:
            raise DurationError(f"Duration({self.amount!r}, {self.unit!r}) is not a duration")

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def is_working_days(self) -> bool:
        return self.unit == "wd"

    @property
    def seconds(self) -> int:
        if self.is_working_days:
            raise ValueError(f"{self} has no fixed length: working days follow the calendar")
        return self.amount * _SECONDS[self.unit]


@dataclass(frozen=True)
class Deadline:
    """When a clock runs out (tz-aware, UTC), and why it is provisional if it is."""

    at: datetime
    provisional: str | None = None


def parse_duration(text: object) -> Duration:
    """Read ``<positive integer><unit>`` as a playbook author writes it; explain any mistake."""
    if isinstance(text, int) and not isinstance(text, bool):
        raise DurationError(f"{text} is not a duration: it needs a unit, as in 30m or 4h")
    if not isinstance(text, str):
        raise DurationError(f"{text!r} is not a duration: {_EXAMPLES}")
    match = _SHAPE.fullmatch(text.strip())
    if match is None:
        raise DurationError(f"{text!r} is not a duration: {_EXAMPLES}")
    number, unit = match.groups()
    if not unit:
        raise DurationError(f"{text!r} is not a duration: it needs a unit, as in 30m or 4h")
    if unit not in UNITS:
        raise DurationError(
            f"{text!r} is not a duration: unknown unit {unit!r} (use s, m, h, d or wd)"
        )
    if "." in number:
        raise DurationError(f"{text!r} is not a duration: use a whole number, as in 90m for 1.5h")
    # More digits than any limit has: say so before int() refuses them (Python caps the digits
    # it converts at 4300; a 5000-digit amount must be a message, not a crash).
    amount = int(number) if len(number.lstrip("0")) <= 12 else _MAX_DAYS * 10**9
    if amount < 1:
        raise DurationError(f"{text!r} is not a duration: it must be more than zero")
    if amount > _MAX_AMOUNT.get(unit, _MAX_DAYS):
        raise DurationError(f"{text!r} is not a duration: it must be at most 100 years")
    return Duration(amount, unit)


def add_duration(start: datetime, d: Duration) -> Deadline:
    """The deadline ``d`` after ``start``.

    A ``wd`` deadline is the end (23:59:59 Asia/Shanghai) of the Nth working day strictly after
    the start's Asia/Shanghai date, so a clock started at 23:00 on a working day still gets N
    whole working days.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start {start.isoformat()} has no time zone; clocks need an aware time")
    if not d.is_working_days:
        # Arithmetic in UTC: adding to a zoned datetime would move wall time, not elapsed time.
        return Deadline(start.astimezone(UTC) + timedelta(seconds=d.seconds))
    shanghai = _shanghai()
    day = start.astimezone(shanghai).date()
    first, last = calendar_years()
    unknown: set[int] = set()
    left = d.amount
    while left:
        day += timedelta(days=1)
        if not first <= day.year <= last:
            unknown.add(day.year)
        if _is_working_day(day, first, last):
            left -= 1
    end = datetime.combine(day, _END_OF_DAY, tzinfo=shanghai).astimezone(UTC)
    return Deadline(end, _provisional_reason(unknown))


def format_span(seconds: float) -> str:
    """Time left or overdue in its two largest units, truncated: ``3h 59m``, ``-45m 10s``."""
    if not math.isfinite(seconds):
        raise ValueError(f"{seconds} is not a span of time")
    left = math.floor(abs(seconds))
    counts: list[tuple[int, str]] = []
    for unit in ("d", "h", "m", "s"):
        count, left = divmod(left, _SECONDS[unit])
        counts.append((count, unit))
    lead = next((i for i, (count, _) in enumerate(counts) if count), len(counts) - 1)
    parts = [f"{count}{unit}" for count, unit in counts[lead : lead + 2] if count]
    if not parts:
        return "0s"
    return ("-" if seconds < 0 else "") + " ".join(parts)


@functools.cache
def calendar_years() -> tuple[int, int]:
    """The first and last year the installed State Council calendar covers."""
    import chinese_calendar

    known = chinese_calendar.holidays.keys() | chinese_calendar.workdays.keys()
    return min(known).year, max(known).year


def _is_working_day(day: date, first: int, last: int) -> bool:
    if first <= day.year <= last:
        import chinese_calendar

        # is_workday counts adjusted weekend workdays (调休上班) and drops statutory holidays.
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def _provisional_reason(years: Iterable[int]) -> str | None:
    ordered = [str(year) for year in sorted(set(years))]
    if not ordered:
        return None
    named = ordered[0] if len(ordered) == 1 else ", ".join(ordered[:-1]) + " and " + ordered[-1]
    return (
        f"the State Council holiday calendar for {named} is not published in this cslir's "
        "calendar data; counted Monday to Friday"
    )


@functools.cache
def _shanghai() -> tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")
