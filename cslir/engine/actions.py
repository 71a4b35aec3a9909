"""A responder's actions, checked against the run's state and turned into events.

Each function returns the events to record as (type, data) pairs, or raises ActionRefused with
a reason the responder can act on. Nothing is recorded here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cslir.base.errors import ActionRefused
from cslir.base.timefmt import local_text
from cslir.engine.clocks import discovered_at
from cslir.engine.durations import parse_duration
from cslir.engine.events import format_at
from cslir.engine.floors import propose
from cslir.engine.inputs import InputValueError, parse_value, to_json
from cslir.engine.model import Step, localize
from cslir.engine.state import RunState

Events = list[tuple[str, dict[str, Any]]]


def _step(state: RunState, step_id: str) -> Step:
    try:
        return state.index.step[step_id]
    except KeyError:
        ids = ", ".join(s.id for s in state.playbook.steps)
        raise ActionRefused(f"no step '{step_id}' in this playbook (steps: {ids})") from None


def _actionable(state: RunState, step_id: str, *, allow_running: bool = False) -> Step:
    if state.closed:
        raise ActionRefused("the run is closed")
    step = _step(state, step_id)
    s = state.steps[step_id]
    if s.status in ("done", "skipped", "n/a"):
        raise ActionRefused(f"step '{step_id}' is already {s.status}")
    if s.status == "pending":
        raise ActionRefused(f"step '{step_id}' cannot start yet: it comes {s.waiting_for}")
    if s.status == "blocked":
        raise ActionRefused(f"step '{step_id}' cannot start yet: {s.waiting_for}")
    if s.status == "running" and not allow_running:
        raise ActionRefused(f"step '{step_id}' is {running_text(state, step_id)}")
    return step


def running_text(state: RunState, step_id: str) -> str:
    """Who runs a running step, and what to do if nobody does any more."""
    runner = state.steps[step_id].runner or {}
    by = f" by process {runner['pid']} on {runner.get('host', '?')}" if "pid" in runner else ""
    return (
        f"running{by}; wait for it to finish (if that process has ended, `cslir resume"
        f" {state.run_id}` runs it again)"
    )


def start(state: RunState, step_id: str) -> Events:
    _actionable(state, step_id)
    if state.steps[step_id].started_at is not None:
        return []
    return [("step.started", {"step": step_id})]


def begin_attempt(state: RunState, step_id: str) -> Events:
    """A command is (re)started: recorded before it runs, so a crash leaves a trace."""
    _actionable(state, step_id, allow_running=True)
    return [("step.started", {"step": step_id, "attempt": state.steps[step_id].attempts + 1})]


def finish_command(state: RunState, step_id: str, result: dict[str, Any]) -> Events:
    """A command's outcome: what it did always, and the step's outcome unless the step was
    settled meanwhile (skipped or failed by a responder, or finished by another runner)."""
    _step(state, step_id)
    ok, simulated = result.get("exit") == 0, bool(result.get("simulated"))
    return _settle(state, step_id, ("command.finished", {"step": step_id, **result}),
                   ok=ok, simulated=simulated, reason=str(result.get("summary")))  # fmt: skip


def finish_probe(state: RunState, step_id: str, result: dict[str, Any]) -> Events:
    """A probe's verdict ({held, summary, attempts, simulated?}), and its step's outcome unless
    the step was settled meanwhile."""
    _step(state, step_id)
    return _settle(state, step_id, ("probe.finished", {"step": step_id, **result}),
                   ok=bool(result.get("held")), simulated=bool(result.get("simulated")),
                   reason=str(result.get("summary")))  # fmt: skip


def _settle(
    state: RunState,
    step_id: str,
    what: tuple[str, dict[str, Any]],
    *,
    ok: bool,
    simulated: bool,
    reason: str,
) -> Events:
    if state.closed or state.steps[step_id].status != "running":
        return [what]
    if ok:
        done: dict[str, Any] = {"step": step_id}
        if simulated:
            done["reason"] = "simulated in drill"
        return [what, ("step.done", done)]
    return [what, ("step.failed", {"step": step_id, "reason": reason})]


def check_item(state: RunState, step_id: str, item: int) -> Events:
    step = _actionable(state, step_id)
    if not 0 <= item < len(step.checklist):
        raise ActionRefused(f"step '{step_id}' has no checklist item {item + 1}")
    return [("step.checked", {"step": step_id, "item": item})]


def done(
    state: RunState,
    step_id: str,
    *,
    reason: str | None = None,
    force: bool = False,
    at: datetime | None = None,
    facts: Mapping[str, str] | None = None,
) -> Events:
    """Finish a task, evidence or wait step (decisions, approvals and commands have their own).

    ``at`` is when the act itself happened, if not now (a report filed before it was recorded):
    clocks are judged by it. ``facts`` are a submission's recipient, channel and reference.
    """
    step = _actionable(state, step_id, allow_running=_kind(state, step_id) == "wait")
    s = state.steps[step_id]
    if step.kind == "decision":
        raise ActionRefused(
            f"step '{step_id}' is a decision: choose one of "
            f"{', '.join(c.value for c in state.playbook.choices_of(step))}"
        )
    if step.kind == "approval":
        raise ActionRefused(f"step '{step_id}' needs approval by the {step.by} role")
    if step.kind == "probe":
        raise ActionRefused(
            f"step '{step_id}' is a probe: its result is the proof, so run it "
            "(or skip it with a reason)"
        )
    if step.needs_evidence and not s.evidence and not force:
        raise ActionRefused(
            f"step '{step_id}' needs evidence first (add a file or text), or skip it with a reason"
        )
    unchecked = [i for i in range(len(step.checklist)) if i not in s.checked]
    events: Events = [("step.checked", {"step": step_id, "item": i}) for i in unchecked]
    data: dict[str, Any] = {"step": step_id, **submission(facts or {})}
    if reason:
        data["reason"] = reason
    if at is not None:
        _check_act_time(state, step_id, at, reason)
        data["acted_at"] = format_at(at)
    return [*events, ("step.done", data)]


SUBMISSION = ("recipient", "channel", "reference")  # what a report or notice records of itself
SUBMISSION_CHARS = 500


def submission(facts: Mapping[str, Any]) -> dict[str, str]:
    """A submission's facts, checked: each is a line of text, kept as given (trimmed)."""
    out = {}
    for key, value in facts.items():
        if key not in SUBMISSION:
            raise ActionRefused(f"'{key}' is not a submission fact ({', '.join(SUBMISSION)})")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ActionRefused(f"the {key} must be text")
        text = str(value).strip()
        if len(text) > SUBMISSION_CHARS or "\n" in text:
            limit = SUBMISSION_CHARS
            raise ActionRefused(f"the {key} must be one line of {limit} characters or fewer")
        out[key] = text
    return out


