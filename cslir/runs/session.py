"""The run service: opens runs, records actions durably, runs commands, keeps the watch.

Collaborators (store, clock, environment) are passed in. Every action is checked by the engine
against the latest state and appended with the sequence number that state expects; if another
process recorded something first, the state is refreshed and the action checked again.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cslir.base.errors import ActionRefused
from cslir.base.procs import alive
from cslir.base.timefmt import utcnow
from cslir.engine import actions
from cslir.engine.clocks import due_alerts, views
from cslir.engine.durations import parse_duration
from cslir.engine.events import Event, NewEvent
from cslir.engine.model import Playbook, localize
from cslir.engine.state import RunState, advance, fold, input_values
from cslir.engine.templating import TemplateProblem, render
from cslir.opsrepo.snapshot import playbook_from_opening
from cslir.store.sqlite import SeqConflict, Store

Now = Callable[[], datetime]
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


def open_run(
    store: Store,
    playbook: Playbook,
    inputs: Mapping[str, Any],
    *,
    actor: str,
    mode: str = "live",
    timezone: str | None = None,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> str:
    """Record run.opened with the playbook's text and sha256; return the run id."""
    rid = run_id or new_run_id(now)
    data = {
        "playbook": {
            "id": playbook.id,
            "title": localize(playbook.title),
            "path": playbook.path,
            "sha256": playbook.sha256,
            "text": playbook.text,
        },
        "inputs": dict(inputs),
        "mode": mode,
        "timezone": timezone,
        **(extra or {}),
    }
    store.create_run(rid, playbook.id, localize(playbook.title), mode, actor, now, data)
    return rid


