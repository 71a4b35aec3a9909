"""DingTalk custom robot in signed ("加签") mode (notifiers.md §1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote_plus

from cslir.notify.channels.common import (
    JsonObject,
    Markup,
    compose_to_fit,
    post_json,
    require_url,
    title_of,
    unix_millis,
    utf8_len,
)
from cslir.notify.channels.judging import Judge, errcode_judge
from cslir.notify.channels.model import HttpRequest, Message, Target

# DingTalk publishes no size limit (notifiers.md: "[U] keep markdown well under a few KB"), so
# markdown.text is held to WeCom's 4,096 UTF-8 bytes.
TEXT_LIMIT = 4096
# errcode -> minimum wait: -1 is "system busy"; 130101 is "send too fast", which mutes the
# robot for 10 minutes. 310000 (security check / sign not match), 300001/300005 (bad token),
# 90030 (monthly quota) and the rest are permanent.
RETRY_CODES: dict[int, float | None] = {-1: None, 130101: 600.0}
MARKUP = Markup(
    title=lambda title: f"#### {title}", drill=lambda line: f"**{line}**", separator="\n\n"
)


def sign(secret: str, timestamp_ms: int) -> str:
    """Base64 HMAC-SHA256, key = the secret (with its SEC prefix), msg = "{timestamp}\\n{secret}".

    Returned URL-encoded exactly once: the caller appends it to the URL as is.
    """
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(url: str, secret: str, now: datetime) -> str:
    # The robot URL already carries ?access_token=...; the signature joins that query string.
    timestamp = unix_millis(now)
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}timestamp={timestamp}&sign={sign(secret, timestamp)}"


def build(target: Target, message: Message, *, now: datetime, idempotency_key: str) -> HttpRequest:
    # A markdown message only pings when each @mobile / @userId also appears in the text.
    mentions = [f"@{who}" for who in (*target.mention_mobiles, *target.mention_user_ids)]
    text = compose_to_fit(MARKUP, message, lambda t: utf8_len(t) <= TEXT_LIMIT, mentions)
    url = require_url(target)
    if target.secret:  # without a secret the robot relies on keywords or an IP allow-list
        url = signed_url(url, target.secret, now)
    payload: JsonObject = {
        "msgtype": "markdown",
        "markdown": {"title": title_of(message), "text": text},
        "at": {
            "atMobiles": list(target.mention_mobiles),
            "atUserIds": list(target.mention_user_ids),
            "isAtAll": target.mention_all,
        },
    }
    return post_json(url, payload)


# DingTalk answers HTTP 200 even on failure: success is errcode == 0, never errmsg text.
judge: Judge = errcode_judge(RETRY_CODES)
