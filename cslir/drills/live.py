"""What a drill run adds to the watch of every process that touches it: the call to its
participants, its injects when they fall due, and its score when it closes.

Each function reads the run's state and returns the events to record, or nothing once they are
recorded. ``RunSession.record`` appends them with the sequence number the state expects, so when
several processes follow a run (or one resumes it after a crash) each inject is recorded exactly
once: whoever appends second finds it recorded and returns nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cslir.drills.model import Drill, Inject, drill_from
from cslir.drills.scoring import score_events
from cslir.engine import actions
from cslir.engine.durations import parse_duration
from cslir.engine.inputs import parse_value, to_json
from cslir.engine.model import localize
from cslir.engine.state import FINISHED, RunState
from cslir.runs.session import Watcher

Events = actions.Events


def drill_of(state: RunState) -> Drill | None:
    """The drill a run was opened for, from its snapshot (None for other runs)."""
    if state.drill_spec is None:
        return None
    return drill_from(state.drill_spec)


def watchers_for(state: RunState) -> list[Watcher]:
    """The watchers a drill run needs (none for a live run or a bare ``run --drill``)."""
    drill = drill_of(state)
    if drill is None:
        return []
    lang = (state.drill_spec or {}).get("lang")

    def watch(st: RunState, now: datetime) -> Events:
        return [*inject_events(st, drill, now, lang), *score_events(st, drill)]

    return [watch]


def join_message(state: RunState, drill: Drill, lang: str | None = None) -> str:
    roles = ", ".join(state.playbook.roles) or "any"
    rid = state.run_id
    return (
        f"Drill '{drill.name(lang)}' ({drill.id}) has started: run {rid} of "
        f"{localize(state.playbook.title, lang)}. Join it with: cslir join {rid} --role ROLE "
        f"(roles: {roles}); follow it with: cslir status {rid}"
    )


def call_events(state: RunState, drill: Drill, lang: str | None = None) -> Events:
    """Page every participant with the exact join command, once per run."""
    if any(e.type == "drill.called" for e in state.drill_log):
        return []
    message = join_message(state, drill, lang)
    return [
        ("drill.called", {"participants": list(drill.participants)}),
        *(
            ("notify.requested", {"route": route, "message": message, "reason": "drill"})
            for route in drill.participants
        ),
    ]


def fired(state: RunState) -> set[int]:
    """Numbers of the injects already recorded."""
    return {int(e.data["inject"]) for e in state.drill_log if e.type == "drill.inject"}


def due(state: RunState, inject: Inject, now: datetime) -> bool:
    """Whether ``inject`` falls due by wall time ``now`` (offsets count in scenario time)."""
    if inject.at is not None:
        offset = timedelta(seconds=parse_duration(inject.at).seconds)
        return state.scenario(now) >= state.opened_at + offset
    step = state.steps.get(inject.after or "")
    return step is not None and step.status in FINISHED and step.status != "n/a"


def inject_events(state: RunState, drill: Drill, now: datetime, lang: str | None = None) -> Events:
    """Every inject due and not yet recorded: the inject, the inputs it sets, its pages."""
    if state.closed:
        return []
    out: Events = []
    done = fired(state)
    for inject in drill.injects:
        if inject.number in done or not due(state, inject, now):
            continue
        text = localize(inject.message, lang)
        data: dict[str, Any] = {
            "inject": inject.number,
            "when": inject.when(),
            "message": text,
            "scenario_at": _iso(state.scenario(now)),
        }
        if inject.set:
            data["set"] = dict(inject.set)
        out.append(("drill.inject", data))
        for name, raw in inject.set.items():
            spec = state.playbook.inputs[name]
            value = parse_value(spec.type, raw, [c.value for c in spec.choices], now=now)
            source = f"inject {inject.number}"
            out.append(("input.set", {"name": name, "value": to_json(value), "source": source}))
        message = f"Inject {inject.number} ({inject.when()}): {text}"
        out += [
            ("notify.requested", {"route": r, "message": message, "reason": "inject"})
            for r in drill.participants
        ]
    return out


def _iso(moment: datetime) -> str:
    from cslir.engine.events import format_at

    return format_at(moment)
