"""What a ``notify.requested`` event becomes: a delivery's payload, and later the Message it sends.

The payload is stored in the outbox row, so it holds only what may be recorded: route names and
the message, never a target or a secret (those are resolved from the environment per attempt).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cslir.base.errors import CslirError
from cslir.engine.events import Event
from cslir.notify.channels import Message
from cslir.notify.routes import RouteSet

TITLE_MAX = 100
# A route's own severity wins; otherwise how urgent the reason for paging is.
SEVERITY_BY_REASON = {
    "clock.missed": "critical",
    "clock.warned": "warning",
    "approval": "warning",
    "test": "info",
}
DEFAULT_SEVERITY = "error"


@dataclass(frozen=True)
class Planned:
    """A delivery to enqueue."""

    route: str
    payload: dict[str, Any]
    key: str


def delivery_key(run: str, seq: int) -> str:
    """Stable across attempts and processes, unique per event; '.'-free for Standard Webhooks."""
    if "." in run:  # the webhook-id must not hold '.'; a digest keeps distinct runs distinct
        run = hashlib.sha256(run.encode()).hexdigest()[:24]
    return f"cslir-{run}-{seq}"


def subject_of(data: Mapping[str, Any]) -> str:
    """What a page is about: its clock, its step, or the run as a whole."""
    if data.get("clock"):
        return f"clock:{data['clock']}"
    if data.get("step"):
        return f"step:{data['step']}"
    return "run"


def dedup_key(run: str, data: Mapping[str, Any]) -> str:
    """PagerDuty's dedup_key: stable per run and step (or clock), so retries and repeats merge."""
    subject = subject_of(data)
    return f"cslir:{run}" if subject == "run" else f"cslir:{run}:{subject}"


def title_of(message: str) -> str:
    first = (message.strip().splitlines() or ["cslir notification"])[0].strip()
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1] + "…"


def plan_request(
    event: Event,
    *,
    routes: RouteSet,
    drill: bool,
    stoppers: Callable[[str], list[str]],
) -> Planned:
    """The delivery for one ``notify.requested`` event.

    In a drill the route's ``drill_route``, if any, receives the message instead. ``stoppers``
    names the steps that stop a clock: finishing one resolves that clock's PagerDuty alert.
    """
    data = event.data
    requested = str(data["route"])
    route_name, channel, severity = requested, None, None
    try:
        route = routes.get(requested)
    except CslirError:
        route = None  # the attempt will fail and say why; the request is still queued
    if route is not None and drill and route.drill_route:
        route_name = route.drill_route
        try:
            route = routes.get(route_name)
        except CslirError:
            route = None
    if route is not None:
        channel, severity = route.channel, route.severity
    reason = str(data.get("reason") or "page")
    resolve_steps: list[str] = []
    if reason == "approval" and data.get("step"):
        resolve_steps = [str(data["step"])]
    elif data.get("clock"):
        resolve_steps = stoppers(str(data["clock"]))
    message = str(data.get("message") or "")
    payload: dict[str, Any] = {
        "route": route_name,
        "requested": requested,
        "channel": channel,
        "title": title_of(message),
        "text": message,
        "run": event.run,
        "drill": drill,
        "severity": severity or SEVERITY_BY_REASON.get(reason, DEFAULT_SEVERITY),
        "event": "trigger",
        "dedup_key": dedup_key(event.run, data),
        "reason": reason,
        "resolve_steps": resolve_steps,
        # routes this message has been given to, so a chain of fallbacks never loops
        "tried": list(dict.fromkeys([*data.get("tried", []), requested, route_name])),
    }
    for key in ("step", "clock", "fallback_of", "link"):
        if data.get(key) is not None:
            payload[key] = data[key]
    return Planned(route_name, payload, delivery_key(event.run, event.seq))


def resolve_payload(trigger: Mapping[str, Any]) -> dict[str, Any]:
    """The payload that resolves a delivered trigger: same route, same dedup_key."""
    return {**trigger, "event": "resolve", "no_fallback": True, "resolve_steps": []}


def message_of(payload: Mapping[str, Any]) -> Message:
    return Message(
        title=str(payload["title"]),
        text=str(payload["text"]),
        run_id=str(payload.get("run") or "-"),
        drill=bool(payload.get("drill")),
        severity=str(payload["severity"]),
        event=str(payload.get("event", "trigger")),
        dedup_key=str(payload["dedup_key"]),
        link=str(payload["link"]) if payload.get("link") else None,
    )
