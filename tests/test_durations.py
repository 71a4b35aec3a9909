"""Durations, PRC working-day deadlines and spans, against the installed State Council calendar.

The 2026 facts below are those of the installed chinesecalendar data (the State Council notice
of November 2025): National Day and Mid-autumn give 2026-10-01..07 off, with Sunday 2026-09-20
and Saturday 2026-10-10 worked in exchange. ``test_installed_calendar_*`` pin those facts so a
data change fails loudly here rather than silently in a deadline test.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cslir.base.errors import InvalidInput
from cslir.engine.durations import (
    UNITS,
    Deadline,
    Duration,
    DurationError,
    add_duration,
    calendar_years,
    format_span,
    parse_duration,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
REASON_2027 = (
    "the State Council holiday calendar for 2027 is not published in this cslir's calendar "
    "data; counted Monday to Friday"
)


def shanghai(y: int, mo: int, d: int, h: int = 10, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SHANGHAI)


def end_of_shanghai_day(day: date) -> datetime:
    """23:59:59 Asia/Shanghai (UTC+8 since 1991) on ``day``, in UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone(timedelta(hours=8))).astimezone(
        UTC
    )


# Parsing


@pytest.mark.parametrize(
    ("text", "amount", "unit", "canonical"),
    [
        ("30s", 30, "s", "30s"),
        ("30m", 30, "m", "30m"),
        ("4h", 4, "h", "4h"),
        ("30d", 30, "d", "30d"),
        ("10wd", 10, "wd", "10wd"),
        ("  4h\n", 4, "h", "4h"),
        ("007h", 7, "h", "7h"),
    ],
)
def test_parse_duration_reads_every_unit(text: str, amount: int, unit: str, canonical: str) -> None:
    d = parse_duration(text)
    assert d == Duration(amount, unit)
    assert str(d) == canonical


def test_units_are_seconds_minutes_hours_days_and_working_days() -> None:
    assert UNITS == ("s", "m", "h", "d", "wd")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "4 hours",
            "'4 hours' is not a duration: write a number and a unit, as in 30m, 4h, 30d or 10wd",
        ),
        ("4 h", "'4 h' is not a duration: write a number and a unit, as in 30m, 4h, 30d or 10wd"),
        ("", "'' is not a duration: write a number and a unit, as in 30m, 4h, 30d or 10wd"),
        ("h", "'h' is not a duration: write a number and a unit, as in 30m, 4h, 30d or 10wd"),
        ("+4h", "'+4h' is not a duration: write a number and a unit, as in 30m, 4h, 30d or 10wd"),
        ("４h", "'４h' is not a duration: write a number and a unit, as in 30m, 4h, 30d or 10wd"),
        (4.5, "4.5 is not a duration: write a number and a unit, as in 30m, 4h, 30d or 10wd"),
        (None, "None is not a duration: write a number and a unit, as in 30m, 4h, 30d or 10wd"),
        (True, "True is not a duration: write a number and a unit, as in 30m, 4h, 30d or 10wd"),
        ("0h", "'0h' is not a duration: it must be more than zero"),
        ("-4h", "'-4h' is not a duration: it must be more than zero"),
        ("00wd", "'00wd' is not a duration: it must be more than zero"),
        (30, "30 is not a duration: it needs a unit, as in 30m or 4h"),
        (0, "0 is not a duration: it needs a unit, as in 30m or 4h"),
        ("30", "'30' is not a duration: it needs a unit, as in 30m or 4h"),
        ("4x", "'4x' is not a duration: unknown unit 'x' (use s, m, h, d or wd)"),
        ("4H", "'4H' is not a duration: unknown unit 'H' (use s, m, h, d or wd)"),
        ("4hours", "'4hours' is not a duration: unknown unit 'hours' (use s, m, h, d or wd)"),
        ("1.5h", "'1.5h' is not a duration: use a whole number, as in 90m for 1.5h"),
        ("36501d", "'36501d' is not a duration: it must be at most 100 years"),
        ("876001h", "'876001h' is not a duration: it must be at most 100 years"),
    ],
)
def test_parse_duration_explains_each_mistake(value: object, message: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(value)
    assert str(caught.value) == message


def test_parse_duration_accepts_exactly_100_years() -> None:
    assert parse_duration("36500d") == Duration(36500, "d")
    assert parse_duration("876000h") == Duration(876000, "h")


def test_duration_error_is_a_value_error_and_a_user_facing_error() -> None:
    assert issubclass(DurationError, ValueError)
    assert issubclass(DurationError, InvalidInput)


@pytest.mark.parametrize(
    ("amount", "unit"), [(0, "h"), (-1, "h"), (1, "x"), (True, "h"), (1.5, "h")]
)
def test_duration_rejects_invalid_fields(amount: object, unit: str) -> None:
    with pytest.raises(DurationError):
        Duration(amount, unit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("30m", 1800), ("4h", 14400), ("30d", 2592000)]
)
def test_duration_seconds_are_exact(text: str, seconds: int) -> None:
    assert parse_duration(text).seconds == seconds
    assert not parse_duration(text).is_working_days


