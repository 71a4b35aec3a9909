"""``cslir plan``'s work below the CLI: a playbook file with some inputs given, or a live run.

The computation is the engine's (``cslir.engine.plan``); this module reads the playbook, turns
``--var`` text into typed values and picks the time the plan starts from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from cslir.base.errors import UsageError
from cslir.engine.inputs import InputValueError, parse_value, to_json
from cslir.engine.model import Playbook
from cslir.engine.plan import ClockPlan, plan
from cslir.engine.state import RunState


def plan_playbook(
    playbook: Playbook, given: Mapping[str, str], *, start: datetime, tz: tzinfo | None
) -> list[ClockPlan]:
    """Every clock's verdict for a run that would open at ``start`` with these inputs."""
    values: dict[str, Any] = {}
    for name, text in given.items():
        spec = playbook.inputs.get(name)
        if spec is None:
            known = ", ".join(playbook.inputs) or "none"
            raise UsageError(f"--var {name}: the playbook has no input '{name}' (inputs: {known})")
        try:  # a plan may look ahead: any time is a fair "what if"
            value = parse_value(spec.type, text, [c.value for c in spec.choices], now=start,
                                tz=tz, future=True)  # fmt: skip
        except InputValueError as e:
            raise UsageError(f"--var {name}: {e}") from None
        values[name] = to_json(value)
    return plan(playbook, values, opened=start)


def plan_run(st: RunState, now: datetime) -> list[ClockPlan]:
    """A live run projected from ``now``: what finished counts at the time it did."""
    return plan(st.playbook, st.inputs, opened=st.opened_at, now=now, state=st)


def is_playbook(argument: str) -> bool:
    """``cslir plan`` takes a playbook file or a run id: a file that exists, or a YAML name."""
    return Path(argument).is_file() or argument.endswith((".yaml", ".yml"))


def start_time(text: str | None, now: datetime, tz: tzinfo | None) -> datetime:
    """``--start`` as a time (any spelling an input takes), else ``now``."""
    if text is None:
        return now
    try:
        value = parse_value("datetime", text, now=now, tz=tz, future=True)
    except InputValueError as e:
        raise UsageError(f"--start: {e}") from None
    assert isinstance(value, datetime)  # a datetime input always parses to one, given now
    return value
