"""WeCom group robot, "消息推送" (notifiers.md §2); unsigned, the URL's ``key`` is the secret."""

from __future__ import annotations

from datetime import datetime

from cslir.notify.channels.common import (
    JsonObject,
    Markup,
    compose_to_fit,
    plain_link,
    post_json,
    require_url,
    utf8_len,
)
from cslir.notify.channels.judging import Judge, errcode_judge
from cslir.notify.channels.model import HttpRequest, Message, Target

# Limits on the `content` field, in UTF-8 bytes (errcode 40058 beyond them).
CONTENT_LIMITS = {"markdown": 4096, "text": 2048}
FORMATS = ("markdown", "text")
# errcode -> minimum wait: -1 is "system busy" (retry at most 3 times); 45009 is the API
# frequency limit (20 messages a minute per robot), so wait for the minute to roll over.
# 40058 (too long / invalid), 40008 (bad msgtype), 93000 (robot removed) are permanent.
RETRY_CODES: dict[int, float | None] = {-1: None, 45009: 60.0}
MARKDOWN = Markup(
    title=lambda title: f"### {title}",
    drill=lambda line: f'<font color="warning">{line}</font>',
    footer=lambda text: f'<font color="comment">{text}</font>',
)
TEXT = Markup(link=plain_link)  # plain lines; mentions travel in mentioned_list, not the content


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


def _content(target: Target, message: Message, kind: str) -> str:
    if kind == "text":
        markup, mentions = TEXT, []
    else:
        markup, mentions = MARKDOWN, [f"<@{user}>" for user in target.mention_user_ids]
    limit = CONTENT_LIMITS[kind]
    return compose_to_fit(markup, message, lambda text: utf8_len(text) <= limit, mentions)


def build(target: Target, message: Message, *, now: datetime, idempotency_key: str) -> HttpRequest:
    kind = msgtype(target)
    section: JsonObject = {"content": _content(target, message, kind)}
    if kind == "text":
        mentioned = [*target.mention_user_ids, *(["@all"] if target.mention_all else [])]
        if mentioned:
            section["mentioned_list"] = mentioned
        if target.mention_mobiles:
            section["mentioned_mobile_list"] = list(target.mention_mobiles)
    return post_json(require_url(target), {"msgtype": kind, kind: section})


# WeCom answers HTTP 200 even on failure: success is errcode == 0.
judge: Judge = errcode_judge(RETRY_CODES)
