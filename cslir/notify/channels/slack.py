"""Slack incoming webhook (notifiers.md §4); the credential is the URL's path."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from cslir.notify.channels.common import LINK_LABEL, Markup, compose_to_fit, post_json, require_url
from cslir.notify.channels.judging import http_failure, short_text
from cslir.notify.channels.model import HttpRequest, Message, Outcome, Target

# Slack truncates `text` past 40,000 characters and recommends at most 4,000; a page should be
# read at a glance, so the recommendation is the limit (characters, not bytes).
TEXT_LIMIT = 4_000


def escape(text: str) -> str:
    # Slack mrkdwn treats &, < and > as control characters; escaping them also stops a message
    # body from smuggling in <!channel>.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


MARKUP = Markup(
    title=lambda title: f"*{escape(title)}*",
    drill=lambda line: f"_{line}_",
    link=lambda url: f"<{url}|{LINK_LABEL}>",
)


def build(target: Target, message: Message, *, now: datetime, idempotency_key: str) -> HttpRequest:
    mentions = [f"<@{user}>" for user in target.mention_user_ids]
    if target.mention_all:
        mentions.append("<!channel>")
    text = compose_to_fit(
        MARKUP, message, lambda t: len(t) <= TEXT_LIMIT, mentions, text=escape(message.text)
    )
    return post_json(require_url(target), {"text": text})


def judge(status: int, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Outcome:
    # Slack: "interpret HTTP 200 as success and any other response code as a failure"; errors
    # carry a plain-text code (channel_not_found, ...) that http_failure puts in the detail.
    failure = http_failure(status, headers, body, now=now)
    if failure is not None:
        return failure
    detail = f"HTTP {status}: {short_text(body)}".rstrip(": ")
    ok = status == 200
    return Outcome(ok=ok, retryable=False, retry_after=None, detail=detail)
