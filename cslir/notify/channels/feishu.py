"""Feishu / Lark custom bot with signature verification (notifiers.md §3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from cslir.notify.channels.common import (
    DRILL_LINE,
    LINK_LABEL,
    JsonObject,
    footer,
    post_json,
    require_url,
    shrink,
    title_of,
    to_json,
    truncation_marker,
    unix_seconds,
)
from cslir.notify.channels.judging import body_code_judge
from cslir.notify.channels.model import HttpRequest, Message, Outcome, Target

BODY_LIMIT = 20_000  # "request body <= 20 KB", read as 20,000 bytes to be safe (code 9499)
FORMATS = ("post", "card")
# 11232 is "frequency limited" (100/min, 5/s per bot, worse on the hour); retry after a backoff.
# 19021 (sign or timestamp), 19022 (IP), 19024 (keyword), 19001 (bad hook), 9499 are permanent.
RETRY_CODES: dict[int, float | None] = {11232: None}
_HEADER_COLOURS = {"critical": "red", "error": "orange", "warning": "yellow", "info": "blue"}


def sign(secret: str, timestamp: int) -> str:
    """Base64 HMAC-SHA256 with key = "{timestamp}\\n{secret}" and an EMPTY message.

    The reverse of DingTalk's arrangement (key = secret); mixing them up gives code 19021.
    Not URL-encoded: the value travels in the JSON body.
    """
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def _user_ids(target: Target) -> list[str]:
    return [*target.mention_user_ids, *(["all"] if target.mention_all else [])]


def _post(target: Target, message: Message, body: str) -> JsonObject:
    lines: list[list[JsonObject]] = []
    if message.drill:
        lines.append([{"tag": "text", "text": DRILL_LINE}])
    lines += [[{"tag": "text", "text": line}] for line in body.split("\n")]
    if message.link:
        lines.append([{"tag": "a", "text": LINK_LABEL, "href": message.link}])
    lines.append([{"tag": "text", "text": footer(message)}])
    if mentions := _user_ids(target):
        lines.append([{"tag": "at", "user_id": user} for user in mentions])
    post = {"zh_cn": {"title": title_of(message), "content": lines}}
    return {"msg_type": "post", "content": {"post": post}}


def _card(target: Target, message: Message, body: str) -> JsonObject:
    parts = [f"**{DRILL_LINE}**"] if message.drill else []
    parts.append(body)
    if message.link:
        parts.append(f"[{LINK_LABEL}]({message.link})")
    parts.append(footer(message))
    if mentions := _user_ids(target):
        parts.append(" ".join(f"<at id={user}></at>" for user in mentions))
    colour = "grey" if message.event == "resolve" else _HEADER_COLOURS[message.severity]
    card = {
        "config": {"wide_screen_mode": True},
        "header": {
            "title": {"tag": "plain_text", "content": title_of(message)},
            "template": colour,
        },
        "elements": [{"tag": "markdown", "content": "\n\n".join(parts)}],
    }
    # The card is an object in the top-level `card` field, not a JSON string inside `content`.
    return {"msg_type": "interactive", "card": card}


def _payload(target: Target, message: Message, body: str, now: datetime) -> JsonObject:
    kind = target.format or "post"
    if kind not in FORMATS:
        raise ValueError(f"route {target.name!r} (feishu): format must be post or card")
    content = _post(target, message, body) if kind == "post" else _card(target, message, body)
    if not target.secret:
        return content
    # The signature sits in the body, next to msg_type; the timestamp is in seconds, a string.
    timestamp = unix_seconds(now)
    return {"timestamp": str(timestamp), "sign": sign(target.secret, timestamp), **content}


def build(target: Target, message: Message, *, now: datetime, idempotency_key: str) -> HttpRequest:
    body = shrink(
        message.text,
        truncation_marker(message),
        lambda c: len(to_json(_payload(target, message, c, now))) <= BODY_LIMIT,
    )
    return post_json(require_url(target), _payload(target, message, body, now))


def judge(status: int, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Outcome:
    # Feishu answers HTTP 200 with {"code": N}; older deployments only send {"StatusCode": N}.
    return body_code_judge(
        status,
        headers,
        body,
        now=now,
        code_fields=("code", "StatusCode"),
        message_fields=("msg", "StatusMessage"),
        retry_codes=RETRY_CODES,
    )
