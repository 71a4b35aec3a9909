"""What the ``cslir notify`` commands do: list routes, test one, show deliveries, flush.

Every text produced here has passed through redaction: route values are never read into
output, only the names of the variables that hold them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cslir.base.errors import NotFound
from cslir.base.timefmt import utcnow
from cslir.engine.events import parse_at
from cslir.notify.attempt import Attempt, all_secrets, attempt
from cslir.notify.outbox import Outbox
from cslir.notify.outcomes import Result
from cslir.notify.plan import resolve_payload
from cslir.notify.policy import Policy
from cslir.notify.routes import RouteBook, load_routes
from cslir.opsrepo.settings import Settings
from cslir.store import open_store
from cslir.store.base import EventStore

TEST_TEXT = "A test message from cslir (`cslir notify test {route}`); no action is needed."
FLUSH_SLACK = 5.0  # seconds beyond budget + longest timeout before flush stops waiting
PROGRESS_EVERY = 5.0  # seconds between flush's "still sending" lines


@dataclass(frozen=True)
class RouteLine:
    name: str
    channel: str
    state: str  # "ready", "missing VAR, VAR" or why the route cannot be used


def route_lines(settings: Settings, environ: Mapping[str, str]) -> list[RouteLine]:
    found = load_routes(settings.root)
    lines = []
    for name in found.names():
        if name in found.broken:
            lines.append(RouteLine(name, "?", f"unusable: {found.broken[name]}"))
            continue
        route = found.routes[name]
        absent = route.missing_variables(environ)
        state = f"missing {', '.join(absent)}" if absent else "ready"
        extra = [f"{k} {v}" for k, v in (("fallback", route.fallback),
                                         ("drill route", route.drill_route)) if v]  # fmt: skip
        lines.append(RouteLine(name, route.channel, "; ".join([state, *extra])))
    return lines


def test_route(
    settings: Settings,
    name: str,
    environ: Mapping[str, str],
    *,
    now: Callable[[], datetime] = utcnow,
) -> tuple[bool, list[str]]:
    """Send one test message now (and, for PagerDuty, its resolve); say what happened."""
    import requests

    book = RouteBook(settings.root)
    route = book.get(name)
    hidden = all_secrets(book.current().routes.values(), environ)
    token = secrets.token_hex(4)
    payload: dict[str, Any] = {
        "route": name,
        "requested": name,
        "channel": route.channel,
        "title": f"cslir test of route {name}",
        "text": TEST_TEXT.format(route=name),
        "run": None,
        "drill": False,
        "severity": "info",
        "event": "trigger",
        "dedup_key": f"cslir:test:{name}:{token}",
        "reason": "test",
    }
    sends = [(payload, f"cslir-test-{name}-{token}")]
    if route.channel == "pagerduty":  # a test must not leave an incident open
        sends.append((resolve_payload(payload), f"cslir-test-{name}-{token}-resolve"))
    lines = [f"route {name} ({route.channel})"]
    ok = True
    with open_store(settings.store) as store, requests.Session() as session:
        for body, key in sends:
            started = now()
            result = attempt(
                route, body, key, environ=environ, session=session, now=now, also_secret=hidden
            )
            _record_test(store, name, body, key, result, started)
            lines += _describe(body["event"], result)
            ok = ok and result.ok
            if not result.ok:
                break
    return ok, lines


def _record_test(
    store: EventStore, route: str, payload: dict[str, Any], key: str, result: Attempt, at: datetime
) -> None:
    """Kept in the outbox (with no run) so readiness can tell when each route was last tested."""
    row = store.outbox.enqueue_delivery(None, None, route, payload, key, at)
    status = "delivered" if result.ok else "failed"
    error = None if result.ok else result.detail
    store.outbox.finish_delivery(row, status, 1, at, error, first_attempt_at=at)


def _describe(event: str, result: Attempt) -> list[str]:
    lines = [f"  {event}: " + (f"HTTP {result.status}" if result.status else "no HTTP answer")]
    if result.answer:
        lines.append(f"  answer: {result.answer}")
    if result.ok:
        lines.append(f"  delivered: {result.detail}")
    else:
        again = " (a queued message would be retried)" if result.retryable else ""
        lines.append(f"  FAILED: {result.detail}{again}")
    return lines


def status_lines(store: EventStore, run: str | None) -> list[str]:
    run_id = store.resolve_run(run) if run else None
    lines = []
    for d in store.outbox.deliveries(run_id):
        attempts = f"{d['attempts']} attempt{'s' if d['attempts'] != 1 else ''}"
        parts = [f"#{d['id']}", d["run"] or "(test)", d["route"], d["status"], attempts]
        if d["payload"].get("event") == "resolve":
            parts.append("resolve")
        if d["status"] == "pending":
            parts.append(f"next {d['next_attempt_at']}")
        if d["last_error"]:
            parts.append(f"last error: {d['last_error']}")
        lines.append("  ".join(parts))
    return lines or ["no deliveries"]


@dataclass
class FlushReport:
    results: list[Result]
    left: int  # deliveries still pending when flush stopped waiting

    @property
    def ok(self) -> bool:
        return self.left == 0 and all(r.status == "delivered" for r in self.results)


def flush(
    settings: Settings,
    environ: Mapping[str, str],
    policy: Policy,
    on_result: Callable[[Result], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
    every: float = PROGRESS_EVERY,
    clock: Callable[[], datetime] = utcnow,
) -> FlushReport:
    """Deliver everything pending, waiting out retries within the budget; every ``every``
    seconds of waiting, say what it waits on (a hanging endpoint is not silence). ``clock``
    dates the attempts: the scheduler passes its own."""
    results: list[Result] = []
    said = time.monotonic()

    def until(ob: Outbox) -> bool:
        nonlocal said
        if ob.settled():
            return True
        if on_progress is not None and time.monotonic() - said >= every:
            said = time.monotonic()
            on_progress(ob.progress())
        return False

    def heard(result: Result) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    book = RouteBook(settings.root)
    outbox = Outbox(
        settings.store, book, environ=environ, policy=policy, on_outcome=heard, clock=clock
    )
    longest = max((r.timeout for r in book.current().routes.values()), default=0.0)
    deadline = time.monotonic() + policy.budget + longest + FLUSH_SLACK
    outbox.run(until, deadline)
    with open_store(settings.store) as store:
        left = [
            d for d in store.outbox.open_deliveries() if _not_leased_elsewhere(d, outbox.id, clock)
        ]
    return FlushReport(results, len(left))


def undelivered(store: EventStore, run_id: str) -> tuple[str, bool]:
    """One line naming a run's pages that are not delivered (failed, pending, never queued),
    or ""; and whether any failed."""
    rows = store.outbox.deliveries(run_id)
    failed = [d for d in rows if d["status"] == "failed"]
    pending = sum(d["status"] in ("pending", "delivering") for d in rows)
    pending += sum(e.run == run_id for e in store.outbox.unqueued_events("notify.requested"))
    if not failed and not pending:
        return "", False
    parts = [f"#{d['id']} to {d['route']} FAILED: {d['last_error']}" for d in failed]
    if pending:
        parts.append(f"{pending} still pending (cslir notify flush sends them)")
    again = f"; cslir notify retry --run {run_id} sends the failed again" if failed else ""
    return f"pages NOT delivered: {'; '.join(parts)}{again}", bool(failed)


def retry_failed(
    store: EventStore, actor: str, *, delivery: int | None = None, run: str | None = None
) -> list[int]:
    """Re-queue failed deliveries (one, a run's, or all) with a fresh budget; their ids."""
    run_id = store.resolve_run(run) if run else None
    rows = [d for d in store.outbox.deliveries(run_id) if d["status"] == "failed"]
    if delivery is not None:
        rows = [d for d in rows if d["id"] == delivery]
        if not rows:
            raise NotFound(f"no failed delivery #{delivery} (cslir notify status lists them)")
    now = utcnow()
    return [d["id"] for d in rows if store.outbox.requeue_failed(d, actor, now)]


def _not_leased_elsewhere(
    row: Mapping[str, Any], worker: str, clock: Callable[[], datetime] = utcnow
) -> bool:
    if row["status"] == "pending" or row["claimed_by"] == worker:
        return True
    try:
        return parse_at(row["claimed_until"]) <= clock()
    except (TypeError, ValueError):
        return True


def describe_result(result: Result) -> str:
    where = f" (run {result.run})" if result.run else ""
    line = f"{result.status} #{result.delivery} {result.route}{where} after {result.attempts}"
    line += f" attempt{'s' if result.attempts != 1 else ''}: {result.detail}"
    if result.fallback:
        line += f"; fell back to {result.fallback}"
    return line