def test_working_days_have_no_fixed_seconds() -> None:
    d = parse_duration("10wd")
    assert d.is_working_days
    with pytest.raises(ValueError, match=r"^10wd has no fixed length"):
        _ = d.seconds


# The installed calendar


def test_installed_calendar_covers_2004_to_at_least_2026() -> None:
    first, last = calendar_years()
    assert first == 2004
    assert last >= 2026
    chinese_calendar.is_workday(date(last, 12, 31))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(last + 1, 1, 1))


def test_installed_calendar_has_2026_national_day_holiday() -> None:
    national_day = [date(2026, 10, day) for day in range(1, 8)]
    assert all(chinese_calendar.is_holiday(day) for day in national_day)
    assert [day.weekday() for day in national_day] == [3, 4, 5, 6, 0, 1, 2]  # Thu..Wed


def test_installed_calendar_has_2026_adjusted_weekend_workdays() -> None:
    assert date(2026, 9, 20).weekday() == 6  # a Sunday, worked before National Day
    assert date(2026, 10, 10).weekday() == 5  # a Saturday, worked after it
    assert chinese_calendar.is_workday(date(2026, 9, 20))
    assert chinese_calendar.is_workday(date(2026, 10, 10))


# Working-day deadlines


@pytest.mark.parametrize(
    ("n", "day"),
    [
        (1, date(2026, 10, 8)),
        (2, date(2026, 10, 9)),
        (3, date(2026, 10, 10)),
        (4, date(2026, 10, 12)),
    ],
)
def test_working_days_from_2026_09_30_skip_national_day(n: int, day: date) -> None:
    deadline = add_duration(shanghai(2026, 9, 30), Duration(n, "wd"))
    assert deadline == Deadline(end_of_shanghai_day(day), None)


def test_one_working_day_from_2026_09_30_ends_2026_10_08_15_59_59_utc() -> None:
    deadline = add_duration(shanghai(2026, 9, 30), parse_duration("1wd"))
    assert deadline.at == datetime(2026, 10, 8, 15, 59, 59, tzinfo=UTC)
    assert deadline.at.tzinfo is UTC


def test_adjusted_saturday_workday_counts() -> None:
    deadline = add_duration(shanghai(2026, 10, 9), Duration(1, "wd"))
    assert deadline.at == end_of_shanghai_day(date(2026, 10, 10))


def test_adjusted_sunday_workday_counts() -> None:
    deadline = add_duration(shanghai(2026, 9, 19), Duration(1, "wd"))
    assert deadline.at == end_of_shanghai_day(date(2026, 9, 20))


def test_working_days_count_from_the_shanghai_date_of_the_start() -> None:
    just_before_midnight = datetime(2026, 10, 8, 15, 59, 59, tzinfo=UTC)  # Thu 10-08 in Shanghai
    midnight = datetime(2026, 10, 8, 16, 0, 0, tzinfo=UTC)  # already Fri 10-09 in Shanghai
    one = Duration(1, "wd")
    assert add_duration(just_before_midnight, one).at == end_of_shanghai_day(date(2026, 10, 9))
    assert add_duration(midnight, one).at == end_of_shanghai_day(date(2026, 10, 10))


def test_working_days_started_on_a_holiday_count_from_the_next_working_day() -> None:
    deadline = add_duration(shanghai(2026, 10, 3), Duration(1, "wd"))
    assert deadline.at == end_of_shanghai_day(date(2026, 10, 8))


def test_deadline_crossing_into_2027_is_provisional_and_counts_monday_to_friday() -> None:
    # Wed 2026-12-30 + 5wd: Thu 12-31, then 2027 counted Mon-Fri: Fri 01-01 (New Year's Day,
    # surely a holiday once published: hence provisional), Mon 01-04, Tue 01-05, Wed 01-06.
    deadline = add_duration(shanghai(2026, 12, 30), Duration(5, "wd"))
    assert deadline == Deadline(end_of_shanghai_day(date(2027, 1, 6)), REASON_2027)


def test_provisional_reason_names_every_uncovered_year() -> None:
    deadline = add_duration(shanghai(2026, 12, 30), Duration(300, "wd"))
    assert deadline.provisional == (
        "the State Council holiday calendar for 2027 and 2028 is not published in this cslir's "
        "calendar data; counted Monday to Friday"
    )


def test_deadline_before_the_calendar_data_is_provisional() -> None:
    deadline = add_duration(shanghai(2003, 12, 30), Duration(1, "wd"))
    assert deadline.at == end_of_shanghai_day(date(2003, 12, 31))
    assert deadline.provisional == (
        "the State Council holiday calendar for 2003 is not published in this cslir's "
        "calendar data; counted Monday to Friday"
    )


