"""The core of a run session: opening a run, its state, recording durably, the watch.

Collaborators (store, clock) are passed in. Every action is checked by the engine against the
latest state and appended with the sequence number that state expects; if another process
recorded something first, the state is refreshed and the action checked again. What steps do
beyond recording (pages, approval requests, evidence, commands) is in ``cslir.runs.effects``.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import Any

from cslir.base.errors import ActionRefused
from cslir.base.timefmt import utcnow
from cslir.engine import actions
from cslir.engine.clocks import due_alerts
from cslir.engine.context import template_context
from cslir.engine.events import Event, NewEvent
from cslir.engine.model import Playbook, localize
from cslir.engine.state import RunState, advance, fold
from cslir.engine.templating import render_shown
from cslir.opsrepo.snapshot import playbook_from_opening
from cslir.runs.sealing import seal_milestones, unsealed
from cslir.store.base import EventStore, SeqConflict
from cslir.trust.keys import SigningKey

Now = Callable[[], datetime]
# What a layer above adds to the watch (a drill's injects and scoring): the events due for a
# state at a wall time, recorded with the clock alerts; it must return nothing once recorded.
Watcher = Callable[[RunState, datetime], actions.Events]
SYSTEM = "cslir"  # the actor of what cslir records by itself (clock alerts, timers)


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def default_actor(environ: Mapping[str, str]) -> str:
    import getpass

    if environ.get("CSLIR_RESPONDER"):
        return environ["CSLIR_RESPONDER"]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "responder"


def paused_message(run_id: str) -> str:
    return f"run {run_id} paused; resume with: cslir resume {run_id}"


def open_run(
    store: EventStore,
    playbook: Playbook,
    inputs: Mapping[str, Any],
    *,
    actor: str,
    mode: str = "live",
    timezone: str | None = None,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    drill: str | None = None,
) -> str:
    """Record run.opened with the playbook's text and sha256; return the run id.

    ``drill`` names the drill a drill run is held for (its snapshot goes in ``extra``).
    """
    rid = run_id or new_run_id(now)
    data = {
        "playbook": {
            "id": playbook.id,
            "title": localize(playbook.title),
            "path": playbook.path,
            "sha256": playbook.sha256,
            "text": playbook.text,
            **_included(playbook),
        },
        "inputs": dict(inputs),
        "mode": mode,
        "timezone": timezone,
        **(extra or {}),
    }
    store.create_run(rid, playbook.id, localize(playbook.title), mode, actor, now, data, drill)
    return rid


def _included(playbook: Playbook) -> dict[str, Any]:
    """The step files a playbook included, recorded so the run never reads them again."""
    if not playbook.includes:
        return {}
    from cslir.opsrepo.includes import recorded

    return {"includes": recorded(playbook.includes)}


@dataclass(eq=False)
class RunCore:
    """One process's handle on one run: its state, durable recording, templates and the watch.

    ``now`` is the clock; ``on_notify`` hears of every page recorded (the delivery worker);
    ``watchers`` add to the watch (a drill run's injects and scoring).
    """

    store: EventStore
    run_id: str
    actor: str
    _: KW_ONLY
    now: Now = utcnow
    on_notify: Callable[[Event], None] | None = None
    # cslir.yaml's default routes: `escalate` for clocks that name none, `audit` witnesses
    routes: Mapping[str, str] = field(default_factory=dict)
    signer: SigningKey | None = None  # the organisation key: signs the head at milestones
    sealing: bool = field(default=False, init=False, repr=False)
    wrote: bool = field(default=False, init=False, repr=False)  # recorded anything (signed at end)
    watchers: list[Watcher] = field(default_factory=list)
    _state: RunState | None = field(default=None, init=False, repr=False)

    @property
    def escalate_route(self) -> str | None:
        return self.routes.get("escalate")

    @property
    def audit_route(self) -> str | None:
        return self.routes.get("audit")

    # -- state -------------------------------------------------------------------------------

    def state(self) -> RunState:
        """The latest state: new events folded onto what this session already knows."""
        if self._state is None:
            self._state = fold(self.store.iter_events(self.run_id), playbook_from_opening)
        else:
            advance(self._state, self.store.iter_events(self.run_id, self._state.last_seq))
        return self._state

    def record(
        self, build: Callable[[RunState], actions.Events], *, actor: str | None = None
    ) -> list[Event]:
        """Check an action against the latest state and append its events durably."""
        for attempt in range(200):
            st = self.state()
            items = build(st)
            if not items:
                return []
            at = self.now()
            drafts = [NewEvent(actor or self.actor, t, d, at) for t, d in items]
            try:
                events = self.store.append_many(self.run_id, drafts, expect_seq=st.last_seq + 1)
            except SeqConflict:
                # someone else acted first: look again and re-check; when many processes
                # write at once, back off a little (jittered) so that each gets its turn
                if attempt >= 2:
                    time.sleep(random.uniform(0, min(0.05, 0.0005 * 2**attempt)))
                continue
            advance(st, events)  # our own events, as stored: no need to read them back
            self.wrote = True
            for e in events:
                if e.type == "notify.requested" and self.on_notify:
                    self.on_notify(e)
            self._after(events)
            return events
        raise ActionRefused("the run is too busy to record this action; try again")

    def _after(self, events: list[Event]) -> None:
        if self.watchers:  # what a step, an input or the closing made due (an inject, a score)
            self.record(self._watched, actor=SYSTEM)
        # checked on the state just advanced first: closing is rare, reading again is not free
        if self._state is not None and actions.maybe_close(self._state):
            self.record(actions.maybe_close, actor=SYSTEM)
        if self._state is not None and unsealed(self, self._state):
            seal_milestones(self)

    # -- context for templates ---------------------------------------------------------------

    def context(self, st: RunState | None = None) -> dict[str, Any]:
        return template_context(st or self.state(), self.now(), self.timezone())

    def local(self, moment: datetime) -> str:
        from cslir.base.timefmt import local_text

        return local_text(moment, self.timezone())

    def timezone(self) -> str | None:
        return (self._state or self.state()).timezone  # fixed when the run opened

    def render(self, text: Any, lang: str | None = None) -> str:
        return render_shown(localize(text, lang), self.context())

    # -- the watch -----------------------------------------------------------------------------

    def watch(self) -> list[Event]:
        """Record clock warnings and misses (paging their escalation route) and end timers.

        It also closes a run whose every step finished but which is not closed yet: the
        process that finished the last step died before it could.
        """

        def build(st: RunState) -> actions.Events:
            # a drill's timers run in scenario time
            timers = actions.timers(st, st.scenario(self.now()))
            return [*self._alerts(st), *timers, *self._watched(st)] or actions.maybe_close(st)

        events = self.record(build, actor=SYSTEM)
        if not events and unsealed(self, self.state()):  # e.g. a run just opened
            events = seal_milestones(self)
        return events

    def _watched(self, st: RunState) -> actions.Events:
        now = self.now()
        return [item for watcher in self.watchers for item in watcher(st, now)]

    def _alerts(self, st: RunState) -> actions.Events:
        items: actions.Events = []
        for kind, data in due_alerts(st, self.now()):
            items.append((kind, data))
            clock = st.playbook.clocks[data["clock"]]
            escalate = clock.escalate or self.escalate_route
            if escalate:
                what = "missed" if kind == "clock.missed" else f"due in under {data['warn']}"
                provisional = (
                    f"; provisional: {data['provisional']}" if data.get("provisional") else ""
                )
                if data.get("conditional"):
                    what += " if it applies (its condition waits on an input not given yet)"
                message = (
                    f"{localize(clock.title) or clock.id} is {what} "
                    f"(due {self.local(datetime.fromisoformat(data['due']))}{provisional}); "
                    f"basis: {'; '.join(clock.basis)}"
                )
                items.append(
                    (
                        "notify.requested",
                        {
                            "route": escalate,
                            "message": message,
                            "reason": kind,
                            "clock": clock.id,
                        },
                    )
                )
        return items
