"""``cslir scheduler`` as a process: one per store, a loop that sleeps until the next thing is
due, one log line per event, a clean stop on SIGTERM.

The loop is ours, on APScheduler's triggers: it wakes every ``tick`` (the watch over every open
run) and at each drill's next cron slot (its ``CronTrigger`` in the drill's time zone), whichever
comes first, and runs the same ``tick`` in the main thread, so the store is used from one
thread. What is due is decided by the store's record of fires (``cslir.drills.scheduler``),
never by which wake-up happened, so nothing depends on memory surviving a restart.

A signal stops the loop between two ticks, never in one: its handler only records it and wakes
the sleep through a pipe. (APScheduler's ``BlockingScheduler``, shut down from a handler while
a tick ran, emptied its job store under the running job and crashed with exit 3 when the tick
returned; and its ``threading.Event``, set from a handler, can deadlock on the lock the
interrupted thread holds.)

The clock is a collaborator: ``CSLIR_SCHEDULER_CLOCK=2026-03-03T09:59:00+08:00@60`` starts the
scheduler's time there and runs it 60 times faster (to rehearse a schedule, and for tests that
must not wait for minutes); the outbox worker dates its attempts with the same clock.
"""

from __future__ import annotations

import contextlib
import os
import select
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
        stopping: list[str] = []
        with _Wake() as wake:

            def stop(signum: int, frame: FrameType | None) -> None:
                stopping.append(signal.Signals(signum).name)  # seen between two ticks
                wake.set()

            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, stop)
            self.log(f"started store={store.where} holder={me.holder} tick={self.tick:g}s")
            slots: list[Any] = []  # the drills' cron triggers, read again when drills change
            while not stopping:
                began = time.monotonic()
                try:
                    if core.tick():
                        slots = _cron_triggers(core, self.settings.timezone)
                    if not store.schedule.beat(me, self.clock()):
                        self.log("error the scheduler lock was taken over; stopping")
                        stop(signal.SIGTERM, None)
                except Exception as e:  # one bad tick must not end the daemon
                    self._report(e, outbox)
                watch = began + self.tick - time.monotonic()
                wake.wait(until_next(slots, datetime.now(UTC), watch))
            worker.request_stop(STOP_GRACE)
            worker.join()
            core.seal()
        self.log(f"stopped on {stopping[0]}")
        return 0

    def _report(self, error: Exception, outbox: Any) -> None:
        if isinstance(error, CslirError):
            self.log(f"error {error.message}")
            return
        from cslir.notify.background import write_redacted_crash_log

        path = write_redacted_crash_log(error, outbox)
        self.log(f"error internal {type(error).__name__}: {error} (details in {path})")


def until_next(slots: list[Any], now: datetime, watch: float) -> float:
    """Seconds to sleep: ``watch`` (until the next watch tick), or less when a drill's next
    slot falls sooner by the wall clock ``now``; never negative."""
    left = watch
    for trigger in slots:
        at = trigger.get_next_fire_time(None, now)
        if at is not None:
            left = min(left, (at - now).total_seconds())
    return max(left, 0.0)


def _cron_triggers(core: Scheduler, timezone: str | None) -> list[Any]:
    """The cron trigger of every scheduled drill (a drill whose cron is bad has none)."""
    from cslir.opsrepo.cron import CronError, cron_trigger

    triggers = []
    for loaded in core.catalog.drills():
        drill = loaded.drill
        if drill.cron:
            try:
                triggers.append(cron_trigger(drill.cron, drill.timezone or timezone or "UTC"))
            except CronError:
                continue
    return triggers


class _Wake:
    """A sleep that a signal handler can cut short. A pipe, because a handler must take no
    lock: the thread it interrupts may hold it. Once closed, ``set`` does nothing (the handler
    outlives the loop: a second SIGTERM during the stop is only recorded)."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)

    def set(self) -> None:
        if self._write < 0:
            return
        with contextlib.suppress(BlockingIOError):  # the pipe is full: the sleep ends anyway
            os.write(self._write, b"\0")

    def wait(self, seconds: float) -> None:
        ready, _, _ = select.select([self._read], [], [], seconds)
        if ready:
            os.read(self._read, 4096)

    def __enter__(self) -> _Wake:
        return self

    def __exit__(self, *exc: object) -> None:
        fds, self._write = (self._read, self._write), -1  # before closing: a handler may run
        for fd in fds:
            os.close(fd)
