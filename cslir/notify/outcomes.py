"""What an attempt's result means for its delivery: retry when, give up, fall back; and the
events that record the outcome. Pure: the time, the policy and the dice are passed in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cslir.engine.durations import format_span
from cslir.engine.events import NewEvent, parse_at
from cslir.notify.attempt import Attempt
from cslir.notify.channels.retry import next_delay
from cslir.notify.policy import Policy

ACTOR = "cslir"


@dataclass(frozen=True)
class Result:
    """A delivery's final outcome, as ``Outbox.on_outcome`` hears of it."""

    delivery: int
    route: str
    run: str | None
    status: str  # delivered | failed
    attempts: int
    detail: str
    fallback: str | None = None


@dataclass(frozen=True)
class Verdict:
    status: str  # pending (try again at next_at) | delivered | failed
    attempts: int
    first: datetime  # when the first attempt began: the budget counts from here
    next_at: datetime
    detail: str


def judge_attempt(
    row: Mapping[str, Any],
    result: Attempt,
    started: datetime,
    *,
    now: datetime,
    policy: Policy,
    rand: Callable[[], float],
) -> Verdict:
    """Delivered; or retried after a jittered backoff (never sooner than Retry-After) while
    that stays within the budget; or failed."""
    attempts = row["attempts"] + 1
    first = parse_at(row["first_attempt_at"]) if row["first_attempt_at"] else started
    if result.ok:
        return Verdict("delivered", attempts, first, now, result.detail)
    detail = result.detail
    if result.retryable:
        delay = next_delay(
            attempts - 1,
            base=policy.base,
            cap=policy.cap,
            retry_after=result.retry_after,
            rand=rand,
        )
        if (now - first).total_seconds() + delay <= policy.budget:
            return Verdict("pending", attempts, first, now + timedelta(seconds=delay), detail)
        spent = format_span((now - first).total_seconds())
        detail += f" (gave up after {attempts} attempt(s) in {spent})"
    return Verdict("failed", attempts, first, now, detail)


def outcome_events(
    row: Mapping[str, Any], verdict: Verdict, fallback: str | None, now: datetime
) -> list[NewEvent]:
    """``notify.delivered`` or ``notify.failed``, and with a fallback the request that pages it."""
    payload = row["payload"]
    data: dict[str, Any] = {
        "delivery": row["id"],
        "route": row["route"],
        "attempts": verdict.attempts,
        "detail": verdict.detail,
    }
    if isinstance(row.get("event_seq"), int):
        data["request_seq"] = row["event_seq"]  # the notify.requested event this settles
    if payload.get("event") == "resolve":
        data["event"] = "resolve"
    if fallback is not None:
        data["fallback"] = fallback
    events = [NewEvent(ACTOR, f"notify.{verdict.status}", data, now)]
    if fallback is not None:
        request = {
            "route": fallback,
            "message": payload["text"],
            "reason": payload.get("reason", "page"),
            "fallback_of": row["id"],
            "tried": list(dict.fromkeys([*payload.get("tried", []), row["route"]])),
        }
        for key in ("step", "clock"):
            if key in payload:
                request[key] = payload[key]
        events.append(NewEvent(ACTOR, "notify.requested", request, now))
    return events