def test_deadline_within_2026_is_not_provisional() -> None:
    assert add_duration(shanghai(2026, 12, 30), Duration(1, "wd")).provisional is None


# Elapsed-time deadlines


def test_hours_from_shanghai_are_exact_utc_arithmetic() -> None:
    deadline = add_duration(shanghai(2026, 9, 30, 22, 30), parse_duration("4h"))
    assert deadline == Deadline(datetime(2026, 9, 30, 18, 30, tzinfo=UTC), None)


def test_days_are_24_hours_even_across_a_dst_change() -> None:
    # New York springs forward on 2026-03-08: one day later is 01:00 local, 24 h elapsed.
    start = datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK)
    deadline = add_duration(start, parse_duration("1d"))
    assert deadline.at == datetime(2026, 3, 8, 17, 0, tzinfo=UTC)
    assert deadline.at - start == timedelta(hours=24)


@pytest.mark.parametrize(("text", "expected"), [("30s", (0, 0, 30)), ("30m", (0, 30, 0))])
def test_seconds_and_minutes_are_exact(text: str, expected: tuple[int, int, int]) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    h, m, s = expected
    assert add_duration(start, parse_duration(text)).at == start + timedelta(
        hours=h, minutes=m, seconds=s
    )


@pytest.mark.parametrize("unit", UNITS)
def test_naive_start_is_rejected(unit: str) -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        add_duration(datetime(2026, 9, 30, 10, 0), Duration(1, unit))


# Spans


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (14340, "3h 59m"),
        (2710, "45m 10s"),
        (187200, "2d 4h"),
        (0, "0s"),
        (0.4, "0s"),
        (-0.4, "0s"),
        (59.9, "59s"),
        (60, "1m"),
        (3600, "1h"),
        (3605, "1h"),
        (86400 + 30, "1d"),
        (400 * 86400, "400d"),
        (-14340, "-3h 59m"),
        (-2710.5, "-45m 10s"),
        (-187200, "-2d 4h"),
    ],
)
def test_format_span(seconds: float, text: str) -> None:
    assert format_span(seconds) == text


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_format_span_rejects_non_finite(value: float) -> None:
    with pytest.raises(ValueError, match="is not a span of time"):
        format_span(value)


# Properties


ZONES = st.sampled_from([UTC, SHANGHAI, NEW_YORK, timezone(timedelta(hours=14))])
STARTS = st.datetimes(
    min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 30), timezones=ZONES
)


def working_days_after(start: date, end: date) -> int:
    """Working days in ``(start, end]``, counted by the calendar library itself (its
    ``get_workdays``, not cslir's day-by-day walk), and Monday to Friday past its last year."""
    last_covered = date(calendar_years()[1], 12, 31)
    first = start + timedelta(days=1)
    covered_end = min(end, last_covered)
    covered = chinese_calendar.get_workdays(first, covered_end) if first <= covered_end else []
    beyond = max(first, last_covered + timedelta(days=1))
    weekdays = [beyond + timedelta(days=i) for i in range((end - beyond).days + 1)]
    return len(covered) + sum(1 for day in weekdays if day.weekday() < 5)


def test_the_independent_count_agrees_with_the_published_calendar() -> None:
    # National Day 2026: Oct 1-7 off, Sat Oct 10 worked; Mon Jan 4 2027 onwards Mon-Fri.
    assert working_days_after(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert working_days_after(date(2026, 9, 30), date(2026, 9, 30)) == 0
    assert working_days_after(date(2026, 12, 30), date(2027, 1, 6)) == 5


@given(start=STARTS, n=st.integers(min_value=1, max_value=60))
def test_working_day_deadlines_are_monotonic_and_land_on_working_days(
    start: datetime, n: int
) -> None:
    deadline = add_duration(start, Duration(n, "wd"))
    later = add_duration(start, Duration(n + 1, "wd"))
    assert deadline.at < later.at
    local = deadline.at.astimezone(SHANGHAI)
    assert local.time() == time(23, 59, 59)
    start_day = start.astimezone(SHANGHAI).date()
    assert working_days_after(start_day, local.date()) == n
    assert working_days_after(start_day, local.date() - timedelta(days=1)) == n - 1
    assert (deadline.provisional is not None) == (local.year > calendar_years()[1])


def test_importing_durations_does_not_load_the_calendar() -> None:
    code = "import sys, cslir.engine.durations; print('chinese_calendar' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    assert result.stdout == "False\n"


def test_a_duration_with_thousands_of_digits_is_a_message_not_a_crash() -> None:
    with pytest.raises(DurationError, match="it must be at most 100 years"):
        parse_duration("9" * 5000 + "h")
