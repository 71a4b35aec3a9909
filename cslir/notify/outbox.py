"""The outbox worker: every ``notify.requested`` event is delivered, retried, or failed over.

One loop, in one thread, owns the store connection. Each cycle it
- reconciles (``cslir.notify.reconcile``): each ``notify.requested`` event without a delivery
  gets one, whoever recorded it and whether or not that process lived to enqueue it;
- hands back leases held by cslir processes on this machine that have died;
- claims due deliveries under a lease (two processes never send the same one at once), holds
  back any over its route's rate limit, and gives the rest to the sender threads;
- records each attempt: delivered, or retried after a jittered backoff (Retry-After honoured),
  or, when the error is permanent or the budget is spent, failed and handed to the route's
  fallback; the row and its ``notify.delivered``/``notify.failed`` event commit together;
- resolves PagerDuty alerts whose step, clock or run has closed (``reconcile`` too).
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from cslir.base.errors import CslirError
from cslir.base.timefmt import utcnow
from cslir.engine.durations import format_span
from cslir.engine.events import Event, format_at, parse_at
from cslir.notify import workers
from cslir.notify.attempt import Attempt, Job, Senders, all_secrets
from cslir.notify.outcomes import Result, judge_attempt, outcome_events
from cslir.notify.policy import Policy
from cslir.notify.ratelimit import RateLimiter
from cslir.notify.reconcile import Owed, reconcile, resolve_closed
from cslir.notify.routes import DEFAULT_TIMEOUT, RouteBook
from cslir.notify.runfacts import RunFacts
from cslir.store import StoreTarget, open_store
from cslir.store.base import EventStore
from cslir.store.outbox import OutboxQueries

LEASE_SAFETY = 5.0  # seconds: a held delivery goes back to the queue this long before its lease
STOP_SLACK = 0.5  # seconds past the deadline an attempt under way may take to finish


class Outbox:
    """The worker. ``notice`` and ``wake`` may be called from any thread, the rest from one."""

    def __init__(
        self,
        store_path: StoreTarget,
        routes: RouteBook,
        *,
        environ: Mapping[str, str],
        policy: Policy | None = None,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
        on_outcome: Callable[[Result], None] | None = None,
    ) -> None:
        self.id = workers.new_worker_id()
        self.store_path = store_path
        self.routes = routes
        self.environ = environ
        self.policy = policy or Policy()
        self.clock = clock
        self.rand = rand
        self.on_outcome = on_outcome
        self._wake = threading.Event()
        self.deadline: float | None = None
        self._reconcile_soon = True  # requests may wait in the store: look first thing
        self._resolve_soon = False  # a delivered trigger's step or run may have closed
        self._finished: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._inflight: dict[int, Job] = {}
        self._held: dict[str, deque[Job]] = {}  # claimed, waiting for a free slot on the route
        self.owed = Owed()  # what this process asked for: first, and at its end alone
        self._open: list[dict[str, Any]] = []
        self._limiter = RateLimiter()
        self._last_sweep = float("-inf")
        self._store: EventStore | None = None
        self._facts: RunFacts | None = None
        self._senders: Senders | None = None

    # -- from any thread -----------------------------------------------------------------------

    def notice(self, event: Event | None = None) -> None:
        """The ``on_notify`` hook: an event was recorded; deliver it soon. Never blocks.

        Without an event: look at the whole store again soon (requests, closed alerts).
        """
        if event is not None:
            self.owed.asked(event)
        self._reconcile_soon = True
        if event is None:
            self._resolve_soon = True
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    # -- the loop ------------------------------------------------------------------------------

    def run(self, until: Callable[[Outbox], bool], deadline: float | None = None) -> None:
        """Work in this thread until ``until(self)`` holds or the monotonic ``deadline`` passes.

        ``self.deadline`` may be moved from another thread (followed by ``wake``).
        """
        self.deadline = deadline
        self._store = open_store(self.store_path)
        self._facts = RunFacts(self._store)
        self._senders = Senders(
            self.policy.senders, self._done, environ=self.environ, now=self.clock
        )
        workers.started(self.id)
        try:
            while True:
                pause = self.cycle()
                if until(self):
                    return
                left = float("inf") if self.deadline is None else self.deadline - time.monotonic()
                if left <= 0:
                    return
                woken = self._wake.wait(min(pause, left))
                if woken and self._reconcile_soon and self.policy.gather > 0:
                    time.sleep(min(self.policy.gather, left))  # let a burst of requests gather
        finally:
            self._stop()

    def cycle(self) -> float:
        """One round of work; returns how long the loop may sleep before the next."""
        self._wake.clear()
        now = self.clock()
        self._collect()
        self._sweep(now)
        self._open = self.queue.open_delivery_times()
        if any(self._due(row, now) for row in self._waiting()) and self._dispatch(now):
            self._open = self.queue.open_delivery_times()
        return self._pause(self.clock())

    def settled(self, horizon: datetime | None = None) -> bool:
        """Nothing left for this worker to do before ``horizon`` (None: ever).

        With ``owed.only``, only what this process asked for counts.
        """
        if self._reconcile_soon or self._resolve_soon or not self._finished.empty():
            return False
        if any(self.owed.counts(delivery) for delivery in self._inflight):
            return False
        if horizon is None and any(self._held.values()):
            return False
        return not any(
            self._due(row, horizon) if horizon is not None else self._ours(row)
            for row in self._waiting()
        )

    def _waiting(self) -> list[dict[str, Any]]:
        """Open deliveries that matter now and are not being sent by this worker."""
        return [
            r for r in self._open if r["id"] not in self._inflight and self.owed.counts(r["id"])
        ]

    def progress(self) -> str:
        """What this worker is waiting on, for a person watching ``cslir notify flush``."""
        now = self.clock()
        under_way = [
            f"#{job.delivery['id']} to {job.route.name} for"
            f" {format_span((now - job.started).total_seconds()) if job.started else '0s'}"
            for job in self._inflight.values()
        ]
        waiting = sum(1 for row in self._waiting())
        return (
            f"still sending: {len(under_way)} attempt(s) under way"
            f"{' (' + ', '.join(under_way) + ')' if under_way else ''}, {waiting} waiting"
        )

    @property
    def store(self) -> EventStore:
        if self._store is None:
            raise RuntimeError("the outbox is not running")
        return self._store

    @property
    def queue(self) -> OutboxQueries:
        """The running store's delivery queue."""
        return self.store.outbox

    # -- finding work --------------------------------------------------------------------------

    def _ours(self, row: Mapping[str, Any]) -> bool:
        """Pending, or leased to this worker or to nobody alive."""
        if row["status"] == "pending":
            return True
        return bool(row["claimed_by"] == self.id) or _when(row) <= format_at(self.clock())

    def _due(self, row: Mapping[str, Any], at: datetime) -> bool:
        return _when(row) <= format_at(at)

    def _pause(self, now: datetime) -> float:
        waits = [(parse_at(_when(row)) - now).total_seconds() for row in self._waiting()]
        return max(min([self.policy.poll, *waits]), 0.0)

    def _sweep(self, now: datetime) -> None:
        """All of it every ``poll`` seconds; between, only what news asked for."""
        facts = self._facts
        assert facts is not None
        full = time.monotonic() - self._last_sweep >= self.policy.poll
        if full:
            self._last_sweep = time.monotonic()
            self._release_dead_claims()
            self._return_stale_held(now)
        if full or self._reconcile_soon:
            self._reconcile_soon = False  # before the query: news arriving during it sets it
            more = reconcile(self.queue, facts, self.routes, self.owed, now=now,
                             max_age=self.policy.max_age)  # fmt: skip
            self._reconcile_soon = self._reconcile_soon or more
        if full or self._resolve_soon:
            self._resolve_soon = False
            resolve_closed(self.queue, facts, self.owed, now=now)

    def _release_dead_claims(self) -> None:
        leased = [r for r in self.queue.open_delivery_times() if r["status"] == "delivering"]
        for owner in {row["claimed_by"] for row in leased if row["claimed_by"]}:
            if owner != self.id and workers.is_dead(owner):
                self.queue.release_deliveries(owner)

    # -- sending -------------------------------------------------------------------------------

    def _lease(self) -> float:
        timeouts = [r.timeout for r in self.routes.current().routes.values()]
        return max(timeouts, default=DEFAULT_TIMEOUT) + self.policy.lease_margin

    def _dispatch(self, now: datetime) -> bool:
        """Claim what is due and start it; whether anything was claimed."""
        room = self.policy.senders - len(self._inflight)
        if room <= 0:
            return False
        # What this process owes goes first, and at the end only that: older deliveries due in
        # the store must never crowd out the pages of the run that is finishing.
        claimed = self.queue.claim_due_deliveries(
            format_at(now), self.id, self._lease(), room, first=self.owed.open,
            only=self.owed.open if self.owed.only else None,
        )  # fmt: skip
        for row in claimed:
            try:
                route = self.routes.get(row["route"])
            except CslirError as e:  # unknown route, broken file: nothing to send to
                self._record(row, Attempt(False, False, None, e.message), now)
                continue
            self._held.setdefault(route.name, deque()).append(Job(row, route))
        self._start_held(now)
        return bool(claimed)

    def _start_held(self, now: datetime) -> None:
        """Send claimed deliveries, at most ``per_route`` at once per route.

        So a route that hangs ties up a few senders, not all of them. (A delivery held too long
        for its lease goes back to the queue, ``_return_stale_held``, rather than risk a second
        worker sending it too.)
        """
        senders = self._senders
        assert senders is not None
        secrets: list[str] | None = None
        for name, held in self._held.items():
            busy = sum(job.route.name == name for job in self._inflight.values())
            while held and busy < self.policy.per_route:
                job = held.popleft()
                row, route = job.delivery, job.route
                wait = self._limiter.reserve(name, route.rate_limit, now.timestamp())
                if wait > 0:  # over the route's rate: later, never dropped
                    self._requeue(row, now + timedelta(seconds=wait))
                    continue
                if secrets is None:
                    secrets = all_secrets(self.routes.current().routes.values(), self.environ)
                job.also_secret = secrets
                self._inflight[row["id"]] = job
                busy += 1
                senders.submit(job)

    def _return_stale_held(self, now: datetime) -> None:
        for held in self._held.values():
            for job in list(held):
                left = (parse_at(job.delivery["claimed_until"]) - now).total_seconds()
                if left < job.route.timeout + LEASE_SAFETY:
                    held.remove(job)
                    self._requeue(job.delivery, now)

    def _requeue(self, row: Mapping[str, Any], when: datetime) -> None:
        self.queue.finish_delivery(
            row["id"], "pending", row["attempts"], when, row["last_error"], worker=self.id
        )

    def _done(self, job: Job) -> None:  # in a sender thread
        self._finished.put(job)
        self._wake.set()

    def _collect(self) -> None:
        while not self._finished.empty():
            job = self._finished.get()
            self._inflight.pop(job.delivery["id"], None)
            assert job.result is not None and job.started is not None
            self._record(job.delivery, job.result, job.started)
        if any(self._held.values()):
            self._start_held(self.clock())

    # -- recording -----------------------------------------------------------------------------

    def _record(self, row: Mapping[str, Any], result: Attempt, started: datetime) -> None:
        now = self.clock()
        verdict = judge_attempt(row, result, started, now=now, policy=self.policy, rand=self.rand)
        if verdict.status == "pending":
            self.queue.finish_delivery(
                row["id"], "pending", verdict.attempts, verdict.next_at, verdict.detail,
                worker=self.id, first_attempt_at=verdict.first,
            )  # fmt: skip
            return
        self.owed.open.discard(row["id"])
        fallback = self._fallback(row) if verdict.status == "failed" else None
        events = outcome_events(row, verdict, fallback, now)
        settled = self.queue.finish_delivery(
            row["id"], verdict.status, verdict.attempts, now,
            None if verdict.status == "delivered" else verdict.detail,
            worker=self.id, first_attempt_at=verdict.first,
            record=(row["run"], events) if row["run"] is not None else None,
        )  # fmt: skip
        if settled and fallback is not None:
            self._reconcile_soon = True  # the fallback's request wants a delivery
        if settled and verdict.status == "delivered" and row["payload"].get("event") == "trigger":
            self._resolve_soon = True  # its step or run may have closed already
        if settled and self.on_outcome is not None:
            self.on_outcome(
                Result(row["id"], row["route"], row["run"], verdict.status, verdict.attempts,
                       verdict.detail, fallback)
            )  # fmt: skip

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

    # -- stopping ------------------------------------------------------------------------------

    def _stop(self) -> None:
        workers.stopped(self.id)
        self._held.clear()  # still leased to this worker: released below with the rest
        if self._senders is not None:
            self._senders.close()
        if self._store is not None:
            try:
                self._settle_inflight()
                self._store.outbox.release_deliveries(self.id)
            finally:
                self._store.close()
                self._store = None

    def _settle_inflight(self) -> None:
        """Record what the senders finish in a short slack; count the rest as attempts made.

        An attempt still in flight is abandoned: the next worker sends it again under the same
        idempotency key. It counts (attempts, and the budget from its start), so that a process
        ending mid-attempt, again and again, never restarts the retry budget.
        """
        end = time.monotonic() + STOP_SLACK
        while self._inflight and (left := end - time.monotonic()) > 0:
            try:
                job = self._finished.get(timeout=left)
            except queue.Empty:
                break
            self._finished.put(job)
            self._collect()
        self._collect()
        now = self.clock()
        for job in list(self._inflight.values()):
            row = job.delivery
            attempts = row["attempts"] + 1
            note = (
                f"attempt {attempts} was under way when its cslir process ended; its outcome is"
                " unknown, so it is sent again (same idempotency key)"
            )
            self.queue.finish_delivery(
                row["id"], "pending", attempts, now, note, worker=self.id,
                first_attempt_at=row["first_attempt_at"] or job.started or now,
            )  # fmt: skip
        self._inflight.clear()


def _when(row: Mapping[str, Any]) -> str:
    """When a row next needs a worker: its next attempt, or the end of its lease."""
    return str(row["next_attempt_at"] if row["status"] == "pending" else row["claimed_until"])
