"""What the scheduler does each time it looks: every drill's schedule, reminders, and the watch
over every open run. ``tick`` does everything due at the clock's time and nothing twice.

Why the slots live in the store and not in APScheduler's memory: a restart must know which
slots were fired, and find the ones that fell while nothing was running. Each (drill, slot) is
claimed by inserting its row (``store.schedule``); from the last slot recorded (or since the
drill was first kept) to now, the slots are enumerated with the drill's APScheduler
``CronTrigger`` in its time zone, and

- the newest slot still within the misfire grace is fired; the older ones within the grace are
  recorded as coalesced into it (APScheduler's ``coalesce``): one drill, not a burst;
- a slot past the grace is recorded as missed, logged and paged to the ``escalate`` and
  ``audit`` routes of cslir.yaml (one page per slot, under a stable idempotency key).

A fire opens the drill run under an id derived from its slot, so a fire cut short by a crash
is finished on the next tick without opening a second run. Every open run, live incidents
included, is watched as a responder's process would (clock warnings and misses recorded and
paged once, timers ended, a drill's injects delivered); a drill the scheduler opened that needs
nobody (``answers:``, or only pages, commands and timers) is worked to its end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cslir.base.errors import CslirError, NotFound
from cslir.base.timefmt import local_text
from cslir.drills.catalog import Catalog, Changes, Loaded
from cslir.drills.holding import attach, call_participants, open_drill
from cslir.drills.live import drill_of
from cslir.engine.durations import format_span
from cslir.engine.events import Event, format_at, parse_at
from cslir.notify.plan import plan_page
from cslir.notify.routes import RouteBook
from cslir.opsrepo.cron import CronError, cron_trigger
from cslir.opsrepo.settings import Settings
from cslir.runs.automation import answer_step
from cslir.runs.effects import RunSession
from cslir.runs.session import SYSTEM
from cslir.store.base import EventStore

ACTOR = "cslir-scheduler"
MICRO = timedelta(microseconds=1)
LOGGED = ("clock.warned", "clock.missed", "drill.inject", "run.closed", "drill.scored")


@dataclass(frozen=True)
class Options:
    remind: float = 24 * 3600.0  # seconds before a slot that participants are reminded
    grace: float = 3600.0  # a slot found later than this after its time is missed, not fired
    max_slots: int = 1000  # slots handled per drill per tick (a long outage: the rest next tick)


def slot_run_id(drill_id: str, slot: datetime) -> str:
    """The run a slot opens: the same id however often the fire is retried."""
    digest = hashlib.sha256(f"{drill_id}\0{format_at(slot)}".encode()).hexdigest()[:6]
    return slot.astimezone(UTC).strftime("%Y%m%d-%H%M%S-") + digest


def _key(*parts: str) -> str:
    return "cslir-sched-" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


class _Quiet:
    """What ``answer_step`` says about each step goes to the scheduler's log."""

    def __init__(self, log: Callable[[str], None], run_id: str) -> None:
        self.log, self.run_id = log, run_id

    def say(self, text: str) -> None:
        self.log(f"step run={self.run_id} {text.strip()}")


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        *,
        clock: Callable[[], datetime],
        environ: Mapping[str, str],
        log: Callable[[str], None],
        notice: Callable[[Event | None], None] | None = None,
        options: Options | None = None,
        signer: Any = None,
    ) -> None:
        self.settings, self.store, self.clock = settings, store, clock
        self.environ, self.log, self.notice = environ, log, notice
        self.options = options or Options()
        self.signer = signer  # the organisation key, when cslir.yaml names one: signs milestones
        self.catalog = Catalog(settings.root)
        self.routes = RouteBook(settings.root)
        self.sessions: dict[str, RunSession] = {}
        self.unreadable: set[str] = set()  # runs whose record cannot be folded: said once
        # what this process already knows the store holds, so a tick writes only news
        self._since: dict[str, str] = {}
        self._reminded: set[tuple[str, str]] = set()

    def tick(self) -> Changes:
        """Everything due now: reload, fire, remind, watch. Returns what the reload found."""
        changes = self.reload()
        now = self.clock()
        for loaded in self.catalog.drills():
            try:
                self.keep(loaded, now)
            except (CslirError, CronError) as e:
                self.log(f"error drill={loaded.drill.id} {e}")
        self.watch_runs()
        return changes

    # -- the drill files -----------------------------------------------------------------------

    def reload(self) -> Changes:
        changes = self.catalog.reload()
        for drill_id in changes.loaded:
            self.log(f"loaded drill={drill_id}")
        for drill_id in changes.removed:
            self.log(f"removed drill={drill_id}")
        for path in changes.fixed:
            self.log(f"fixed file={path}")
        for broken in changes.broken:
            kept = broken.path in self.catalog.by_path
            still = "; its previous version keeps its schedule" if kept else ""
            first = broken.error.splitlines()[-1].strip()
            self.log(f"broken file={broken.path}{still}: {first}")
            self.page_ops(
                f"cslir scheduler: the drill file {broken.path} no longer validates{still}. "
                f"{broken.error}",
                _key("broken", broken.path, broken.digest),
            )
        return changes

    # -- one drill's schedule ------------------------------------------------------------------

    def keep(self, loaded: Loaded, now: datetime) -> None:
        drill = loaded.drill
        if not drill.cron:
            return
        trigger = cron_trigger(drill.cron, drill.timezone or self.settings.timezone or "UTC")
        schedule = self.store.schedule
        grace = timedelta(seconds=self.options.grace)
        # a drill seen for the first time is kept from one grace back: a slot that fell just
        # before the scheduler first started is still held; older ones were never its to fire
        if drill.id not in self._since:
            self._since[drill.id] = schedule.watched_since(drill.id, now - grace)
        since = max(schedule.last_slot(drill.id) or "", self._since[drill.id])
        due: list[datetime] = []
        at = trigger.get_next_fire_time(None, parse_at(since) + MICRO)
        while at is not None and at <= now and len(due) < self.options.max_slots:
            due.append(at)
            at = trigger.get_next_fire_time(None, at + MICRO)
        fresh = [slot for slot in due if now - slot <= grace]
        for slot in due:
            if slot not in fresh:
                self.missed(loaded, slot, now)
        for slot in fresh[:-1]:
            newest = format_at(fresh[-1])
            if schedule.claim(drill.id, format_at(slot), "fire", "coalesced", now, newest) is None:
                self.log(f"coalesced drill={drill.id} slot={self._local(slot)} into={newest}")
        if fresh:
            self.fire(loaded, fresh[-1], now)
        self.remind(loaded, trigger.get_next_fire_time(None, now + MICRO), now)

    def fire(self, loaded: Loaded, slot: datetime, now: datetime) -> str | None:
        """Open the slot's drill run and call its participants; None if it was done before."""
        drill, schedule = loaded.drill, self.store.schedule
        slot_at = format_at(slot)
        if schedule.claim(drill.id, slot_at, "fire", "firing", now) not in (None, "firing"):
            return None
        run_id = slot_run_id(drill.id, slot)
        driven = "scheduler" if drill.runs_by_itself(loaded.playbook) else None
        try:
            self.store.resolve_run(run_id)
        except NotFound:  # not opened yet (a fire cut short by a crash has opened it)
            open_drill(
                self.store, drill, loaded.playbook, actor=ACTOR, now=now,
                timezone=self.settings.timezone, lang=self.settings.language, run_id=run_id,
                slot=slot_at, driven_by=driven,
            )  # fmt: skip
        call_participants(self.session(run_id))
        schedule.settle(drill.id, slot_at, "fire", "fired", now, run=run_id)
        how = " unattended" if driven else ""
        self.log(f"fired drill={drill.id} slot={self._local(slot)} run={run_id}{how}")
        return run_id

    def missed(self, loaded: Loaded, slot: datetime, now: datetime) -> None:
        drill = loaded.drill
        late = format_span((now - slot).total_seconds())
        detail = f"found {late} after its time, past the {format_span(self.options.grace)} grace"
        if self.store.schedule.claim(drill.id, format_at(slot), "fire", "missed", now, detail):
            return  # recorded before
        self.log(f"missed drill={drill.id} slot={self._local(slot)} ({detail})")
        self.page_ops(
            f"Drill '{drill.name(self.settings.language)}' ({drill.id}) was due at "
            f"{self._local(slot)} and was not held: nothing was running to start it ({detail}). "
            f"Hold it now with: cslir drill run {drill.path}",
            _key("missed", drill.id, format_at(slot)),
        )

    def remind(self, loaded: Loaded, upcoming: datetime | None, now: datetime) -> None:
        drill = loaded.drill
        if upcoming is None or not drill.participants or self.options.remind <= 0:
            return
        ahead = (upcoming - now).total_seconds()
        if ahead > self.options.remind:
            return
        slot_at = format_at(upcoming)
        if (drill.id, slot_at) in self._reminded:
            return
        self._reminded.add((drill.id, slot_at))
        if self.store.schedule.claim(drill.id, slot_at, "reminder", "fired", now) is not None:
            return
        message = (
            f"Reminder: drill '{drill.name(self.settings.language)}' ({drill.id}) starts "
            f"{self._local(upcoming)}, in {format_span(round(ahead / 60) * 60)}. You will be paged "
            "then with the "
            "command that joins it."
        )
        for route in drill.participants:
            self.page(route, message, _key("remind", drill.id, slot_at, route), drill=True)
        self.log(f"reminded drill={drill.id} slot={self._local(upcoming)}")

    # -- the watch over every open run ---------------------------------------------------------

    def watch_runs(self) -> None:
        for run_id in self.store.open_run_ids():
            if run_id in self.unreadable:
                continue
            try:
                session = self.session(run_id)
                events = session.watch()
                events += self.work(session)
            except (CslirError, ValueError) as error:
                self.unreadable.add(run_id)
                self.log(f"error run={run_id} cannot be watched: {error}")
                continue
            for e in events:
                if e.type in LOGGED:
                    what = e.data.get("clock") or e.data.get("inject") or ""
                    self.log(f"{e.type} run={run_id} {what}".rstrip())
            if session.state().closed:
                self._seal(self.sessions.pop(run_id))

    def session(self, run_id: str) -> RunSession:
        if run_id not in self.sessions:
            session = RunSession(
                self.store, run_id, SYSTEM, now=self.clock, on_notify=self.notice,
                role_routes=self.settings.role_routes, routes=self.settings.routes,
                signer=self.signer,
            )  # fmt: skip
            self.sessions[run_id] = attach(session)
        return self.sessions[run_id]

    def work(self, session: RunSession) -> list[Event]:
        """Work every ready step of a drill the scheduler opened to run by itself."""
        st = session.state()
        spec = st.drill_spec or {}
        drill = drill_of(st)
        if drill is None or spec.get("driven_by") != "scheduler":
            return []
        before = st.last_seq
        answers = drill.answer_file()["steps"]
        say = _Quiet(self.log, st.run_id).say
        for _ in range(len(st.steps) * 2 + 1):  # each pass finishes at least one step
            st = session.state()
            ready = [*session.orphaned(st), *st.ready_steps()]
            if st.closed or st.paused or not ready:
                break
            for sid in ready:  # a step the drill scripts no answer for: automation stands in
                answer_step(session, sid, dict(answers.get(sid) or {}), root=self.settings.root,
                            environ=self.environ, say=say, auto=sid not in answers)  # fmt: skip
        return list(self.store.iter_events(st.run_id, before))

    def seal(self) -> None:
        """Sign the head of every open run this scheduler wrote to (at its end, as any process
        does; a run that closed was signed when it closed)."""
        for session in self.sessions.values():
            self._seal(session)

    def _seal(self, session: RunSession) -> None:
        from cslir.runs.sealing import seal_head

        if session.wrote and session.signer is not None:
            try:
                seal_head(session)
            except CslirError as e:
                self.log(f"error run={session.run_id} not signed: {e.message}")

    # -- paging without a run ------------------------------------------------------------------

    def page_ops(self, message: str, key: str) -> None:
        """Page the escalate and audit routes of cslir.yaml (each once per key)."""
        targets = list(dict.fromkeys(self.settings.routes.get(r) for r in ("escalate", "audit")))
        named = [t for t in targets if t]
        if not named:
            self.log("not paged: cslir.yaml names no escalate or audit route")
        for route in named:
            self.page(route, message, f"{key}-{route}", drill=False)

    def page(self, route: str, message: str, key: str, *, drill: bool) -> None:
        planned = plan_page(
            route, message, routes=self.routes.current(), drill=drill, key=key, reason="scheduler"
        )
        self.store.outbox.enqueue_delivery(
            None, None, planned.route, planned.payload, planned.key, self.clock()
        )
        if self.notice is not None:
            self.notice(None)

    def _local(self, moment: datetime) -> str:
        return local_text(moment, self.settings.timezone)
