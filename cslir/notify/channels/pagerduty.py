"""PagerDuty Events API v2 (notifiers.md §6): trigger and resolve on a stable dedup_key."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime

from cslir.notify.channels.common import (
    LINK_LABEL,
    JsonObject,
    fit,
    post_json,
    title_of,
    to_json,
    with_drill_line,
)
from cslir.notify.channels.judging import http_failure, short_text
from cslir.notify.channels.model import HttpRequest, Message, Outcome, Target

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"  # a route's url overrides it (EU region)
SUMMARY_LIMIT = 1024  # characters of payload.summary
DEDUP_KEY_LIMIT = 255  # characters of dedup_key
BODY_LIMIT = 512 * 1024  # bytes of the whole event
SOURCE = "cslir"


def dedup_key(message: Message) -> str:
    """The message's key, or a stable digest of it when it is too long for PagerDuty.

    Truncating alone could merge two steps' alerts; a digest keeps trigger and resolve paired.
    """
    key = message.dedup_key
    if len(key) <= DEDUP_KEY_LIMIT:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return key[: DEDUP_KEY_LIMIT - len(digest) - 1] + ":" + digest


def _trigger(routing_key: str, message: Message, details: str, now: datetime) -> JsonObject:
    event: JsonObject = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(message),
        "payload": {
            "summary": title_of(message, SUMMARY_LIMIT),
            "source": SOURCE,
            "severity": message.severity,
            "timestamp": now.astimezone(UTC).isoformat(timespec="milliseconds"),
            "custom_details": {"run_id": message.run_id, "drill": message.drill, "text": details},
        },
        "client": SOURCE,
    }
    if message.link:
        event["links"] = [{"href": message.link, "text": LINK_LABEL}]
    return event


def build(target: Target, message: Message, *, now: datetime, idempotency_key: str) -> HttpRequest:
    # The routing key in the body is the only credential; there is no auth header.
    routing_key = target.routing_key
    if not routing_key:
        raise ValueError(f"route {target.name!r} (pagerduty) has no routing_key")
    url = target.url or EVENTS_URL
    if message.event == "resolve":
        # A resolve carries only the key, the action and the dedup_key.
        resolve: JsonObject = {
            "routing_key": routing_key,
            "dedup_key": dedup_key(message),
            "event_action": "resolve",
        }
        return post_json(url, resolve)

    def fits(candidate: str) -> bool:
        return len(to_json(_trigger(routing_key, message, candidate, now))) <= BODY_LIMIT

    details = fit(message, with_drill_line(message), fits)
    return post_json(url, _trigger(routing_key, message, details, now))


def judge(status: int, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Outcome:
    # 202 means accepted; 400 (invalid event) is permanent; 429 and 5xx are retried.
    failure = http_failure(status, headers, body, now=now)
    if failure is not None:
        return failure
    detail = f"HTTP {status}: {short_text(body)}".rstrip(": ")
    if status != 202:
        return Outcome(ok=False, retryable=False, retry_after=None, detail=detail + " (not 202)")
    return Outcome(ok=True, retryable=False, retry_after=None, detail=detail)
