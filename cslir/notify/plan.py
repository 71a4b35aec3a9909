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
    """A delivery to enqueue; ``withheld`` says why it must not be sent, if so."""

    route: str
    payload: dict[str, Any]
    key: str
    withheld: str | None = None


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
    participants: frozenset[str] = frozenset(),
) -> Planned:
    """The delivery for one ``notify.requested`` event.

    In a drill the route's ``drill_route``, if any, receives the message instead; a route
    without one is withheld (a drill must not page the real on-call) unless the drill lists it
    among its ``participants``. A witness of the record (to the audit route) is neither.
    ``stoppers`` names the steps that stop a clock: finishing one resolves that clock's
    PagerDuty alert.
    """
    data = event.data
    requested = str(data["route"])
    reason = str(data.get("reason") or "page")
    # a record's witness goes to the audit route itself, drill or not: it pages nobody
    witness = reason == "witness"
    route_name, channel, severity = _routed(requested, routes, drill and not witness)
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
    withheld = None
    if drill and not witness and route_name == requested and requested not in participants:
        withheld = (
            f"withheld in a drill: route '{requested}' has no drill_route and is not among "
            "the drill's participants"
        )
    return Planned(route_name, payload, delivery_key(event.run, event.seq), withheld)


def _routed(requested: str, routes: RouteSet, drill: bool) -> tuple[str, str | None, str | None]:
    """(route, channel, severity) of a request: in a drill, the route's drill_route if any."""
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
    return route_name, channel, severity


def plan_page(
    requested: str, message: str, *, routes: RouteSet, drill: bool, key: str, reason: str
) -> Planned:
    """A delivery that belongs to no run (a drill's reminder, the scheduler's own notices)."""
    route_name, channel, severity = _routed(requested, routes, drill)
    subject = hashlib.sha256(key.encode()).hexdigest()[:16]
    payload = dict(
        route=route_name, requested=requested, channel=channel, title=title_of(message),
        text=message, run=None, drill=drill, event="trigger", reason=reason, resolve_steps=[],
        severity=severity or SEVERITY_BY_REASON.get(reason, "warning"), no_fallback=True,
        dedup_key=f"cslir:{reason}:{subject}", tried=list(dict.fromkeys([requested, route_name])),
    )  # fmt: skip
    return Planned(route_name, payload, key)


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
