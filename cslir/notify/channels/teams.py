"""Microsoft Teams through a Workflows webhook carrying an Adaptive Card (notifiers.md §5).

The retired Office 365 connector (MessageCard to webhook.office.com) is deliberately not
supported. The Workflows template loops over ``attachments``: a bare card or a legacy
``{"text": ...}`` body fails inside the flow while the caller still sees a success status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from cslir.notify.channels.common import (
    LINK_LABEL,
    JsonObject,
    fit,
    post_json,
    require_url,
    sections,
    to_json,
)
from cslir.notify.channels.judging import http_failure
from cslir.notify.channels.model import HttpRequest, Message, Outcome, Target

# "About 28 KB" per Teams message including the whole card; read as 28,000 bytes of body.
BODY_LIMIT = 28_000
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"  # notifiers.md: keep <= 1.5, 1.4 is the safest
# TextBlock styles of each part; the link is the card's action, not a block.
_STYLES: dict[str, JsonObject] = {
    "title": {"weight": "Bolder", "size": "Medium"},
    "drill": {"color": "Warning"},
    "body": {},
    "footer": {"isSubtle": True},
}


def _text_block(text: str, **style: object) -> JsonObject:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def card(target: Target, message: Message, body: str) -> JsonObject:
    urgent = message.severity in {"critical", "error"} and message.event == "trigger"
    attention: JsonObject = {"color": "Attention"} if urgent else {}
    blocks = [
        _text_block(text, **_STYLES[part], **(attention if part == "title" else {}))
        for part, text in sections(message, body)
        if part != "link"
    ]
    # Each mention entity's text must match an <at>...</at> in a TextBlock exactly.
    tags = [f"<at>{user}</at>" for user in target.mention_user_ids]
    if tags:
        blocks.append(_text_block(" ".join(tags)))
    content: JsonObject = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": blocks,
    }
    if message.link:
        content["actions"] = [{"type": "Action.OpenUrl", "title": LINK_LABEL, "url": message.link}]
    if tags:
        content["msteams"] = {
            "entities": [
                {"type": "mention", "text": tag, "mentioned": {"id": user, "name": user}}
                for tag, user in zip(tags, target.mention_user_ids, strict=True)
            ]
        }
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": content,
    }
    return {"type": "message", "attachments": [attachment]}


def build(target: Target, message: Message, *, now: datetime, idempotency_key: str) -> HttpRequest:
    body = fit(
        message, message.text, lambda c: len(to_json(card(target, message, c))) <= BODY_LIMIT
    )
    return post_json(require_url(target), card(target, message, body))


def judge(status: int, headers: Mapping[str, str], body: bytes, *, now: datetime) -> Outcome:
    # Workflows answers 202 Accepted with an empty body once the flow run is queued; the run
    # itself can still fail later and that cannot be seen from here. Any 2xx counts.
    failure = http_failure(status, headers, body, now=now)
    if failure is not None:
        return failure
    return Outcome(ok=True, retryable=False, retry_after=None, detail=f"HTTP {status} accepted")
