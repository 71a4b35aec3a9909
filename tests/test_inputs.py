"""Typed input values as a responder types them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cslir.engine.inputs import InputValueError, parse_value

NOW = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 hours ago", datetime(2026, 11, 28, 23, 0, tzinfo=UTC)),
        ("2h ago", datetime(2026, 11, 28, 23, 0, tzinfo=UTC)),
        ("30 min ago", datetime(2026, 11, 29, 0, 30, tzinfo=UTC)),
        ("now-45m", datetime(2026, 11, 29, 0, 15, tzinfo=UTC)),
        ("1 day ago", datetime(2026, 11, 28, 1, 0, tzinfo=UTC)),
        ("2026-11-29T08:10+08:00", datetime(2026, 11, 29, 0, 10, tzinfo=UTC)),
    ],
)
def test_a_discovery_time_may_be_written_relative_or_absolute(
    text: str, expected: datetime
) -> None:
    assert parse_value("datetime", text, now=NOW) == expected


def test_a_discovery_time_in_the_future_is_refused() -> None:
    with pytest.raises(InputValueError, match="lies in the future"):
        parse_value("datetime", "2026-11-29T03:00Z", now=NOW)


def test_a_naive_time_is_read_in_the_configured_zone() -> None:
    from zoneinfo import ZoneInfo

    got = parse_value("datetime", "2026-11-29 08:30", now=NOW, tz=ZoneInfo("Asia/Shanghai"))
    assert got == datetime(2026, 11, 29, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["-5", -1, "-1,200"])
def test_a_count_below_zero_is_refused(raw: object) -> None:
    with pytest.raises(InputValueError, match="is below zero; give a count, 0 or more"):
        parse_value("int", raw)
