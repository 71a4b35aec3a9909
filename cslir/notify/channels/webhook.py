"""Generic outgoing webhook signed per Standard Webhooks v1 (notifiers.md §8)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from cslir.notify.channels.common import (
    JsonObject,
    fit,
    post_json,
    require_url,
    rfc3339,
    title_of,
    to_json,
    unix_seconds,
    with_drill_line,
)
from cslir.notify.channels.judging import http_failure
from cslir.notify.channels.model import HttpRequest, Message, Outcome, Target

BODY_LIMIT = 20_000  # bytes; the spec's "keep it under ~20 KB", read as 20,000 to be safe
SECRET_PREFIX = "whsec_"


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}`` with the decoded key."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    # The reference library pads unpadded base64 the same way; extra padding is ignored.
    key = base64.b64decode(encoded + "==")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def payload(message: Message, text: str, now: datetime, target: Target) -> JsonObject:
    event_type = "incident.triggered" if message.event == "trigger" else "incident.resolved"
    return {
        "type": event_type,
        "timestamp": rfc3339(now),
        "data": {
            "run_id": message.run_id,
            "event": message.event,
            "severity": message.severity,
            "drill": message.drill,
            "title": title_of(message),
            "text": text,
            "link": message.link,
            "dedup_key": message.dedup_key,
            "mentions": {
                "mobiles": list(target.mention_mobiles),
                "user_ids": list(target.mention_user_ids),
                "all": target.mention_all,
            },
        },
    }


def build(target: Target, message: Message, *, now: datetime, idempotency_key: str) -> HttpRequest:
    # The spec forbids "." in the id: it separates the parts of the signed content.
    if "." in idempotency_key:
        raise ValueError("a Standard Webhooks id must not contain '.'")

    def fits(candidate: str) -> bool:
        return len(to_json(payload(message, candidate, now, target))) <= BODY_LIMIT

    text = fit(message, with_drill_line(message), fits)
    request = post_json(require_url(target), payload(message, text, now, target))
    # webhook-id stays the same on every retry; webhook-timestamp is this attempt's.
    timestamp = unix_seconds(now)
    headers = {"webhook-id": idempotency_key, "webhook-timestamp": str(timestamp)}
    if target.secret:  # without a secret the receiver gets an unsigned, still well-formed call
        headers["webhook-signature"] = signature(
            target.secret, idempotency_key, timestamp, request.body
        )
    request.headers.update(headers)
    return request


def judge(status: int, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Outcome:
    # Standard Webhooks: any 2xx is success; 3xx, 410 and other 4xx are not retried.
    failure = http_failure(status, headers, body, now=now)
    if failure is not None:
        return failure
    return Outcome(ok=True, retryable=False, retry_after=None, detail=f"HTTP {status}")
