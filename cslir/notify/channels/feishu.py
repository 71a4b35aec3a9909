"""Feishu / Lark custom bot with signature verification (notifiers.md §3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from cslir.notify.channels.common import (
    LINK_LABEL,
    JsonObject,
    Markup,
    compose,
    fit,
    post_json,
    require_url,
    sections,
    title_of,
    to_json,
    unix_seconds,
)
from cslir.notify.channels.judging import Judge, body_code_judge
from cslir.notify.channels.model import HttpRequest, Message, Target

BODY_LIMIT = 20_000  # "request body <= 20 KB", read as 20,000 bytes to be safe (code 9499)
FORMATS = ("post", "card")
# 11232 is "frequency limited" (100/min, 5/s per bot, worse on the hour); retry after a backoff.
# 19021 (sign or timestamp), 19022 (IP), 19024 (keyword), 19001 (bad hook), 9499 are permanent.
RETRY_CODES: dict[int, float | None] = {11232: None}
_HEADER_COLOURS = {"critical": "red", "error": "orange", "warning": "yellow", "info": "blue"}
# The card's markdown element; its title is the card header.
CARD = Markup(title=None, drill=lambda line: f"**{line}**", separator="\n\n")


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
    for part, text in sections(message, body):  # the title is the post's own field
        if part == "body":
            lines += [[{"tag": "text", "text": line}] for line in text.split("\n")]
        elif part == "link":
            lines.append([{"tag": "a", "text": LINK_LABEL, "href": text}])
        elif part != "title":
            lines.append([{"tag": "text", "text": text}])
    if mentions := _user_ids(target):
        lines.append([{"tag": "at", "user_id": user} for user in mentions])
    post = {"zh_cn": {"title": title_of(message), "content": lines}}
    return {"msg_type": "post", "content": {"post": post}}


def _card(target: Target, message: Message, body: str) -> JsonObject:
    mentions = [f"<at id={user}></at>" for user in _user_ids(target)]
    colour = "grey" if message.event == "resolve" else _HEADER_COLOURS[message.severity]
    card = {
        "config": {"wide_screen_mode": True},
        "header": {
            "title": {"tag": "plain_text", "content": title_of(message)},
            "template": colour,
        },
        "elements": [{"tag": "markdown", "content": compose(CARD, message, body, mentions)}],
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
    body = fit(
        message,
        message.text,
        lambda c: len(to_json(_payload(target, message, c, now))) <= BODY_LIMIT,
    )
    return post_json(require_url(target), _payload(target, message, body, now))


# Feishu answers HTTP 200 with {"code": N}; older deployments only send {"StatusCode": N}.
judge: Judge = body_code_judge(("code", "StatusCode"), ("msg", "StatusMessage"), RETRY_CODES)
