"""The outbox worker: every ``notify.requested`` event is delivered, retried, or failed over.

One loop, in one thread, owns the store connection. Each cycle it
- reconciles: each ``notify.requested`` event without a delivery gets one, whoever recorded it
  and whether or not that process lived to enqueue it (the key is the run id and event seq, so
  two workers reconciling at once make one row);
- hands back leases held by cslir processes on this machine that have died;
- claims due deliveries under a lease (two processes never send the same one at once), holds
  back any over its route's rate limit, and gives the rest to the sender threads;
- records each attempt: delivered, or retried after a jittered backoff (Retry-After honoured),
  or, when the error is permanent or the budget is spent, failed and handed to the route's
  fallback; the row and its ``notify.delivered``/``notify.failed`` event commit together;
- resolves PagerDuty alerts whose step, clock or run has closed.
"""

from __future__ import annotations

import os
import queue
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from cslir.channels.retry import next_delay
from cslir.durations import format_span
from cslir.errors import CslirError
from cslir.events import Event, format_at, parse_at
from cslir.notify.attempt import Attempt, Job, Senders, all_secrets
from cslir.notify.plan import plan_request, resolve_payload
from cslir.notify.policy import Policy
from cslir.notify.ratelimit import RateLimiter
from cslir.notify.routes import DEFAULT_TIMEOUT, RouteBook
from cslir.notify.runfacts import RunFacts
from cslir.store import NewEvent, Store

ACTOR = "cslir"
HOST = socket.gethostname()
_LIVE: set[str] = set()  # ids of the workers running in this process
RECONCILE_BATCH = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Result:
    """A delivery's final outcome, as ``on_outcome`` hears of it."""

    delivery: int
    route: str
    run: str | None
    status: str  # delivered | failed
    attempts: int
    detail: str
    fallback: str | None = None


