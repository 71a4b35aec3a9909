"""The channel layer: pure request builders and response judges, one module per channel.

``build`` turns a message and a route into the exact bytes to send; ``send`` (the only
module that imports requests) posts them; ``judge`` reads the
answer the way that channel defines success. Nothing here touches the network or the clock:
``now`` and the idempotency key are passed in, so every attempt can be re-signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from cslir.base.redaction import redact
from cslir.base.timefmt import utcnow
from cslir.notify.channels import dingtalk, feishu, pagerduty, slack, teams, webhook, wecom
from cslir.notify.channels.model import HttpRequest, Message, Outcome, Target
from cslir.notify.channels.redaction import secrets_of

__all__ = [
    "CHANNELS",
    "HttpRequest",
    "Message",
    "Outcome",
    "Target",
    "build",
    "judge",
    "secrets_of",
]


class _Channel(Protocol):
    """What each channel module provides."""

    def build(
        self, target: Target, message: Message, *, now: datetime, idempotency_key: str
    ) -> HttpRequest: ...

    def judge(
        self, status: int, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> Outcome: ...


_MODULES: dict[str, _Channel] = {
    "webhook": webhook,
    "slack": slack,
    "teams": teams,
    "pagerduty": pagerduty,
    "dingtalk": dingtalk,
    "wecom": wecom,
    "feishu": feishu,
}
CHANNELS = tuple(_MODULES)


def _module(target: Target) -> _Channel:
    try:
        return _MODULES[target.channel]
    except KeyError:
        raise ValueError(
            f"route {target.name!r}: unknown channel {target.channel!r}; "
            f"expected one of {', '.join(CHANNELS)}"
        ) from None


def build(target: Target, message: Message, *, now: datetime, idempotency_key: str) -> HttpRequest:
    """The request for one delivery attempt; call again for each retry (fresh ``now``).

    ``idempotency_key`` must stay the same across the attempts of one notification.
    """
    return _module(target).build(target, message, now=now, idempotency_key=idempotency_key)


def judge(
    target: Target,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
) -> Outcome:
    """How ``target``'s channel reads this answer; ``now`` dates an HTTP-date Retry-After."""
    outcome = _module(target).judge(status, headers, body, now=now or utcnow())
    return replace(outcome, detail=redact(outcome.detail, secrets_of(target)))
