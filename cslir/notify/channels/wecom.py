"""WeCom group robot, "消息推送" (notifiers.md §2); unsigned, the URL's ``key`` is the secret."""

from __future__ import annotations

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
    truncation_marker,
    utf8_len,
)
from cslir.notify.channels.judging import body_code_judge
from cslir.notify.channels.model import HttpRequest, Message, Outcome, Target

# Limits on the `content` field, in UTF-8 bytes (errcode 40058 beyond them).
CONTENT_LIMITS = {"markdown": 4096, "text": 2048}
FORMATS = ("markdown", "text")
# errcode -> minimum wait: -1 is "system busy" (retry at most 3 times); 45009 is the API
# frequency limit (20 messages a minute per robot), so wait for the minute to roll over.
# 40058 (too long / invalid), 40008 (bad msgtype), 93000 (robot removed) are permanent.
RETRY_CODES: dict[int, float | None] = {-1: None, 45009: 60.0}


def msgtype(target: Target) -> str:
    """The msgtype actually sent.

    Markdown can only mention user ids, through ``<@userid>`` in the content; it has no
    mentioned_mobile_list and no @all. A page that pings nobody is worse than plain text, so a
    route that mentions phone numbers or everyone is sent as text.
    """
    wanted = target.format or "markdown"
    if wanted not in FORMATS:
        raise ValueError(f"route {target.name!r} (wecom): format must be markdown or text")
    if wanted == "markdown" and (target.mention_mobiles or target.mention_all):
        return "text"
    return wanted


def _markdown(target: Target, message: Message, body: str) -> str:
    parts = [f"### {title_of(message)}"]
    if message.drill:
        parts.append(f'<font color="warning">{DRILL_LINE}</font>')
    parts.append(body)
    if message.link:
        parts.append(f"[{LINK_LABEL}]({message.link})")
    parts.append(f'<font color="comment">{footer(message)}</font>')
    if target.mention_user_ids:
        parts.append(" ".join(f"<@{user}>" for user in target.mention_user_ids))
    return "\n".join(parts)


def _text(message: Message, body: str) -> str:
    parts = [title_of(message)]
    if message.drill:
        parts.append(DRILL_LINE)
    parts.append(body)
    if message.link:
        parts.append(f"{LINK_LABEL}: {message.link}")
    parts.append(footer(message))
    return "\n".join(parts)


def _content(target: Target, message: Message, kind: str, body: str) -> str:
    return _markdown(target, message, body) if kind == "markdown" else _text(message, body)


def build(target: Target, message: Message, *, now: datetime, idempotency_key: str) -> HttpRequest:
    kind = msgtype(target)
    body = shrink(
        message.text,
        truncation_marker(message),
        lambda c: utf8_len(_content(target, message, kind, c)) <= CONTENT_LIMITS[kind],
    )
    section: JsonObject = {"content": _content(target, message, kind, body)}
    if kind == "text":
        mentioned = [*target.mention_user_ids, *(["@all"] if target.mention_all else [])]
        if mentioned:
            section["mentioned_list"] = mentioned
        if target.mention_mobiles:
            section["mentioned_mobile_list"] = list(target.mention_mobiles)
    return post_json(require_url(target), {"msgtype": kind, kind: section})


def judge(status: int, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Outcome:
    # WeCom answers HTTP 200 even on failure: success is errcode == 0.
    return body_code_judge(
        status,
        headers,
        body,
        now=now,
        code_fields=("errcode",),
        message_fields=("errmsg",),
        retry_codes=RETRY_CODES,
    )
