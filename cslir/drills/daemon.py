"""``cslir scheduler`` as a process: one per store, APScheduler's loop, one log line per event,
a clean stop on SIGTERM.

APScheduler 3 keeps the time: a ``BlockingScheduler`` with an interval job (the watch, every
``tick``) and one cron job per drill (its ``CronTrigger`` in the drill's time zone, coalescing,
a misfire grace), all run in the main thread (``DebugExecutor``), so the store is used from one
thread and a signal stops the loop between two ticks. Each job runs the same ``tick``: what is
due is decided by the store's record of fires (``cslir.drills.scheduler``), never by which job
happened to wake the loop, so nothing depends on APScheduler's memory surviving a restart.

The clock is a collaborator: ``CSLIR_SCHEDULER_CLOCK=2026-03-03T09:59:00+08:00@60`` starts the
scheduler's time there and runs it 60 times faster (to rehearse a schedule, and for tests that
must not wait for minutes); the outbox worker dates its attempts with the same clock.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from cslir.base.errors import CslirError, UsageError
from cslir.drills.scheduler import Options, Scheduler
from cslir.notify.outcomes import Result
from cslir.notify.policy import Policy
from cslir.opsrepo.settings import Settings
from cslir.store import open_store
from cslir.store.base import EventStore
from cslir.store.schedule import Holder

CLOCK_ENV = "CSLIR_SCHEDULER_CLOCK"
STOP_GRACE = 5.0  # seconds the outbox gets at a stop to send what is due


class SchedulerBusy(CslirError):
    """Another scheduler holds the store."""


def clock_from(environ: Mapping[str, str]) -> Callable[[], datetime]:
    """The wall clock, or the one ``CSLIR_SCHEDULER_CLOCK`` describes (START[@SPEED])."""
    text = environ.get(CLOCK_ENV, "").strip()
    if not text:
        return lambda: datetime.now(UTC)
    start_text, _, speed_text = text.partition("@")
    try:
        start = datetime.fromisoformat(start_text.replace("Z", "+00:00"))
        speed = float(speed_text or 1)
    except ValueError:
        raise UsageError(f"{CLOCK_ENV}={text!r}: write START[@SPEED], e.g. "
                         "2026-03-03T09:59:00+08:00@60") from None  # fmt: skip
    if start.tzinfo is None or speed <= 0:
        raise UsageError(f"{CLOCK_ENV}={text!r}: the start needs a UTC offset; speed must be > 0")
    origin = time.monotonic()
    return lambda: start.astimezone(UTC) + timedelta(seconds=(time.monotonic() - origin) * speed)


def holder() -> Holder:
    pid, host = os.getpid(), socket.gethostname()
    return Holder(f"cslir scheduler {pid}@{host}", pid, host)


@dataclass
class Daemon:
    settings: Settings
    environ: Mapping[str, str]
    clock: Callable[[], datetime]
    log: Callable[[str], None]
    policy: Policy
    options: Options
    tick: float = 10.0
    stale_after: float = 120.0  # another host's holder silent this long is taken over
    signer: Any = None  # the organisation key that signs milestones, if cslir.yaml names one

    def run(self, *, once: bool) -> int:
        store = open_store(self.settings.store, clock=self.clock)
        me = holder()
        try:
            other = store.schedule.acquire(me, self.clock(), self.stale_after)
            if other is not None:
                raise SchedulerBusy(
                    f"another scheduler already keeps the store {store.where}: {other.holder}, "
                    f"{other.describe()}; one scheduler per store (stop that one first)"
                )
            try:
                return self._once(store) if once else self._serve(store, me)
            finally:
                store.schedule.release(me)
        finally:
            store.close()

    # -- --once --------------------------------------------------------------------------------

    def _once(self, store: EventStore) -> int:
        from cslir.notify.service import flush

        core = Scheduler(self.settings, store, clock=self.clock, environ=self.environ,
                         log=self.log, options=self.options, signer=self.signer)  # fmt: skip
        core.tick()
        report = flush(self.settings, self.environ, self.policy, self._delivered, clock=self.clock)
        if report.left:
            self.log(f"undelivered count={report.left} (cslir notify flush retries them)")
        core.seal()
        return 0 if report.ok else 1

    def _delivered(self, result: Result) -> None:
        where = f" run={result.run}" if result.run else ""
        self.log(f"{result.status} route={result.route}{where} attempts={result.attempts}")

    # -- the daemon ----------------------------------------------------------------------------

    def _serve(self, store: EventStore, me: Holder) -> int:
        from apscheduler.triggers.interval import IntervalTrigger

        from cslir.notify.background import Background
        from cslir.notify.outbox import Outbox
        from cslir.notify.routes import RouteBook

        routes = RouteBook(self.settings.root)
        outbox = Outbox(self.settings.store, routes, environ=self.environ, policy=self.policy,
                        clock=self.clock, on_outcome=self._delivered)  # fmt: skip
        worker = Background(outbox)
        worker.start()
        core = Scheduler(self.settings, store, clock=self.clock, environ=self.environ,
                         log=self.log, notice=outbox.notice, options=self.options,
                         signer=self.signer)  # fmt: skip
        loop = self._loop()
        stopping: list[str] = []

        def tick() -> None:
            if stopping:
                return
            try:
                if core.tick():
                    self._cron_jobs(loop, core, tick)
                if not store.schedule.beat(me, self.clock()):
                    self.log("error the scheduler lock was taken over; stopping")
                    stop(signal.SIGTERM, None)
            except Exception as e:  # one bad tick must not end the daemon
                self._report(e, outbox)

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.append(signal.Signals(signum).name)
            if loop.running:
                loop.shutdown(wait=False)

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        loop.add_job(tick, IntervalTrigger(seconds=self.tick), id="watch",
                     next_run_time=datetime.now(UTC))  # fmt: skip
        self.log(f"started store={store.where} holder={me.holder} tick={self.tick:g}s")
        if not stopping:
            loop.start()
        worker.request_stop(STOP_GRACE)
        worker.join()
        core.seal()
        self.log(f"stopped on {stopping[0] if stopping else 'request'}")
        return 0

    def _loop(self) -> Any:
        """APScheduler's loop, its jobs run in this (the main) thread, coalesced, with grace."""
        from apscheduler.executors.debug import DebugExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler

        grace = max(int(self.options.grace), 1)
        return BlockingScheduler(
            timezone=UTC,
            executors={"default": DebugExecutor()},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
        )

    def _cron_jobs(self, loop: Any, core: Scheduler, tick: Callable[[], None]) -> None:
        """One APScheduler job per scheduled drill: it wakes the loop at the slot's time."""
        from cslir.opsrepo.cron import CronError, cron_trigger

        wanted = {}
        for loaded in core.catalog.drills():
            drill = loaded.drill
            if drill.cron:
                try:
                    tz = drill.timezone or self.settings.timezone or "UTC"
                    wanted[f"drill:{drill.id}"] = cron_trigger(drill.cron, tz)
                except CronError:
                    continue
        for job in loop.get_jobs():
            if job.id.startswith("drill:") and job.id not in wanted:
                job.remove()
        for job_id, trigger in wanted.items():
            loop.add_job(tick, trigger, id=job_id, replace_existing=True)

    def _report(self, error: Exception, outbox: Any) -> None:
        if isinstance(error, CslirError):
            self.log(f"error {error.message}")
            return
        from cslir.notify.background import write_redacted_crash_log

        path = write_redacted_crash_log(error, outbox)
        self.log(f"error internal {type(error).__name__}: {error} (details in {path})")
