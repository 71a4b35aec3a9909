"""The values the channel layer works on: what to say, where to say it, and what came back."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("critical", "error", "warning", "info")  # PagerDuty's set; the others map onto it
EVENTS = ("trigger", "resolve")


@dataclass(frozen=True)
class Message:
    """One notification, independent of the channel that carries it."""

    title: str
    text: str  # Markdown-ish body; each channel renders the subset it supports
    run_id: str
    drill: bool
    severity: str  # one of SEVERITIES
    event: str  # one of EVENTS
    dedup_key: str  # stable per run and step; PagerDuty's dedup_key
    link: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        if self.event not in EVENTS:
            raise ValueError(f"event must be one of {', '.join(EVENTS)}")


@dataclass(frozen=True)
class Target:
    """A route as the runner hands it over, with its secret references already resolved."""

    name: str
    channel: str
    url: str | None
    secret: str | None
    routing_key: str | None
    mention_mobiles: tuple[str, ...]
    mention_user_ids: tuple[str, ...]
    mention_all: bool
    format: str | None  # wecom: "markdown" | "text"; feishu: "post" | "card"
    timeout: float


@dataclass(frozen=True)
class HttpRequest:
    """Exactly what goes on the wire; ``send`` posts ``body`` without re-encoding it."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """How a channel judged one answer. ``detail`` is short, human and free of secrets."""

    ok: bool
    retryable: bool
    retry_after: float | None
    detail: str
