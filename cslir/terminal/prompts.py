"""Asking a responder on the terminal: a playbook input (again on a bad answer), and when and
with what receipt a report or notice was filed.

Every prompt has a non-interactive twin (``--var``, ``--answers``, ``--auto``): see
``cslir.runs.answers.collect_inputs``, which takes ``ask_input`` as its way of asking.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cslir.base.errors import ActionRefused
from cslir.engine.inputs import InputValueError, parse_value, to_json
from cslir.engine.model import Input, localize
from cslir.terminal.console import Term
from cslir.terminal.stepview import choice_lines


def ask_input(
    term: Term, spec: Input, *, now: dt.datetime, tz: dt.tzinfo | None, lang: str | None
) -> Any:
    """The input's value as recorded (JSON), or None when an optional one is left blank."""
    choices = [c.value for c in spec.choices]
    question = localize(spec.prompt, lang) or spec.name
    term.show(choice_lines(spec.choices, lang))
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
            return to_json(parse_value(spec.type, answer, choices, now=now, tz=tz,
                                         future=spec.future))  # fmt: skip
        except InputValueError as e:
            term.say(f"  {e}; try again", "red")


def ask_filing(
    term: Term, *, now: dt.datetime, tz: dt.tzinfo | None
) -> tuple[dt.datetime | None, dict[str, str]]:
    """When a report or notice was really filed (None: now), and its receipt; Enter skips
    each. A time that does not read is refused, and the step is not done."""
    when = term.ask("  filed when? (Enter: now; or e.g. 2026-03-02 10:55, 20m ago) > ").strip()
    at = None
    if when:
        try:
            at = parse_value("datetime", when, now=now, tz=tz)
        except InputValueError as e:
            raise ActionRefused(f"{e}; the step is not done") from None
    reference = term.ask("  receipt or reference number (Enter: none) > ").strip()
    return at, {"reference": reference} if reference else {}
