"""Runs without a terminal: every ready step worked from ``--answers FILE`` (read by
``cslir.runs.answers``) or, with ``--auto`` (drills, CI), from defaults, until the run closes.

What it has to say goes through ``say`` (a line of text), so it needs no terminal of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from cslir.base.errors import UsageError
from cslir.engine import actions
from cslir.engine.floors import propose
from cslir.engine.model import Step
from cslir.engine.state import RunState
from cslir.runs.effects import RunSession

Say = Callable[[str], None]


def drive(
    session: RunSession,
    answers: Mapping[str, Any] | None,
    *,
    auto: bool,
    root: Path,
    environ: Mapping[str, str],
    say: Say,
    poll: float = 0.2,
) -> int:
    """Work every ready step from the answers (or defaults with --auto) until the run closes.

    A wait step runs its timer unless the answers finish it; a command step whose process
    died mid-run is run again.
    """
    steps_answers: Mapping[str, Any] = (answers or {}).get("steps") or {}
    while True:
        session.watch()
        st = session.state()
        if st.closed:
            say(f"run {st.run_id} closed")
            return 0
        timers = [k for k in st.in_order("running") if st.index.step[k].kind == "wait"]
        ready = [*st.ready_steps(), *(k for k in timers if k in steps_answers)]
        orphans = session.orphaned(st)
        if not ready and not orphans and timers:
            time.sleep(poll)  # the watch ends each timer when its time is up
            continue
        if not ready and not orphans:
            say(_stuck(st))
            return 1
        for sid in orphans:
            say(
                f"  {sid}: its last attempt was cut short (the process running it "
                "ended); running it again"
            )
        for sid in [*orphans, *ready]:
            ans = steps_answers.get(sid)
            if ans is None and not auto:
                _pause_for(session, sid)
            answer_step(session, sid, dict(ans or {}), root=root, environ=environ, say=say)


def _stuck(st: RunState) -> str:
    stuck = [
        f"{k} ({actions.running_text(st, k)})"
        if st.steps[k].status == "running"
        else f"{k} ({st.steps[k].status}: {st.steps[k].reason or st.steps[k].waiting_for})"
        for k in st.in_order("failed", "blocked", "waiting", "running")
    ]
    return f"run {st.run_id} cannot go on: " + "; ".join(stuck)


def _pause_for(session: RunSession, sid: str) -> None:
    """Pause the run for an answer nobody gave, and say how to give it."""
    session.record(partial(actions.pause, reason=f"no answer for step '{sid}'"))
    rid = session.run_id
    raise UsageError(
        f"step '{sid}' needs an answer and stdin is not a terminal: add it under steps: in "
        f"--answers FILE, or use --auto (run {rid} is paused; cslir resume {rid} continues it)"
    )


def _default_choice(st: RunState, step: Step) -> Any:
    """What --auto decides: the value already given (a drill's scenario), else the step's
    default, else its first choice; never below the minimum its floor proposes."""
    if step.sets and step.sets in st.inputs:
        chosen = st.inputs[step.sets]
    elif step.default is not None:
        chosen = step.default
    else:
        chosen = st.playbook.choices_of(step)[0].value
    proposal = propose(st.playbook, step, st.inputs)
    choices = [c.value for c in st.playbook.choices_of(step)]
    return proposal.minimum if proposal and proposal.below(choices, str(chosen)) else chosen


def answer_step(
    session: RunSession,
    sid: str,
    ans: dict[str, Any],
    *,
    root: Path,
    environ: Mapping[str, str],
    say: Say,
) -> None:
    """Work one ready step from its answer (``{}``: finish it, a decision takes its default)."""
    st = session.state()
    status, step = st.steps[sid].status, st.index.step[sid]
    timer = step.kind == "wait" and status == "running"
    if status != "ready" and not timer and sid not in session.orphaned(st):
        return
    outcome = ans.get("outcome", "done")
    if ans.get("note"):
        session.record(lambda s: actions.note(s, str(ans["note"]), sid))
    if outcome == "skip":
        session.record(
            lambda s: actions.skip(s, sid, str(ans.get("reason") or "skipped (answers)"))
        )
    elif outcome == "fail":
        session.record(lambda s: actions.fail(s, sid, str(ans.get("reason") or "failed (answers)")))
    elif step.kind == "notify":
        session.notify_step(sid)
    elif step.kind == "command":
        session.run_command(sid, root=root, environ=environ)
    elif step.kind == "probe":
        from cslir.runs.probestep import run_probe

        run_probe(session, sid)
    elif step.kind == "decision":
        choice = ans.get("choice", _default_choice(st, step))
        session.record(lambda s: actions.decide(s, sid, choice, ans.get("rationale")))
    elif step.kind == "approval":
        _approve(session, sid, ans)
    elif step.kind == "wait" and not ans:
        return  # the watch starts its timer and ends it when its time is up
    else:
        _finish(session, step, ans)
    after = session.state().steps[sid]
    why = f": {after.reason}" if after.status != "done" and after.reason else ""
    say(f"  {sid}: {after.status}{why}")


def _approve(session: RunSession, sid: str, ans: Mapping[str, Any]) -> None:
    """Request the approval, then grant it as the answers' approver (another actor)."""
    session.request_approval(sid)
    approver = str(ans.get("approved_by") or "auto-approver")
    rationale = ans.get("rationale") or "approved by answers"
    session.record(lambda s: actions.approve(s, sid, approver, None, rationale), actor=approver)


def _finish(session: RunSession, step: Step, ans: Mapping[str, Any]) -> None:
    """Add the answers' evidence (or say none was supplied, if the step needs some), then done."""
    ev = ans.get("evidence")
    if isinstance(ev, dict) and ev.get("file"):
        session.add_evidence(Path(str(ev["file"])), step_id=step.id)
    elif isinstance(ev, dict) and ev.get("text"):
        session.add_evidence(text=str(ev["text"]), step_id=step.id)
    elif step.needs_evidence:
        session.add_evidence(
            text="no evidence was supplied: the step was finished "
            "non-interactively (--auto/--answers)",
            step_id=step.id,
        )
    session.record(lambda s: actions.done(s, step.id, reason=ans.get("reason")))