def _check_act_time(state: RunState, step_id: str, at: datetime, reason: str | None) -> None:
    """An act before the incident was discovered is most likely a mistyped date; recorded only
    with a reason that says why (it would otherwise meet any deadline)."""
    found = discovered_at(state)
    if found is not None and at < found and not (reason and reason.strip()):
        raise ActionRefused(
            f"step '{step_id}': the time given ({local_text(at, state.timezone)}) is before the"
            f" incident was discovered ({local_text(found, state.timezone)}); check it, or"
            " give a reason saying why it is right"
        )


def _kind(state: RunState, step_id: str) -> str:
    step = state.index.step.get(step_id)
    return step.kind if step else ""


def skip(state: RunState, step_id: str, reason: str) -> Events:
    _actionable(state, step_id, allow_running=True)
    if not reason.strip():
        raise ActionRefused("a skip needs a reason: it goes into the record")
    return [("step.skipped", {"step": step_id, "reason": reason.strip()})]


def fail(state: RunState, step_id: str, reason: str) -> Events:
    _actionable(state, step_id, allow_running=True)
    if not reason.strip():
        raise ActionRefused("a failure needs a reason: it goes into the record")
    return [("step.failed", {"step": step_id, "reason": reason.strip()})]


def retry(state: RunState, step_id: str) -> Events:
    _step(state, step_id)
    if state.steps[step_id].status != "failed":
        raise ActionRefused(
            f"only a failed step can be retried; '{step_id}' is {state.steps[step_id].status}"
        )
    return [("step.retried", {"step": step_id})]


def decide(state: RunState, step_id: str, choice: Any, rationale: str | None = None) -> Events:
    step = _actionable(state, step_id)
    if step.kind != "decision":
        raise ActionRefused(f"step '{step_id}' is a {step.kind} step, not a decision")
    choices = [c.value for c in state.playbook.choices_of(step)]
    target = state.playbook.inputs.get(step.sets or "")
    kind = target.type if target and target.type != "choice" else "choice"
    try:
        value = parse_value(kind, choice, choices)
    except InputValueError:
        raise ActionRefused(
            f"'{choice}' is not a choice of '{step_id}': {', '.join(choices)}"
        ) from None
    if kind == "choice" and value not in choices:
        raise ActionRefused(f"'{choice}' is not a choice of '{step_id}': {', '.join(choices)}")
    data: dict[str, Any] = {"step": step_id, "input": step.sets, "value": to_json(value)}
    proposal = propose(state.playbook, step, state.inputs)
    if proposal is not None:
        below = proposal.below(choices, str(value))
        if below and not (rationale or "").strip():
            met = "; ".join(localize(f.indicator) for f in proposal.met)
            raise ActionRefused(
                f"'{value}' is below {proposal.minimum}, the least that the facts propose "
                f"({met}); choosing lower needs a rationale, which the record keeps"
            )
        data["floor"] = proposal.record(below)
    if rationale:
        data["rationale"] = rationale
    return [("decision.made", data)]


