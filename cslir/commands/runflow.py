"""Starting and continuing runs: inputs, the snapshot check, then the walkthrough or drive."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from cslir.base.errors import Interrupted, UsageError
from cslir.base.timefmt import utcnow, zone
from cslir.commands.app import App
from cslir.engine import actions
from cslir.engine.model import Step
from cslir.engine.state import RunState
from cslir.opsrepo.validate import load_playbook
from cslir.runs.answers import Context, collect_inputs, load_answers
from cslir.runs.automation import drive
from cslir.runs.effects import RunSession
from cslir.runs.session import open_run, paused_message
from cslir.terminal.console import Term
from cslir.terminal.prompts import ask_input
from cslir.terminal.walkthrough import Walkthrough


def start_run(
    app: App,
    path: Path,
    given: dict[str, str],
    *,
    answers: Path | None,
    auto: bool,
    mode: str,
) -> int:
    pb = load_playbook(path, app.settings.root)
    term = Term()
    now = utcnow()
    tz = app.settings.timezone
    checks = answers_context(app, now, drill=mode == "drill")
    ans = load_answers(answers, pb, checks) if answers else None
    refuse_unanswerable(term, unattended=auto or ans is not None)
    merged: dict[str, Any] = {**((ans or {}).get("inputs") or {}), **given}
    ask = None  # with --auto or --answers, nothing is asked: inputs are given or defaulted
    if not auto and ans is None:
        ask = partial(ask_input, term, now=now, tz=zone(tz), lang=app.settings.language)
    inputs = collect_inputs(pb, merged, ask, now=now, tz=zone(tz))
    run_id = open_run(app.store, pb, inputs, actor=app.actor, mode=mode, timezone=tz, now=utcnow())
    term.say(f"run {run_id} started; another terminal can follow it: cslir status {run_id}")
    session = app.session(run_id)
    return walk_or_drive(app, session, term, ans, auto=auto, role=None)


def continue_run(
    app: App,
    prefix: str,
    *,
    answers: Path | None,
    auto: bool,
    role: str | None,
    joining: bool = False,
) -> int:
    session = app.session(prefix)
    st = session.state()
    term = Term()
    pb = st.playbook
    where = [Path(pb.path), app.settings.root / pb.path] if pb.path else []
    source = next((p for p in where if p.is_file()), None)
    if source is not None:
        recorded = {source: pb.text, **{source.parent / k: v for k, v in pb.includes.items()}}
        for path, text in recorded.items():
            current = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            if current != hashlib.sha256(text.encode("utf-8")).hexdigest():
                shown = pb.path if path == source else os.path.relpath(path)
                term.say(
                    f"note: {shown} has changed since this run started; the run keeps the "
                    "playbook it started with",
                    "yellow",
                )
    if not joining:
        session.record(actions.resume)
    checks = answers_context(app, utcnow(), drill=st.drill, requests=st)
    ans = load_answers(answers, pb, checks) if answers else None
    return walk_or_drive(app, session, term, ans, auto=auto, role=role, joining=joining)


def refuse_unanswerable(term: Term, *, unattended: bool, also: str = "") -> None:
    """Refuse, before a run opens, a walkthrough that nobody at this terminal could answer."""
    if not term.interactive and not unattended:
        raise UsageError(
            "stdin is not a terminal, so nobody can answer the walkthrough: "
            f"pass --answers FILE or --auto{also}"
        )


def answers_context(
    app: App, now: datetime, *, drill: bool, requests: RunState | None = None
) -> Context:
    """What an answers file is checked against: approvers as ``cslir approve`` checks them
    (the requester is whoever asked already, else the person running the file)."""

    def approver(step: Step, name: str) -> str | None:
        asked = requests.steps[step.id].requested_by if requests is not None else None
        return actions.approver_problem(step, name, app.roles_of(name),
                                        requested_by=asked or app.actor, drill=drill)  # fmt: skip

    return Context(now=now, tz=zone(app.settings.timezone), approver=approver)


def _pages_told(app: App, run_id: str, term: Term, rc: int) -> int:
    """Without a terminal nobody sees a page fail: say so on the last line, and exit 1 if one
    failed (one still pending is said, not failed: flush or the next process sends it)."""
    from cslir.notify.hook import stop_workers
    from cslir.notify.service import undelivered

    stop_workers()  # the worker's grace first: what it sends now is not undelivered
    line, failed = undelivered(app.store, run_id)
    if line:
        term.say(line, "red")
    return rc or int(failed)


def walk_or_drive(
    app: App,
    session: RunSession,
    term: Term,
    ans: dict[str, Any] | None,
    *,
    auto: bool,
    role: str | None,
    joining: bool = False,
    then: Callable[[], None] | None = None,
) -> int:
    """The walkthrough, or the drive without a terminal; ``then`` says more at the end (a
    drill's ratings), before the line that names pages not delivered."""
    if auto or ans is not None or not term.interactive:
        try:
            rc = drive(session, ans, auto=auto, root=app.settings.root, environ=app.environ,
                       say=term.say, roles_of=app.roles_of)  # fmt: skip
            if then is not None:
                then()
            return _pages_told(app, session.run_id, term, rc)
        except KeyboardInterrupt:
            session.record(partial(actions.pause, reason="interrupted"))
            raise Interrupted(paused_message(session.run_id)) from None
    rc = Walkthrough(
        session,
        term,
        root=app.settings.root,
        environ=app.environ,
        lang=app.settings.language,
        role=role,
        roles=app.roles_of(app.actor),
        joining=joining,
    ).run()
    if then is not None:
        then()
    return rc
