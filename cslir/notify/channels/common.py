"""Helpers every channel builder shares: JSON bytes, drill marking, truncation, clocks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cslir import __version__
from cslir.notify.channels.model import HttpRequest, Message, Target

# notifiers.md §0.4: the China bots reject `\uXXXX`-inflated bodies by size, so keep UTF-8 bytes.
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
USER_AGENT = f"cslir/{__version__}"

DRILL_PREFIX = "[DRILL] "
RESOLVED_PREFIX = "[RESOLVED] "
DRILL_LINE = "DRILL (演练): this is an exercise, not a real incident."
LINK_LABEL = "Details"
TITLE_MAX = 150  # characters; a title is a headline, the body carries the rest

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

JsonObject = dict[str, object]


def to_json(payload: JsonObject) -> bytes:
    """Compact UTF-8 JSON; CJK stays as UTF-8 bytes rather than ``\\u`` escapes."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def post_json(url: str, payload: JsonObject, **extra_headers: str) -> HttpRequest:
    headers = {"Content-Type": JSON_CONTENT_TYPE, "User-Agent": USER_AGENT, **extra_headers}
    return HttpRequest("POST", url, headers, to_json(payload))


def require_url(target: Target) -> str:
    if not target.url:
        raise ValueError(f"route {target.name!r} ({target.channel}) has no url")
    return target.url


def clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def title_of(message: Message, max_chars: int = TITLE_MAX) -> str:
    """The headline, marked for drills and resolutions so nobody mistakes either for a page."""
    prefix = (DRILL_PREFIX if message.drill else "") + (
        RESOLVED_PREFIX if message.event == "resolve" else ""
    )
    return prefix + clip(message.title, max_chars - len(prefix))


def footer(message: Message) -> str:
    # notifiers.md §11: IM bots have no idempotency, so the run id lets humans spot duplicates.
    return f"cslir run {message.run_id}"


def truncation_marker(message: Message) -> str:
    return f"… [truncated; see cslir status {message.run_id}]"


def shrink(text: str, marker: str, fits: Callable[[str], bool]) -> str:
    """The longest prefix of ``text`` (plus ``marker``) for which ``fits`` holds.

    ``fits`` renders the whole request around a candidate body and measures it the way the
    channel does (UTF-8 bytes or characters), so JSON escaping is accounted for exactly. Size
    grows with the prefix length, so a binary search finds the cut; slicing a ``str`` always
    cuts on a character boundary. If even the marker alone does not fit, the marker is
    returned: the fixed parts (title, mentions) are then too large and no body can help.
    """
    if fits(text):
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle] + marker):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + marker


def unix_seconds(now: datetime) -> int:
    return unix_millis(now) // 1000


def unix_millis(now: datetime) -> int:
    """Exact integer milliseconds; a naive ``now`` would silently mean local time."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return (now - _EPOCH) // timedelta(milliseconds=1)


def rfc3339(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
