"""Drill schedules read as crontab(5) reads them, through APScheduler's trigger."""

from __future__ import annotations

import datetime as dt

import pytest

from cslir.opsrepo.cron import CronError, cron_trigger, weekday_names

FRIDAY = dt.datetime(2026, 12, 4, 0, 0, tzinfo=dt.UTC)  # 08:00 on Friday in Shanghai


def next_fire(expression: str, zone: str = "Asia/Shanghai") -> str:
    fire = cron_trigger(expression, zone).get_next_fire_time(None, FRIDAY)
    assert fire is not None
    return fire.isoformat()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 10 * * 2", "2026-12-08T10:00:00+08:00"),  # Tuesday (from_crontab: Wednesday)
        ("0 10 * * 0", "2026-12-06T10:00:00+08:00"),  # Sunday
        ("0 10 * * 7", "2026-12-06T10:00:00+08:00"),  # Sunday again
        ("0 10 * * 6", "2026-12-05T10:00:00+08:00"),  # Saturday
        ("0 10 * * 1-5", "2026-12-04T10:00:00+08:00"),  # weekdays: today still
        ("0 7 * * 1-5", "2026-12-07T07:00:00+08:00"),  # 07:00 today has passed: Monday
        ("0 10 * * */2", "2026-12-05T10:00:00+08:00"),  # Sun, Tue, Thu, Sat
        ("0 10 * * tue", "2026-12-08T10:00:00+08:00"),  # names mean the same to both
        ("0 10 1 1,4,7,10 *", "2027-01-01T10:00:00+08:00"),  # quarterly
    ],
)
def test_next_fire_follows_crontab_weekdays(expression: str, expected: str) -> None:
    assert next_fire(expression) == expected


def test_the_time_zone_is_the_schedules_own() -> None:
    assert next_fire("0 10 * * 2", "Europe/London") == "2026-12-08T10:00:00+00:00"


@pytest.mark.parametrize(
    ("field", "names"),
    [("0", "sun"), ("7", "sun"), ("0,7", "sun"), ("1-3", "mon,tue,wed"), ("5-7", "fri,sat,sun"),
     ("1-5/2", "mon,wed,fri"), ("*", "sun,mon,tue,wed,thu,fri,sat"), ("mon-fri", "mon-fri")],
)  # fmt: skip
def test_weekday_numbers_become_names(field: str, names: str) -> None:
    assert weekday_names(field) == names


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("99 99 * * *", "'99 99 * * *': minute '99' is not valid: Error validating expression "
                        "'99': the last value (99) is higher than the maximum value (59)"),
        ("0 24 * * *", "'0 24 * * *': hour '24' is not valid: Error validating expression '24': "
                       "the last value (24) is higher than the maximum value (23)"),
        ("0 10 * * 8", "weekday 8 is out of range 0-7 in '8'"),
        ("0 10 * * 5-2", "weekday range '5-2' runs backwards in '5-2'"),
        ("0 10 * * */0", "step 0 in weekday field '*/0'"),
        ("0 10 * *", "'0 10 * *' has 4 field(s); a cron expression has five "
                     "(minute hour day month weekday)"),
    ],
)  # fmt: skip
def test_bad_expressions_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        cron_trigger(expression, "Asia/Shanghai")
    assert str(caught.value) == message
