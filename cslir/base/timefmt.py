"""Times are stored in UTC and shown in the configured zone (default: the machine's).

``utcnow`` is the one wall clock: every collaborator that takes a clock defaults to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def zone(name: str | None) -> tzinfo | None:
    return ZoneInfo(name) if name else None


def local_text(moment: datetime, tz_name: str | None) -> str:
    """e.g. ``2026-11-29 11:04 CST (+08:00)``."""
    local = moment.astimezone(zone(tz_name)) if tz_name else moment.astimezone()
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({offset[:3]}:{offset[3:]})"
