"""Answers given ahead instead of typed: the ``--answers FILE`` and the inputs a run starts with.

An answers file is YAML: ``inputs:`` (name -> value) and ``steps:`` (step id -> outcome), e.g.

    inputs: {system: crm, operator: other}
    steps:
      grade: {choice: major, rationale: 1.2 M records}
      first-report: {outcome: done, at: "2026-03-02 10:55", recipient: CAC Beijing office,
                     channel: online form, reference: "12387-991",
                     evidence: {file: receipt.pdf}}
      police-report: {outcome: skip, reason: no crime suspected}
      approve-notice: {approved_by: li.legal}

``at`` is when the act happened, if not when it is recorded; ``approved_by`` must name someone
cslir.yaml's ``responders:`` lists with the step's role, not the person running the file.
Every problem in the file is reported at once, located. Asking on a terminal is the caller's
(``cslir.terminal.prompts``), passed in to ``collect_inputs``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cslir.base.errors import ActionRefused, InvalidInput, UsageError
from cslir.engine import actions
from cslir.engine.inputs import InputValueError, parse_value, to_json
from cslir.engine.model import Input, Playbook, Step
from cslir.opsrepo.diagnostics import Diagnostic, did_you_mean

ANSWER_KEYS = {"outcome", "reason", "choice", "rationale", "evidence", "approved_by", "note",
               "at", *actions.SUBMISSION}  # fmt: skip

At = Callable[..., Diagnostic]  # (where, message, key=False) -> a located error
Ask = Callable[[Input], Any]  # asks for one input on a terminal; None when left blank
Approver = Callable[[Step, str], str | None]  # why a name may not sign a step off, or None


@dataclass(frozen=True)
class Context:
    """What the answers are checked against beyond the playbook: the time an ``at`` may not
    pass and the zone it is read in, and who may sign approvals off."""

    now: dt.datetime | None = None
    tz: dt.tzinfo | None = None
    approver: Approver | None = None


def load_answers(
    path: Path, playbook: Playbook | None = None, context: Context | None = None
) -> dict[str, Any]:
    """Read an answers file: its data, or every problem in it at once, located."""
    from cslir.opsrepo import yamlload
    from cslir.opsrepo.documents import display

    shown = display(path)
    try:
        doc = yamlload.load(path, display=shown)
    except yamlload.YamlError as e:
        problems = [e.diagnostic]
    else:
        problems = sorted(_answer_problems(doc, playbook, path.parent, context or Context()))
    if problems:
        listing = "\n".join(d.format() for d in problems)
        raise InvalidInput(f"{shown} has {len(problems)} error(s); fix them first:\n{listing}")
    data: dict[str, Any] = doc.data
    return data


def _answer_problems(
    doc: Any, pb: Playbook | None, base: Path, ctx: Context
) -> Iterator[Diagnostic]:
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
        yield from _step_problems(at, sid, ans, base)
        yield from _fact_problems(at, sid, ans, ctx)
        if pb is None or sid not in (ids or ()):
            continue
        if "choice" in ans:
            yield from _choice_problems(at, sid, ans["choice"], pb)
        if "approved_by" in ans:
            yield from _approver_problems(at, pb.step(sid), ans["approved_by"], ctx)


def _step_problems(at: At, sid: str, ans: dict[str, Any], base: Path) -> Iterator[Diagnostic]:
    for k in ans:
        if k not in ANSWER_KEYS:
            hint = did_you_mean(str(k), ANSWER_KEYS) or f" (use {', '.join(sorted(ANSWER_KEYS))})"
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


def _fact_problems(at: At, sid: str, ans: dict[str, Any], ctx: Context) -> Iterator[Diagnostic]:
    """When the act happened (``at``, read as ``cslir step --at`` reads it) and a submission's
    recipient, channel and reference: facts of something done."""
    facts = [k for k in ("at", *actions.SUBMISSION) if k in ans]
    if facts and ans.get("outcome", "done") != "done":
        yield at(("steps", sid, facts[0]), f"{facts[0]}: goes with outcome: done (the act it dates"
                 " or describes)")  # fmt: skip
    if "at" in ans:
        try:
            moment = parse_value("datetime", ans["at"], now=ctx.now, tz=ctx.tz)
        except InputValueError as e:
            yield at(("steps", sid, "at"), f"at: {e}")
        else:  # as the run will record it: UTC, "now" and "30m ago" resolved
            if isinstance(moment, dt.datetime):
                ans["at"] = to_json(moment)
            else:
                del ans["at"]
    for key in actions.SUBMISSION:
        if key in ans:
            try:
                actions.submission({key: ans[key]})
            except ActionRefused as e:
                yield at(("steps", sid, key), e.message)


def _approver_problems(at: At, step: Step, name: Any, ctx: Context) -> Iterator[Diagnostic]:
    where = ("steps", step.id, "approved_by")
    if step.kind != "approval":
        yield at(where, f"approved_by answers an approval step; '{step.id}' is a {step.kind} step")
    elif not isinstance(name, str) or not name.strip():
        yield at(where, "approved_by must name the person who approved")
    elif ctx.approver is not None and (problem := ctx.approver(step, name)):
        yield at(where, problem)


def _choice_problems(at: At, sid: str, choice: Any, pb: Playbook) -> Iterator[Diagnostic]:
    step = pb.step(sid)
    choices = [c.value for c in pb.choices_of(step)]
    if step.kind == "decision" and str(choice).lower() not in choices:
        yield at(("steps", sid, "choice"), f"'{choice}' is not a choice of "
                 f"'{sid}': {', '.join(choices)}")  # fmt: skip


def _input_problems(at: At, inputs: dict[str, Any], pb: Playbook) -> Iterator[Diagnostic]:
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
    ask: Ask | None,
    *,
    now: dt.datetime,
    tz: dt.tzinfo | None,
) -> dict[str, Any]:
    """Every input the run starts with: given, asked (when ``ask`` is given), or defaulted."""
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
                out[name] = to_json(parse_value(spec.type, given[name], choices, now=now, tz=tz,
                                                future=spec.future))  # fmt: skip
            except InputValueError as e:
                raise UsageError(f"--var {name}: {e}") from None
            continue
        if name in decision_inputs(pb):
            continue  # asked at its decision step
        if ask is not None:
            value = ask(spec)
            if value is not None:
                out[name] = value
            continue
        if spec.default is not None:
            out[name] = to_json(parse_value(spec.type, spec.default, choices, now=now, tz=tz,
                                            future=spec.future))  # fmt: skip
        elif spec.required:
            raise UsageError(
                f"input '{name}' needs a value and stdin is not a terminal: "
                f"pass --var {name}=VALUE or put it under inputs: in --answers FILE"
            )
    return out
