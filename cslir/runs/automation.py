"""Runs without a terminal: every ready step worked from ``--answers FILE`` (read by
``cslir.runs.answers``) or, with ``--auto`` (drills, CI), from defaults, until the run closes.

Automation never stands in for a person in a live run: an approval is given only by someone
cslir.yaml names as holding the role (``approved_by`` in the answers, checked as ``cslir
approve`` checks it), and a step that needs evidence is finished only with evidence. What it
cannot do is left for people, and the run ends saying which command does each. In a drill it
may stand in for them. Whatever it decides or finishes by default is recorded as automated
(``automated: true`` in the event), so that no record passes it off as a person's act.

What it has to say goes through ``say`` (a line of text), so it needs no terminal of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
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
RolesOf = Callable[[str], list[str] | None]  # cslir.yaml's roles for a name (None: not named)
AUTOMATION = "cslir --auto"  # the actor of what automation does in a person's stead (drills)


def _none(name: str) -> list[str] | None:
    return None


def drive(
    session: RunSession,
    answers: Mapping[str, Any] | None,
    *,
    auto: bool,
    root: Path,
    environ: Mapping[str, str],
    say: Say,
    roles_of: RolesOf = _none,
    poll: float = 0.2,
) -> int:
    """Work every ready step from the answers (or defaults with --auto) until the run closes.

    A wait step runs its timer unless the answers finish it; a command step whose process
    died mid-run is run again. Steps left for people are said at the end (exit 1).
    """
    steps_answers: Mapping[str, Any] = (answers or {}).get("steps") or {}
    left: set[str] = set()  # steps that need evidence nobody gave: left for people
    while True:
        session.watch()
        st = session.state()
        if st.closed:
            say(f"run {st.run_id} closed")
            return 0
        timers = [k for k in st.in_order("running") if st.index.step[k].kind == "wait"]
        ready = [k for k in (*st.ready_steps(), *(k for k in timers if k in steps_answers))
                 if k not in left]  # fmt: skip
        orphans = session.orphaned(st)
        if not ready and not orphans and timers:
            time.sleep(poll)  # the watch ends each timer when its time is up
            continue
        if not ready and not orphans:
            people = _for_people(st, left)
            stuck = st.in_order("failed", "blocked", "running", *(() if people else ("waiting",)))
            for line in [*([_stuck(st, stuck)] if stuck or not people else []), *people]:
                say(line)
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
            if not answer_step(session, sid, dict(ans or {}), root=root, environ=environ,
                               say=say, roles_of=roles_of, auto=auto and ans is None):  # fmt: skip
                left.add(sid)


def _stuck(st: RunState, steps: list[str]) -> str:
    stuck = [
        f"{k} ({actions.running_text(st, k)})"
        if st.steps[k].status == "running"
        else f"{k} ({st.steps[k].status}: {st.steps[k].reason or st.steps[k].waiting_for})"
        for k in steps
    ]
    return f"run {st.run_id} cannot go on: " + "; ".join(stuck)


def _for_people(st: RunState, left: set[str]) -> list[str]:
    """What the run waits on that only people can give, and the command that gives each."""
    rid = st.run_id
    lines = []
    for sid in st.in_order("waiting", "ready"):
        step = st.index.step[sid]
        if st.steps[sid].status == "waiting" and step.kind == "approval":
            lines.append(f"  {sid}: approval by the {step.by} role:"
                         f" cslir approve {rid} {sid} --as NAME")  # fmt: skip
        elif sid in left:
            lines.append(f"  {sid}: needs evidence: cslir evidence {rid} FILE --step {sid},"
                         f" then cslir step {rid} {sid} --done")  # fmt: skip
    if not lines:
        return []
    why = "automation gives no approval and no evidence in a live run"
    return [f"run {rid} waits on people ({why}):", *lines,
            f"then the rest: cslir resume {rid} --auto"]  # fmt: skip


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
    roles_of: RolesOf = _none,
    auto: bool = False,
) -> bool:
    """Work one step from its answer (``auto``: no answer; --auto's defaults stand in).

    False if it is left for people (evidence needed in a live run, nobody gave any).
    """
    st = session.state()
    status, step = st.steps[sid].status, st.index.step[sid]
    timer = step.kind == "wait" and status == "running"
    if status != "ready" and not timer and sid not in session.orphaned(st):
        return True
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
        decide = partial(actions.decide, step_id=sid, choice=choice,
                         rationale=ans.get("rationale"))  # fmt: skip
        session.record(automated(decide) if "choice" not in ans else decide)
    elif step.kind == "approval":
        _approve(session, sid, ans, roles_of)
    elif step.kind == "wait" and not ans:
        return True  # the watch starts its timer and ends it when its time is up
    elif not _finish(session, step, ans, automatic=auto):
        return False
    _said(session, sid, say)
    return True


def _said(session: RunSession, sid: str, say: Say) -> None:
    after = session.state().steps[sid]
    if after.status == "waiting":
        return  # an approval left for its role: said with the rest at the end
    why = f": {after.reason}" if after.status != "done" and after.reason else ""
    say(f"  {sid}: {after.status}{why}")


def automated(build: Callable[[RunState], actions.Events]) -> Callable[[RunState], actions.Events]:
    """The same action, its events marked as done by automation rather than by a person."""
    return lambda st: [(t, {**d, "automated": True}) for t, d in build(st)]


def _approve(session: RunSession, sid: str, ans: Mapping[str, Any], roles_of: RolesOf) -> None:
    """Request the approval; grant it as the answers' approver, checked as ``cslir approve``
    checks a person (their role in cslir.yaml, not the requester); with none, automation
    stands in for the role in a drill, and in a live run the request waits for the role."""
    session.request_approval(sid)
    rationale = ans.get("rationale")
    approver = str(ans.get("approved_by") or "")
    if approver:
        entered = {"recorded_by": session.actor}  # the approver did not type it: who did
        session.record(lambda s: actions.approve(s, sid, approver, roles_of(approver), rationale,
                                                 extra=entered), actor=approver)  # fmt: skip
    elif session.state().drill:
        why = rationale or "approved by automation in a drill"
        approve = partial(actions.approve, step_id=sid, actor=AUTOMATION, roles=None,
                          rationale=why)  # fmt: skip
        session.record(automated(approve), actor=AUTOMATION)


def _finish(session: RunSession, step: Step, ans: Mapping[str, Any], *, automatic: bool) -> bool:
    """Add the answers' evidence, then done; False (nothing recorded) if the step needs evidence
    none was given for, in a live run. In a drill automation finishes it without evidence,
    saying so: it never makes up a placeholder for evidence."""
    ev = ans.get("evidence")
    facts = {k: ans[k] for k in actions.SUBMISSION if k in ans}
    at = datetime.fromisoformat(ans["at"]) if isinstance(ans.get("at"), str) else None
    done = partial(actions.done, step_id=step.id, reason=ans.get("reason"), at=at, facts=facts)
    if isinstance(ev, dict) and ev.get("file"):
        session.add_evidence(Path(str(ev["file"])), step_id=step.id)
    elif isinstance(ev, dict) and ev.get("text"):
        session.add_evidence(text=str(ev["text"]), step_id=step.id)
    elif step.needs_evidence and not session.state().steps[step.id].evidence:
        if not session.state().drill:
            return False
        why = "finished by automation in a drill without evidence"
        done = partial(done, reason=ans.get("reason") or why, force=True)
        automatic = True
    session.record(automated(done) if automatic else done)
    return True