class Outbox:
    """The worker. ``notice`` and ``wake`` may be called from any thread, the rest from one."""

    def __init__(
        self,
        store_path: Path,
        routes: RouteBook,
        *,
        environ: Mapping[str, str],
        policy: Policy | None = None,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
        on_outcome: Callable[[Result], None] | None = None,
    ) -> None:
        self.id = f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"
        self.store_path = store_path
        self.routes = routes
        self.environ = environ
        self.policy = policy or Policy()
        self.clock = clock
        self.rand = rand
        self.on_outcome = on_outcome
        self._wake = threading.Event()
        self.deadline: float | None = None
        self._reconcile_soon = True
        self._finished: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._inflight: dict[int, Job] = {}
        self._open: list[dict[str, Any]] = []
        self._limiter = RateLimiter()
        self._last_sweep = float("-inf")
        self._store: Store | None = None
        self._facts: RunFacts | None = None
        self._senders: Senders | None = None

    # -- from any thread -----------------------------------------------------------------------

    def notice(self, event: Event | None = None) -> None:
        """The ``on_notify`` hook: an event was recorded; deliver it soon. Never blocks.

        Without an event: look at the whole store again soon (requests, closed alerts).
        """
        self._reconcile_soon = True
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    # -- the loop ------------------------------------------------------------------------------

    def run(self, until: Callable[[Outbox], bool], deadline: float | None = None) -> None:
        """Work in this thread until ``until(self)`` holds or the monotonic ``deadline`` passes.

        ``self.deadline`` may be moved from another thread (followed by ``wake``).
        """
        self.deadline = deadline
        self._store = Store(self.store_path)
        self._facts = RunFacts(self._store)
        self._senders = Senders(
            self.policy.senders, self._done, environ=self.environ, now=self.clock
        )
        _LIVE.add(self.id)
        try:
            while True:
                pause = self.cycle()
                if until(self):
                    return
                left = float("inf") if self.deadline is None else self.deadline - time.monotonic()
                if left <= 0:
                    return
                self._wake.wait(min(pause, left))
        finally:
            self._stop()

    def cycle(self) -> float:
        """One round of work; returns how long the loop may sleep before the next."""
        self._wake.clear()
        now = self.clock()
        self._collect()
        if self._reconcile_soon or time.monotonic() - self._last_sweep >= self.policy.poll:
            self._sweep(now)
        self._open = self.store.open_deliveries()
        if any(self._due(row, now) for row in self._open):
            self._dispatch(now)
            self._open = self.store.open_deliveries()
        return self._pause(self.clock())

    def settled(self, horizon: datetime | None = None) -> bool:
        """Nothing left for this worker to do before ``horizon`` (None: ever)."""
        if self._reconcile_soon or self._inflight or not self._finished.empty():
            return False
        return not any(
            self._due(row, horizon) if horizon is not None else self._ours(row)
            for row in self._open
        )

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the outbox is not running")
        return self._store

    # -- finding work --------------------------------------------------------------------------

    def _ours(self, row: Mapping[str, Any]) -> bool:
        """Pending, or leased to this worker or to nobody alive."""
        if row["status"] == "pending":
            return True
        return bool(row["claimed_by"] == self.id) or _when(row) <= format_at(self.clock())

    def _due(self, row: Mapping[str, Any], at: datetime) -> bool:
        if row["id"] in self._inflight:
            return True
        return _when(row) <= format_at(at)

    def _pause(self, now: datetime) -> float:
        waits = [self.policy.poll]
        for row in self._open:
            if row["id"] not in self._inflight:
                waits.append((parse_at(_when(row)) - now).total_seconds())
        return max(min(waits), 0.0)

    def _sweep(self, now: datetime) -> None:
        self._last_sweep = time.monotonic()
        self._release_dead_claims()
        self._reconcile(now)
        self._resolve_closed(now)

    def _reconcile(self, now: datetime) -> None:
        facts = self._facts
        assert facts is not None
        batch = self.store.unqueued_events("notify.requested", RECONCILE_BATCH)
        self._reconcile_soon = len(batch) == RECONCILE_BATCH  # more next cycle
        for event in batch:
            planned = plan_request(
                event,
                routes=self.routes.current(),
                drill=facts.drill(event.run),
                stoppers=partial(facts.stoppers, event.run),
            )
            row = self.store.enqueue_delivery(
                event.run, event.seq, planned.route, planned.payload, planned.key, now
            )
            age = (now - parse_at(event.at)).total_seconds()
            if age > self.policy.max_age:
                note = f"requested {format_span(age)} before any worker saw it; not sent"
                self.store.finish_delivery(row, "superseded", 0, now, note)

    def _resolve_closed(self, now: datetime) -> None:
        facts = self._facts
        assert facts is not None
        for trigger in self.store.delivered_triggers("pagerduty"):
            run, seq = trigger["run"], trigger["event_seq"]
            if run is None or seq is None:
                continue
            steps = list(trigger["payload"].get("resolve_steps") or [])
            closed = facts.closing_seq(run, steps, after=seq)
            if closed is not None:
                key = trigger["idempotency_key"] + "-resolve"
                payload = resolve_payload(trigger["payload"])
                self.store.enqueue_delivery(run, closed, trigger["route"], payload, key, now)

    def _release_dead_claims(self) -> None:
        leased = [row for row in self.store.open_deliveries() if row["status"] == "delivering"]
        for owner in {row["claimed_by"] for row in leased}:
            host, _, rest = (owner or "").partition(":")
            pid_text = rest.partition(":")[0]
            if host != HOST or not pid_text.isdigit() or owner == self.id:
                continue
            pid = int(pid_text)
            if (pid == os.getpid() and owner not in _LIVE) or not _alive(pid):
                self.store.release_deliveries(owner)

    # -- sending -------------------------------------------------------------------------------

    def _lease(self) -> float:
        timeouts = [r.timeout for r in self.routes.current().routes.values()]
        return max(timeouts, default=DEFAULT_TIMEOUT) + self.policy.lease_margin

    def _dispatch(self, now: datetime) -> None:
        senders = self._senders
        assert senders is not None
        room = self.policy.senders - len(self._inflight)
        if room <= 0:
            return
        secrets = all_secrets(self.routes.current().routes.values(), self.environ)
        for row in self.store.claim_due_deliveries(format_at(now), self.id, self._lease(), room):
            try:
                route = self.routes.get(row["route"])
            except CslirError as e:  # unknown route, broken file: nothing to send to
                self._record(row, Attempt(False, False, None, e.message), now)
                continue
            wait = self._limiter.reserve(route.name, route.rate_limit, now.timestamp())
            if wait > 0:  # over the route's rate: later, never dropped
                later = now + timedelta(seconds=wait)
                self.store.finish_delivery(
                    row["id"], "pending", row["attempts"], later, row["last_error"], worker=self.id
                )
                continue
            job = Job(row, route, secrets)
            self._inflight[row["id"]] = job
            senders.submit(job)

    def _done(self, job: Job) -> None:  # in a sender thread
        self._finished.put(job)
        self._wake.set()

    def _collect(self) -> None:
        while not self._finished.empty():
            job = self._finished.get()
            self._inflight.pop(job.delivery["id"], None)
            assert job.result is not None and job.started is not None
            self._record(job.delivery, job.result, job.started)

    # -- recording -----------------------------------------------------------------------------

    def _record(self, row: Mapping[str, Any], result: Attempt, started: datetime) -> None:
        now = self.clock()
        attempts = row["attempts"] + 1
        first = parse_at(row["first_attempt_at"]) if row["first_attempt_at"] else started
        detail = result.detail
        if result.ok:
            self._settle(row, "delivered", attempts, first, detail, None)
            return
        if result.retryable:
            delay = next_delay(
                attempts - 1,
                base=self.policy.base,
                cap=self.policy.cap,
                retry_after=result.retry_after,
                rand=self.rand,
            )
            if (now - first).total_seconds() + delay <= self.policy.budget:
                self.store.finish_delivery(
                    row["id"], "pending", attempts, now + timedelta(seconds=delay), detail,
                    worker=self.id, first_attempt_at=first,
                )  # fmt: skip
                return
            spent = format_span((now - first).total_seconds())
            detail += f" (gave up after {attempts} attempt(s) in {spent})"
        self._settle(row, "failed", attempts, first, detail, self._fallback(row))

    def _fallback(self, row: Mapping[str, Any]) -> str | None:
        payload = row["payload"]
        if payload.get("no_fallback") or row["run"] is None:
            return None
        try:
            fallback = self.routes.get(row["route"]).fallback
        except CslirError:
            return None
        tried = {*payload.get("tried", []), row["route"]}
        return fallback if fallback and fallback not in tried else None

    def _settle(
        self,
        row: Mapping[str, Any],
        status: str,
        attempts: int,
        first: datetime,
        detail: str,
        fallback: str | None,
    ) -> None:
        now = self.clock()
        payload = row["payload"]
        data: dict[str, Any] = {
            "delivery": row["id"],
            "route": row["route"],
            "attempts": attempts,
            "detail": detail,
        }
        if payload.get("event") == "resolve":
            data["event"] = "resolve"
        if fallback is not None:
            data["fallback"] = fallback
        events = [NewEvent(ACTOR, f"notify.{status}", data, now)]
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
            self._reconcile_soon = True
        record = (row["run"], events) if row["run"] is not None else None
        error = None if status == "delivered" else detail
        settled = self.store.finish_delivery(
            row["id"], status, attempts, now, error,
            worker=self.id, first_attempt_at=first, record=record,
        )  # fmt: skip
        if settled and status == "delivered" and payload.get("event") == "trigger":
            self._reconcile_soon = True  # its step or run may have closed already: resolve
        if settled and self.on_outcome is not None:
            result = Result(row["id"], row["route"], row["run"], status, attempts, detail, fallback)
            self.on_outcome(result)

    # -- stopping ------------------------------------------------------------------------------

    def _stop(self) -> None:
        _LIVE.discard(self.id)
        if self._senders is not None:
            self._senders.close()
        if self._store is not None:
            try:
                # Attempts still in flight are abandoned: the next worker sends them again,
                # under the same idempotency key.
                self._collect()
                self._store.release_deliveries(self.id)
            finally:
                self._store.close()
                self._store = None


def _when(row: Mapping[str, Any]) -> str:
    """When a row next needs a worker: its next attempt, or the end of its lease."""
    return str(row["next_attempt_at"] if row["status"] == "pending" else row["claimed_until"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
