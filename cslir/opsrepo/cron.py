"""Drill schedules: five-field cron expressions read the way crontab(5) reads them.

APScheduler's ``CronTrigger.from_crontab`` numbers weekdays from Monday (0 is Monday), while
crontab(5) numbers them from Sunday (0 and 7 are Sunday): handed over as it is, "0 10 * * 2"
would fire on Wednesdays instead of Tuesdays. The weekday field is rewritten into day names
before APScheduler sees it. APScheduler is imported only when a schedule is read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMERIC = re.compile(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?")


class CronError(ValueError):
    """A schedule that is not a valid five-field cron expression; the message says why."""


def weekday_names(field: str) -> str:
    """crontab(5)'s weekday field with its numbers turned into day names APScheduler reads."""
    out: list[str] = []
    for part in field.split(","):
        m = _NUMERIC.fullmatch(part)
        if m is None:  # names (mon-fri) mean the same to both; anything else is judged later
            out.append(part)
            continue
        span, step = m.group(1), int(m.group(2) or 1)
        if step == 0:
            raise CronError(f"step 0 in weekday field '{field}'")
        first, last = (0, 6) if span == "*" else _bounds(span, field)
        out += [DAY_NAMES[d % 7] for d in range(first, last + 1, step)]
    return ",".join(dict.fromkeys(out))  # 0 and 7 are both Sunday: name it once


def _bounds(span: str, field: str) -> tuple[int, int]:
    first, _, last = span.partition("-")
    lo, hi = int(first), int(last or first)
    if not 0 <= lo <= 7 or not 0 <= hi <= 7:
        raise CronError(f"weekday {max(lo, hi)} is out of range 0-7 in '{field}'")
    if hi < lo:
        raise CronError(f"weekday range '{span}' runs backwards in '{field}'")
    return lo, hi


def cron_trigger(expression: str, timezone: str | dt.tzinfo) -> CronTrigger:
    """The APScheduler trigger for a crontab(5) expression in a time zone, or ``CronError``."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise CronError(
            f"'{expression}' has {len(fields)} field(s); a cron expression has five "
            "(minute hour day month weekday)"
        )
    names = ("minute", "hour", "day", "month", "day_of_week")
    values = dict(zip(names, [*fields[:4], weekday_names(fields[4])], strict=True))
    for name, shown, value in zip(names, fields, values.values(), strict=True):
        try:  # one field at a time, so the message names the field that is wrong
            CronTrigger(**{name: value}, timezone=dt.UTC)
        except ValueError as e:
            field = name.replace("_", " ").replace("day of week", "weekday")
            raise CronError(f"'{expression}': {field} '{shown}' is not valid: {e}") from None
    return CronTrigger(**values, timezone=timezone)
