"""Slack incoming webhook (notifiers.md §4); the credential is the URL's path."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from cslir.notify.channels.common import (
    DRILL_LINE,
    LINK_LABEL,
    footer,
    post_json,
    require_url,
    shrink,
    title_of,
    truncation_marker,
)
from cslir.notify.channels.judging import http_failure, short_text
from cslir.notify.channels.model import HttpRequest, Message, Outcome, Target

# Slack truncates `text` past 40,000 characters and recommends at most 4,000; a page should be
# read at a glance, so the recommendation is the limit (characters, not bytes).
TEXT_LIMIT = 4_000


def escape(text: str) -> str:
    # Slack mrkdwn treats &, < and > as control characters; escaping them also stops a message
    # body from smuggling in <!channel>.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mentions(target: Target) -> str:
    tokens = [f"<@{user}>" for user in target.mention_user_ids]
    if target.mention_all:
        tokens.append("<!channel>")
    return " ".join(tokens)


def _compose(target: Target, message: Message, body: str) -> str:
    parts = [f"*{escape(title_of(message))}*"]
    if message.drill:
        parts.append(f"_{DRILL_LINE}_")
    parts.append(body)
    if message.link:
        parts.append(f"<{message.link}|{LINK_LABEL}>")
    parts.append(footer(message))
    if mentions := _mentions(target):
        parts.append(mentions)
    return "\n".join(parts)


def build(target: Target, message: Message, *, now: datetime, idempotency_key: str) -> HttpRequest:
    body = shrink(
        escape(message.text),
        truncation_marker(message),
        lambda candidate: len(_compose(target, message, candidate)) <= TEXT_LIMIT,
    )
    return post_json(require_url(target), {"text": _compose(target, message, body)})


def judge(status: int, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Outcome:
    # Slack: "interpret HTTP 200 as success and any other response code as a failure"; errors
    # carry a plain-text code (channel_not_found, ...) that http_failure puts in the detail.
    failure = http_failure(status, headers, body, now=now)
    if failure is not None:
        return failure
    detail = f"HTTP {status}: {short_text(body)}".rstrip(": ")
    ok = status == 200
    return Outcome(ok=ok, retryable=False, retry_after=None, detail=detail)
