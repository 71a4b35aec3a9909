"""What every channel builder shares: the parts of a message and their order, JSON bytes,
drill marking, truncation, clocks.

Every message says the same things in the same order (``sections``): the title, in a drill the
drill line, the body, the link, the footer, then the mentions. A channel adds only its markup:
a ``Markup`` for the text-based ones (``compose``), or its own elements built over ``sections``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cslir import __version__
from cslir.notify.channels.model import HttpRequest, Message, Target

# notifiers.md §0.4: the China bots reject `\uXXXX`-inflated bodies by size, so keep UTF-8 bytes.
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
USER_AGENT = f"cslir/{__version__}"

# Both languages, first in every title: a reader of either sees at once it is an exercise.
DRILL_PREFIX = "【演练】[DRILL] "
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


def sections(message: Message, body: str) -> list[tuple[str, str]]:
    """``(part, text)`` in the order every channel shows them: title, drill, body, link, footer.

    The drill line only in a drill, the link only when there is one; ``body`` is the message
    text as the channel fitted it. Mentions follow, in each channel's own form.
    """
    parts = [("title", title_of(message))]
    if message.drill:
        parts.append(("drill", DRILL_LINE))
    parts.append(("body", body))
    if message.link:
        parts.append(("link", message.link))
    parts.append(("footer", footer(message)))
    return parts


def plain(text: str) -> str:
    return text


def plain_link(url: str) -> str:
    return f"{LINK_LABEL}: {url}"


def markdown_link(url: str) -> str:
    return f"[{LINK_LABEL}]({url})"


@dataclass(frozen=True)
class Markup:
    """How a text-based channel writes each part; by default plain, with a Markdown link.

    ``title=None`` leaves the title out of the text, for a channel that shows it in a field of
    its own.
    """

    title: Callable[[str], str] | None = plain
    drill: Callable[[str], str] = plain
    link: Callable[[str], str] = markdown_link
    footer: Callable[[str], str] = plain
    separator: str = "\n"


def compose(markup: Markup, message: Message, body: str, mentions: Sequence[str] = ()) -> str:
    """The message as one text: its sections in ``markup``, then the mentions on one line."""
    marks = {
        "title": markup.title,
        "drill": markup.drill,
        "body": plain,
        "link": markup.link,
        "footer": markup.footer,
    }
    lines = [mark(text) for part, text in sections(message, body) if (mark := marks[part])]
    if mentions:
        lines.append(" ".join(mentions))
    return markup.separator.join(lines)


def compose_to_fit(
    markup: Markup,
    message: Message,
    fits: Callable[[str], bool],
    mentions: Sequence[str] = (),
    text: str | None = None,
) -> str:
    """``compose`` with the body (``text``, else the message's) cut until ``fits`` holds."""

    def composed(body: str) -> str:
        return compose(markup, message, body, mentions)

    return composed(
        fit(message, message.text if text is None else text, lambda b: fits(composed(b)))
    )


def with_drill_line(message: Message) -> str:
    """The text of a channel that has no markup: the drill line above it in a drill."""
    return f"{DRILL_LINE}\n\n{message.text}" if message.drill else message.text


def truncation_marker(message: Message) -> str:
    return f"… [truncated; see cslir status {message.run_id}]"


def fit(message: Message, text: str, fits: Callable[[str], bool]) -> str:
    """``text`` cut (and marked) until ``fits`` holds for the request built around it."""
    return shrink(text, truncation_marker(message), fits)


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