def request_approval(state: RunState, step_id: str) -> Events:
    step = _actionable(state, step_id)
    if step.kind != "approval":
        raise ActionRefused(f"step '{step_id}' is not an approval")
    if state.steps[step_id].requested_by:
        return []
    return [("approval.requested", {"step": step_id, "by": step.by})]


def approve(
    state: RunState,
    step_id: str,
    actor: str,
    roles: list[str] | None,
    rationale: str | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Events:
    """Sign off an approval. ``roles`` are the actor's roles as cslir.yaml names them (None:
    it does not name the actor); ``extra`` is more to record (who entered it, automated)."""
    step = _step(state, step_id)
    if step.kind != "approval":
        raise ActionRefused(f"step '{step_id}' is a {step.kind} step, not an approval")
    s = state.steps[step_id]
    if s.status not in ("ready", "waiting"):
        raise ActionRefused(
            f"step '{step_id}' cannot be approved now: it is {s.status}"
            + (f" ({s.waiting_for})" if s.waiting_for else "")
        )
    if not s.requested_by:
        raise ActionRefused(f"nobody has requested approval of '{step_id}' yet")
    problem = approver_problem(step, actor, roles, requested_by=s.requested_by, drill=state.drill)
    if problem:
        raise ActionRefused(problem)
    data: dict[str, Any] = {"step": step_id, "role": step.by, **(extra or {})}
    if rationale:
        data["rationale"] = rationale
    return [("approval.granted", data)]


def same_person(a: str, b: str) -> bool:
    """Names compare without case (``Alice`` and ``alice`` are one person)."""
    return a.strip().casefold() == b.strip().casefold()


def approver_problem(
    step: Step, actor: str, roles: list[str] | None, *, requested_by: str | None, drill: bool
) -> str | None:
    """Why ``actor`` may not sign off ``step``, or None.

    Never the requester. In a live run only someone cslir.yaml names as holding the role (a
    record shown to a regulator must not carry an approval by a name nobody vouched for); in a
    drill a participant cslir.yaml does not name may play the role.
    """
    if requested_by is not None and same_person(actor, requested_by):
        return (
            f"{actor} requested this approval and cannot approve it; "
            f"someone holding the {step.by} role must"
        )
    if roles is None and not drill:
        return (
            f"{actor} is not named under responders: in cslir.yaml, so nothing shows that they"
            f" hold the {step.by} role; a live run's approval needs someone listed with it"
            f" (e.g. {actor}: {{roles: [{step.by}]}})"
        )
    if roles is not None and step.by not in roles:
        return f"{actor} does not hold the {step.by} role"
    return None


def note(state: RunState, text: str, step_id: str | None = None) -> Events:
    if not text.strip():
        raise ActionRefused("a note needs some text")
    data: dict[str, Any] = {"text": text}
    if step_id:
        _step(state, step_id)
        data["step"] = step_id
    return [("note.added", data)]


def maybe_close(state: RunState) -> Events:
    """Close the run once every step is finished (a failed step keeps it open)."""
    if state.closed or not state.all_finished():
        return []
    counts: dict[str, int] = {}
    for s in state.steps.values():
        counts[s.status] = counts.get(s.status, 0) + 1
    return [("run.closed", {"steps": counts})]


def pause(state: RunState, reason: str) -> Events:
    """Pause the run (Ctrl-C, ``q``, an answer missing); nothing if paused or closed already."""
    return [] if state.paused or state.closed else [("run.paused", {"reason": reason})]


def resume(state: RunState) -> Events:
    return [("run.resumed", {})] if state.paused else []


def timers(state: RunState, now: datetime) -> Events:
    """What the watch records for wait steps: a ready timer starts; one whose time is up ends."""
    items: Events = []
    for sid in state.index.waits:
        step, s = state.index.step[sid], state.steps[sid]
        if s.status == "ready":
            items.append(("step.started", {"step": step.id}))
        elif s.status == "running" and s.started_at is not None:
            end = s.started_at + timedelta(seconds=parse_duration(step.duration).seconds)
            if now >= end:
                items.append(("step.done", {"step": step.id, "reason": "timer ended"}))
    return items
