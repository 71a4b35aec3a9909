"""Runs without a terminal: ``--answers FILE`` and ``--auto`` (drills, CI), and input collection.

An answers file is YAML: ``inputs:`` (name -> value) and ``steps:`` (step id -> outcome), e.g.

    inputs: {system: crm, operator: other}
    steps:
      grade: {choice: major, rationale: 1.2 M records}
      first-report: {outcome: done, evidence: {text: "receipt 12387-991"}}
      police-report: {outcome: skip, reason: no crime suspected}
      approve-notice: {approved_by: li.legal}
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from cslir.base.errors import InvalidInput, UsageError
from cslir.engine import actions
from cslir.engine.inputs import InputValueError, parse_value, to_json
from cslir.engine.model import Playbook, Step, localize
from cslir.engine.state import RunState
from cslir.opsrepo.diagnostics import Diagnostic, did_you_mean
from cslir.runs.effects import RunSession
from cslir.terminal.console import Term

ANSWER_KEYS = {"outcome", "reason", "choice", "rationale", "evidence", "approved_by", "note"}


def load_answers(path: Path, playbook: Playbook | None = None) -> dict[str, Any]:
    """Read an answers file: its data, or every problem in it at once, located."""
    from cslir.opsrepo import yamlload
    from cslir.opsrepo.documents import display

    shown = display(path)
    try:
        doc = yamlload.load(path, display=shown)
    except yamlload.YamlError as e:
        problems = [e.diagnostic]
    else:
        problems = sorted(_answer_problems(doc, playbook, path.parent))
    if problems:
        listing = "\n".join(d.format() for d in problems)
        raise InvalidInput(f"{shown} has {len(problems)} error(s); fix them first:\n{listing}")
    data: dict[str, Any] = doc.data
    return data


def _answer_problems(doc: Any, pb: Playbook | None, base: Path) -> Iterator[Diagnostic]:
    def at(where: tuple[Any, ...], message: str, *, key: bool = False) -> Diagnostic:
        line, col = doc.loc(where, key=key)
        return Diagnostic(doc.path, line, col, "error", message)

    data = doc.data
    for key in data:
        if key not in ("inputs", "steps"):
            hint = did_you_mean(str(key), ("inputs", "steps"))
            yield at((key,), f"unknown key '{key}'{hint}; an answers file has inputs: and steps:",
                     key=True)  # fmt: skip
    inputs, steps = data.get("inputs") or {}, data.get("steps") or {}
    if not isinstance(inputs, dict):
        yield at(("inputs",), "inputs: must map input names to values")
    elif pb is not None:
        yield from _input_problems(at, inputs, pb)
    if not isinstance(steps, dict):
        yield at(("steps",), "steps: must map step ids to answers such as {outcome: done}")
        return
    ids = [s.id for s in pb.steps] if pb is not None else None
    for sid, ans in steps.items():
        if ids is not None and sid not in ids:
            yield at(("steps", sid), f"the playbook has no step '{sid}'{did_you_mean(sid, ids)}",
                     key=True)  # fmt: skip
        if not isinstance(ans, dict):
            yield at(("steps", sid), f"answer for step '{sid}' must be a mapping such as "
                     "{outcome: done}")  # fmt: skip
            continue
        for k in ans:
            if k not in ANSWER_KEYS:
                hint = (
                    did_you_mean(str(k), ANSWER_KEYS) or f" (use {', '.join(sorted(ANSWER_KEYS))})"
                )
                yield at(("steps", sid, k), f"unknown answer key '{k}'{hint}", key=True)
        if ans.get("outcome", "done") not in ("done", "skip", "fail"):
            yield at(("steps", sid, "outcome"), "outcome must be done, skip or fail")
        ev = ans.get("evidence")
        if ev is not None and not (isinstance(ev, dict) and (ev.get("text") or ev.get("file"))):
            yield at(("steps", sid, "evidence"), "evidence must be {text: ...} or {file: PATH}")
        elif isinstance(ev, dict) and ev.get("file"):
            found = base / str(ev["file"])  # relative to the answers file
            if not found.is_file():
                yield at(("steps", sid, "evidence", "file"), f"no such file: {found}")
            ev["file"] = str(found)
        if pb is not None and "choice" in ans and sid in (ids or ()):
            step = pb.step(sid)
            choices = [c.value for c in pb.choices_of(step)]
            if step.kind == "decision" and str(ans["choice"]).lower() not in choices:
                yield at(("steps", sid, "choice"), f"'{ans['choice']}' is not a choice of "
                         f"'{sid}': {', '.join(choices)}")  # fmt: skip


def _input_problems(at: Any, inputs: dict[str, Any], pb: Playbook) -> Iterator[Diagnostic]:
    for name, value in inputs.items():
        spec = pb.inputs.get(name)
        if spec is None:
            hint = did_you_mean(str(name), pb.inputs)
            yield at(("inputs", name), f"the playbook has no input '{name}'{hint}", key=True)
            continue
        try:
            parse_value(spec.type, value, [c.value for c in spec.choices])
        except InputValueError as e:
            yield at(("inputs", name), f"input '{name}': {e}")


def decision_inputs(pb: Playbook) -> set[str]:
    return {s.sets for s in pb.steps if s.kind == "decision" and s.sets}


def collect_inputs(
    pb: Playbook,
    given: Mapping[str, Any],
    term: Term | None,
    *,
    now: dt.datetime,
    tz: dt.tzinfo | None,
    lang: str | None,
    auto: bool,
) -> dict[str, Any]:
    """Every input the run starts with: given, asked (again on bad input), or defaulted."""
    out: dict[str, Any] = {}
    for name in given:
        if name not in pb.inputs:
            raise UsageError(
                f"--var {name}: the playbook has no input '{name}' (inputs: {', '.join(pb.inputs)})"
            )
    for name, spec in pb.inputs.items():
        choices = [c.value for c in spec.choices]
        if name in given:
            try:
                out[name] = to_json(parse_value(spec.type, given[name], choices, now=now, tz=tz))
            except InputValueError as e:
                raise UsageError(f"--var {name}: {e}") from None
            continue
        if name in decision_inputs(pb):
            continue  # asked at its decision step
        if term is not None and term.interactive and not auto:
            out_value = _ask(spec, term, now=now, tz=tz, lang=lang)
            if out_value is not None:
                out[name] = out_value
            continue
        if spec.default is not None:
            out[name] = to_json(parse_value(spec.type, spec.default, choices, now=now, tz=tz))
        elif spec.required:
            raise UsageError(
                f"input '{name}' needs a value and stdin is not a terminal: "
                f"pass --var {name}=VALUE or put it under inputs: in --answers FILE"
            )
    return out


def _ask(spec: Any, term: Term, *, now: dt.datetime, tz: dt.tzinfo | None, lang: str | None) -> Any:
    choices = [c.value for c in spec.choices]
    question = localize(spec.prompt, lang) or spec.name
    for i, c in enumerate(spec.choices, 1):
        term.say(f"  {i}. {c.value}" + (f" — {localize(c.label, lang)}" if c.label else ""))
    shown = spec.default
    if spec.type == "bool" and isinstance(spec.default, bool):
        shown = "y" if spec.default else "n"
    hint = f" [{shown}]" if shown is not None else ""
    if spec.type == "bool":
        hint = f" (y/n){hint}"
    while True:
        answer = term.ask(f"{question}{hint} > ")
        if not answer:
            if spec.default is not None:
                answer = str(spec.default)
            elif not spec.required:
                return None
            else:
                term.say("  an answer is needed", "red")
                continue
        try:
            return to_json(parse_value(spec.type, answer, choices, now=now, tz=tz))
        except InputValueError as e:
            term.say(f"  {e}; try again", "red")


def drive(
    session: RunSession,
    answers: Mapping[str, Any] | None,
    *,
    auto: bool,
    root: Path,
    environ: Mapping[str, str],
    term: Term,
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
            term.say(f"run {st.run_id} closed")
            return 0
        timers = [k for k in st.in_order("running") if st.index.step[k].kind == "wait"]
        ready = [*st.ready_steps(), *(k for k in timers if k in steps_answers)]
        orphans = session.orphaned(st)
        if not ready and not orphans and timers:
            time.sleep(poll)  # the watch ends each timer when its time is up
            continue
        if not ready and not orphans:
            stuck = [
                f"{k} ({st.steps[k].status}: {st.steps[k].reason or st.steps[k].waiting_for})"
                for k in st.in_order("failed", "blocked", "waiting", "running")
            ]
            term.say(f"run {st.run_id} cannot go on: " + "; ".join(stuck))
            return 1
        for sid in orphans:
            term.say(
                f"  {sid}: its last attempt was cut short (the process running it "
                "ended); running it again"
            )
        for sid in [*orphans, *ready]:
            ans = steps_answers.get(sid)
            if ans is None and not auto:
                session.record(partial(actions.pause, reason=f"no answer for step '{sid}'"))
                raise UsageError(
                    f"step '{sid}' needs an answer and stdin is not a terminal: "
                    "add it under steps: in --answers FILE, or use --auto "
                    f"(run {st.run_id} is paused; cslir resume {st.run_id} "
                    "continues it)"
                )
            _answer(session, sid, dict(ans or {}), root=root, environ=environ, term=term)


def _default_choice(st: RunState, step: Step) -> Any:
    """What --auto decides: the value already given (a drill's scenario), else the step's
    default, else its first choice."""
    if step.sets and step.sets in st.inputs:
        return st.inputs[step.sets]
    if step.default is not None:
        return step.default
    return st.playbook.choices_of(step)[0].value


def _answer(
    session: RunSession,
    sid: str,
    ans: dict[str, Any],
    *,
    root: Path,
    environ: Mapping[str, str],
    term: Term,
) -> None:
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
    elif step.kind == "decision":
        choice = ans.get("choice", _default_choice(st, step))
        session.record(lambda s: actions.decide(s, sid, choice, ans.get("rationale")))
    elif step.kind == "approval":
        session.request_approval(sid)
        approver = str(ans.get("approved_by") or "auto-approver")
        session.record(
            lambda s: actions.approve(
                s, sid, approver, None, ans.get("rationale") or "approved by answers"
            ),
            actor=approver,
        )
    elif step.kind == "wait" and not ans:
        return  # the watch starts its timer and ends it when its time is up
    else:
        ev = ans.get("evidence")
        if isinstance(ev, dict) and ev.get("file"):
            session.add_evidence(Path(str(ev["file"])), step_id=sid)
        elif isinstance(ev, dict) and ev.get("text"):
            session.add_evidence(text=str(ev["text"]), step_id=sid)
        elif step.needs_evidence:
            session.add_evidence(
                text="no evidence was supplied: the step was finished "
                "non-interactively (--auto/--answers)",
                step_id=sid,
            )
        session.record(lambda s: actions.done(s, sid, reason=ans.get("reason")))
    after = session.state().steps[sid]
    why = f": {after.reason}" if after.status != "done" and after.reason else ""
    term.say(f"  {sid}: {after.status}{why}")
