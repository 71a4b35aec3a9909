"""Rules for reading answers that several channels share (notifiers.md §11)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

from cslir.notify.channels.model import Outcome

# notifiers.md §11: request timeout, throttling and server errors are worth another attempt.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_DETAIL_MAX = 160


class Judge(Protocol):
    """A channel's reading of one answer (``now`` dates an HTTP-date Retry-After)."""

    def __call__(
        self, status: int, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> Outcome: ...


def header(headers: Mapping[str, str], name: str) -> str | None:
    """HTTP header names are case-insensitive; a plain Mapping is not."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """RFC 9110 §10.2.3: delay-seconds or an HTTP-date; a past date means "now" (0.0).

    Fractional seconds are accepted although the RFC only allows digits, since some proxies
    send them; anything unparseable is ignored (None) rather than trusted.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def short_text(body: bytes) -> str:
    """The start of a body as one printable line, for an Outcome's detail."""
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"


def http_failure(
    status: int, headers: Mapping[str, str], body: bytes, *, now: datetime
) -> Outcome | None:
    """The verdict on any non-2xx answer, shared by every channel; None for a 2xx."""
    if 200 <= status < 300:
        return None
    detail = f"HTTP {status}"
    if text := short_text(body):
        detail += f": {text}"
    if status in RETRYABLE_STATUSES:
        retry_after = parse_retry_after(header(headers, "Retry-After"), now=now)
        return Outcome(ok=False, retryable=True, retry_after=retry_after, detail=detail)
    if 300 <= status < 400:
        # Standard Webhooks: a redirect is a failure; send() never follows one, since the
        # signed body and the secret URL must not travel to another host.
        detail += " (redirect not followed)"
    elif status == 410:
        detail += " (gone: disable this destination)"
    return Outcome(ok=False, retryable=False, retry_after=None, detail=detail)


def json_object(body: bytes) -> dict[str, object] | None:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def errcode_judge(retry_codes: Mapping[int, float | None]) -> Judge:
    """DingTalk's and WeCom's judge: ``errcode`` and ``errmsg`` in an HTTP 200 answer."""
    return body_code_judge(("errcode",), ("errmsg",), retry_codes)


def body_code_judge(
    code_fields: tuple[str, ...],
    message_fields: tuple[str, ...],
    retry_codes: Mapping[int, float | None],
) -> Judge:
    """The judge of a China IM bot, which answers HTTP 200 with an error code in the JSON body.

    notifiers.md §0.1: success is code == 0, never errmsg text, and a body without the code is
    a failure. It is not retried: such a body usually comes from a proxy or captive page, and
    the route's fallback should page instead. ``retry_codes`` maps each retryable code to the
    vendor's minimum wait (or None); every other code is permanent. A ``Retry-After`` header
    can only lengthen the wait.
    """

    def judge(status: int, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Outcome:
        return _body_code(status, headers, body, now, code_fields, message_fields, retry_codes)

    return judge


def _body_code(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    code_fields: tuple[str, ...],
    message_fields: tuple[str, ...],
    retry_codes: Mapping[int, float | None],
) -> Outcome:
    failure = http_failure(status, headers, body, now=now)
    if failure is not None:
        return failure
    answer = json_object(body)
    code = None if answer is None else int_field(answer, *code_fields)
    if answer is None or code is None:
        detail = f"HTTP {status} without {code_fields[0]}: {short_text(body)}".rstrip(": ")
        return Outcome(ok=False, retryable=False, retry_after=None, detail=detail)
    vendor_message = short_text(str_field(answer, *message_fields).encode())
    detail = f"HTTP {status} {code_fields[0]} {code}: {vendor_message}".rstrip(": ")
    if code == 0:
        return Outcome(ok=True, retryable=False, retry_after=None, detail=detail)
    if code in retry_codes:
        header_wait = parse_retry_after(header(headers, "Retry-After"), now=now)
        waits = [w for w in (retry_codes[code], header_wait) if w is not None]
        wait = max(waits, default=None)
        return Outcome(ok=False, retryable=True, retry_after=wait, detail=detail)
    return Outcome(ok=False, retryable=False, retry_after=None, detail=detail)


def int_field(obj: Mapping[str, object], *names: str) -> int | None:
    """The first of ``names`` present as an integer (bool excluded)."""
    for name in names:
        value = obj.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def str_field(obj: Mapping[str, object], *names: str) -> str:
    for name in names:
        value = obj.get(name)
        if isinstance(value, str):
            return value
    return ""