class RunSession:
    """One process's handle on one run."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        actor: str,
        *,
        now: Now = utcnow,
        evidence_dir: Path | None = None,
        on_notify: Callable[[Event], None] | None = None,
        role_routes: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.actor = actor
        self.now = now
        self.evidence_dir = evidence_dir or Path(store.path).parent / "evidence"
        self.on_notify = on_notify
        self.role_routes = dict(role_routes or {})  # role -> route paged for its approvals
        self._state: RunState | None = None
        self._running: set[str] = set()  # command steps this session is running now

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
            for e in events:
                if e.type == "notify.requested" and self.on_notify:
                    self.on_notify(e)
            self._after(events)
            return events
        raise ActionRefused("the run is too busy to record this action; try again")

    def _after(self, events: list[Event]) -> None:
        # checked on the state just advanced first: closing is rare, reading again is not free
        if self._state is not None and actions.maybe_close(self._state):
            self.record(actions.maybe_close, actor=SYSTEM)

    # -- context for templates ---------------------------------------------------------------

    def context(self, st: RunState | None = None) -> dict[str, Any]:
        st = st or self.state()
        now = self.now()
        values = input_values(st.inputs, st.playbook)
        clocks = {}
        for v in views(st, now):
            clocks[v.id] = {
                "state": v.state,
                "due_utc": v.due_at.isoformat() if v.due_at else "not started",
                "due_local": self.local(v.due_at) if v.due_at else "not started yet",
                "provisional": v.provisional,
            }
        return {
            **values,
            "inputs": {
                k: self.local(v) if isinstance(v, datetime) else v for k, v in values.items()
            },
            "clocks": clocks,
            "run": {"id": st.run_id, "mode": st.mode},
            "playbook": {"id": st.playbook.id, "title": localize(st.playbook.title)},
            "steps": {k: {"status": s.status, "actor": s.actor} for k, s in st.steps.items()},
            "drill": st.drill,
            "now": self.local(now),
        }

    def local(self, moment: datetime) -> str:
        from cslir.base.timefmt import local_text

        return local_text(moment, self.timezone())

    def timezone(self) -> str | None:
        return (self._state or self.state()).timezone  # fixed when the run opened

    def render(self, text: Any, lang: str | None = None) -> str:
        src = localize(text, lang)
        try:
            return render(src, self.context())
        except TemplateProblem as e:
            return f"{src}  [template error: {e}]"

    # -- the watch -----------------------------------------------------------------------------

    def watch(self) -> list[Event]:
        """Record clock warnings and misses (paging their escalation route) and end timers.

        It also closes a run whose every step finished but which is not closed yet: the
        process that finished the last step died before it could.
        """

        def build(st: RunState) -> actions.Events:
            return [*self._alerts(st), *actions.timers(st, self.now())] or actions.maybe_close(st)

        return self.record(build, actor=SYSTEM)

    def _alerts(self, st: RunState) -> actions.Events:
        items: actions.Events = []
        for kind, data in due_alerts(st, self.now()):
            items.append((kind, data))
            clock = st.playbook.clocks[data["clock"]]
            if clock.escalate:
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
                            "route": clock.escalate,
                            "message": message,
                            "reason": kind,
                            "clock": clock.id,
                        },
                    )
                )
        return items

    # -- step kinds that do something ----------------------------------------------------------

    def notify_step(self, step_id: str) -> list[Event]:
        st = self.state()
        step = st.playbook.step(step_id)
        message = self.render(step.message or step.title or step.id)
        link = {"link": self.render(step.link)} if step.link else {}
        return self.record(
            lambda s: [
                *actions.start(s, step_id),
                (
                    "notify.requested",
                    {"route": step.route, "message": message, "step": step_id, "reason": "step"}
                    | link,
                ),
                ("step.done", {"step": step_id}),
            ]
        )

    def page(self, route: str, message: str) -> list[Event]:
        return self.record(
            lambda s: [("notify.requested", {"route": route, "message": message, "reason": "page"})]
        )

    def request_approval(self, step_id: str) -> list[Event]:
        """Ask for an approval and, if cslir.yaml routes that role, page it in the same commit."""

        def build(s: RunState) -> actions.Events:
            items = actions.request_approval(s, step_id)
            step = s.playbook.step(step_id)
            route = self.role_routes.get(step.by or "")
            if items and route:
                title = localize(step.title) or step_id
                message = (
                    f"Approval needed from the {step.by} role: {title} "
                    f"(run {self.run_id}, {localize(s.playbook.title)}). "
                    f"Sign off with: cslir approve {self.run_id} {step_id} --as NAME"
                )
                data = {"route": route, "message": message, "step": step_id, "reason": "approval"}
                items.append(("notify.requested", data))
            return items

        return self.record(build)

    def add_evidence(
        self, path: Path | None = None, *, text: str | None = None, step_id: str | None = None
    ) -> list[Event]:
        from cslir.runs.evidence import store_file, store_text

        if path is not None:
            item = store_file(path, self.evidence_dir)
        elif text is not None:
            item = store_text(text, self.evidence_dir)
        else:
            raise ActionRefused("give a file or a text as evidence")
        data: dict[str, Any] = dict(item)
        if step_id:
            data["step"] = step_id
        return self.record(lambda s: [("evidence.added", data)])

    def run_command(self, step_id: str, *, root: Path, environ: Mapping[str, str]) -> list[Event]:
        """Run a command step (or simulate or skip it in a drill) and record its outcome.

        The attempt is recorded, with this process's id and host, before the command starts:
        if the process dies mid-command the step is left running by a runner that is gone,
        and ``orphaned`` lets the next process run it again.
        """
        from cslir.runs.commandstep import execute

        st = self.state()
        step = st.index.step[step_id]
        if st.drill and step.in_drill == "skip":
            return self.record(lambda s: actions.skip(s, step_id, "skipped in drill"))
        try:
            argv = self._argv(step.run)
            env = {k: self._env_value(v, environ) for k, v in step.env.items()}
        except TemplateProblem as e:
            raise ActionRefused(f"step '{step_id}': its command cannot be built: {e}") from None
        runner = {"pid": os.getpid(), "host": socket.gethostname()}
        self.record(lambda s: [(t, {**d, **runner}) for t, d in actions.begin_attempt(s, step_id)])
        if st.drill and step.in_drill != "execute":
            outcome: dict[str, Any] = {"argv": argv, "exit": 0, "simulated": True,
                                       "summary": "simulated in drill"}  # fmt: skip
            return self.record(lambda s: actions.finish_command(s, step_id, outcome))
        self._running.add(step_id)
        try:
            timeout = parse_duration(step.timeout).seconds if step.timeout else 600
            result = execute(argv, env=env, base_env=environ, cwd=root / (step.cwd or "."),
                             timeout=timeout)  # fmt: skip
        finally:
            self._running.discard(step_id)
        return self.record(lambda s: actions.finish_command(s, step_id, result))

    def orphaned(self, st: RunState) -> list[str]:
        """Command steps left running by a process on this host that is no longer there."""
        here = socket.gethostname()
        out = []
        for sid in st.in_order("running"):
            runner = st.steps[sid].runner or {}
            if st.index.step[sid].kind != "command" or sid in self._running:
                continue
            if runner.get("host", here) != here:
                continue  # another machine's process: it may still be running
            pid = runner.get("pid")
            if not isinstance(pid, int) or pid == os.getpid() or not alive(pid):
                out.append(sid)  # our own pid here means an earlier process that had it
        return out

    def _argv(self, run: tuple[str, ...]) -> list[str]:
        ctx = self.context()
        return [render(a, ctx) for a in run]

    def _env_value(self, value: str, environ: Mapping[str, str]) -> str:
        from cslir.base.secretrefs import resolve

        return render(resolve(value, environ), self.context())
