"""The report's data, built from a run's events alone: one dict that every format renders.

``build_report`` folds the events (the playbook comes from the run.opened snapshot) and reads no
clock of its own: the report is rendered as of a time passed in, by default the time of the last
event, so a report of a closed run is the same every time it is made.

Memory stays flat as runs grow: the fold is fed a page at a time and the per-event sections
(timeline, notes, notifications, command outputs, evidence) are ``Rows`` that read the events
again from ``source`` when they are rendered, rather than lists held in memory. The rows of
the fixed sections (playbook, inputs, clocks, steps, decisions, approvals) are built in ``rows``.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from itertools import islice, takewhile
from typing import Any

from cslir.base.errors import InvalidInput
from cslir.engine.clocks import views
from cslir.engine.context import template_context
from cslir.engine.events import Event
from cslir.engine.state import RunState, advance, fold
from cslir.opsrepo.snapshot import playbook_from_opening
from cslir.report import leniency
from cslir.report.dealings import dealing_row, dealings, flags
from cslir.report.improvements import Improvements
from cslir.report.labels import labels
from cslir.report.rows import (
    approval_row,
    clock_row,
    decision_row,
    input_rows,
    iso,
    playbook_row,
    seconds,
    step_row,
    summary,
)
from cslir.report.sections import (
    Describer,
    Kept,
    Row,
    Rows,
    Source,
    delivered,
    notification_row,
)

REPORT_VERSION = 1
PAGE = 500  # events folded at a time

NOTE_TYPES = ("note.added",)
EVIDENCE_TYPES = ("evidence.added",)
NOTIFY_TYPES = ("notify.requested",)
COMMAND_TYPES = ("command.finished",)
OUTCOME_TYPES = ("step.done", "step.skipped", "step.failed", "decision.made", "approval.granted")


class _Collector:
    """What the report needs from the events beyond the fold, gathered in the same pass."""

    def __init__(self, say: Describer) -> None:
        self.kept = Kept()
        self._sections: dict[str, tuple[str, Callable[[Event], Row]]] = {
            "note.added": ("notes", say.note_row),
            "notify.requested": ("notifications", notification_row),
            "command.finished": ("commands", say.command_row),
            "evidence.added": ("evidence", say.evidence_row),
        }
        self.types: Counter[str] = Counter()
        self.actors: Counter[str] = Counter()
        self.started: set[str] = set()  # steps whose start was recorded, not inferred
        self.outcomes: dict[str, Event] = {}  # each step's last outcome, as recorded
        self.decisions: list[Event] = []
        self.dealings: list[Row] = []
        self.approvals: dict[str, dict[str, Event]] = {}
        self.deliveries: dict[int, Row] = {}
        self._pending: dict[str, deque[int]] = {}
        self.improvements = Improvements()
        self.recorded_sha256 = ""

    def see(self, e: Event) -> None:
        self.types[e.type] += 1
        section = self._sections.get(e.type)
        if section is not None:
            self.kept.add(section[0], section[1](e))
        if e.actor != "cslir":
            self.actors[e.actor] += 1
        step = e.data.get("step")
        if e.type in ("step.started", "approval.requested") and isinstance(step, str):
            self.started.add(step)
        if e.type in OUTCOME_TYPES and isinstance(step, str):
            self.outcomes[step] = e
        elif e.type == "step.retried" and isinstance(step, str):
            self.outcomes.pop(step, None)
        if e.type == "run.opened":
            snapshot = e.data.get("playbook")
            if isinstance(snapshot, dict):
                self.recorded_sha256 = str(snapshot.get("sha256", ""))
        elif e.type == "decision.made":
            self.decisions.append(e)
        elif e.type == "regulator.dealing":
            self.dealings.append(dealing_row(e))
        elif e.type.startswith("approval.") and isinstance(step, str):
            self.approvals.setdefault(step, {})[e.type] = e
        elif e.type == "notify.requested":
            self._pending.setdefault(str(e.data.get("route", "")), deque()).append(e.seq)
        elif e.type in ("notify.delivered", "notify.failed", "notify.withheld"):
            self._delivery(e)
        elif e.type.startswith("improvement."):
            self.improvements.see(e)

    def _delivery(self, e: Event) -> None:
        # A delivery event names its request by seq when it can (request_seq); otherwise the
        # oldest undelivered request to the same route is taken to be the one settled. The
        # outbox's "resolve" of a PagerDuty incident answers no request.
        d = e.data
        if d.get("event") == "resolve":
            return
        queue = self._pending.get(str(d.get("route", "")), deque())
        named = (d[k] for k in ("request_seq", "event_seq") if isinstance(d.get(k), int))
        target = next(named, None)
        if target is None and queue:
            target = queue[0]
        if target is None:
            return
        if target in queue:
            queue.remove(target)
        failed = e.type != "notify.delivered"
        error = d.get("detail") or d.get("error") or d.get("last_error")
        attempts = d.get("attempts")
        fallback = d.get("fallback")
        self.deliveries[int(target)] = {
            "status": e.type.split(".")[1],
            "at": e.at,
            "attempts": attempts if isinstance(attempts, int) else None,
            "error": str(error) if error and failed else None,
            "fallback": fallback if isinstance(fallback, str) else None,
        }


def _pages(events: Iterator[Event]) -> Iterator[list[Event]]:
    while page := list(islice(events, PAGE)):
        yield page


def _fold(source: Source, table: dict[str, str], lang: str) -> tuple[RunState, _Collector]:
    events = iter(source())
    first = next(events, None)
    if first is None or first.type != "run.opened":
        raise InvalidInput("the run's record does not start with run.opened; it cannot be reported")
    state = fold([first], playbook_from_opening)
    seen = _Collector(Describer(state.playbook, table, lang))
    seen.see(first)
    for page in _pages(events):
        advance(state, page)
        for e in page:
            seen.see(e)
        # The report keeps its own rows of these (or reads them again); drop the fold's copies
        # so that memory does not grow with the run.
        state.notes.clear()
        state.evidence.clear()
        state.notifications.clear()
    return state, seen


def report_time(
    state: RunState, at: datetime | None, clock: Callable[[], datetime] | None
) -> datetime:
    """The time the report is rendered as of: ``at`` if given; else the last event's time if
    the run is closed or no clock is given; else the clock's time."""
    if at is not None:
        return at
    last = state.last_at or state.opened_at
    return last if state.closed or clock is None else clock()


def build_report(
    source: Source,
    *,
    lang: str = "en",
    at: datetime | None = None,
    clock: Callable[[], datetime] | None = None,
    default_tz: str | None = None,
    more: Callable[[RunState, Callable[[], Iterator[Event]]], Mapping[str, Any]] | None = None,
    drills: list[Row] | None = None,
) -> dict[str, Any]:
    """The report of the run whose events ``source()`` yields (each call reads them afresh).

    ``more`` adds sections a layer above knows how to build (a drill's after-action part), from
    the folded state and the same events; ``drills`` are earlier drill runs of the same
    playbook, evidence of preparedness for the mitigation file.
    """
    table = labels(lang)
    state, seen = _fold(source, table, lang)
    last = state.last_seq

    def source_upto() -> Iterator[Event]:
        # Sections read the events again later: stop where the fold stopped, so a run that
        # moves on while the report is written still gets one consistent report.
        return takewhile(lambda e: e.seq <= last, source())

    def rows(
        types: tuple[str, ...],
        make: Callable[[Event], Row],
        section: str | None = None,
        finish: Callable[[Row], Row] | None = None,
    ) -> Rows:
        count = sum(seen.types[t] for t in types)
        kept = seen.kept.rows(section) if section else None
        return Rows(source_upto, types, make, count, kept=kept, finish=finish)

    now = report_time(state, at, clock)
    pb = state.playbook
    tz = state.timezone or default_tz
    say = Describer(pb, table, lang, template_context(state, now, tz))
    clocks = [clock_row(v, state.scenario(now), say) for v in views(state, now)]
    steps = [
        step_row(state, sid, sid in seen.started, seen.outcomes.get(sid), say)
        for sid in state.steps
    ]
    improvements = seen.improvements.rows()
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "lang": lang,
        "as_of": iso(now),
        "timezone": tz or "UTC",
        "overview": {
            "run": state.run_id,
            "playbook": playbook_row(state, seen.recorded_sha256, lang),
            "mode": state.mode,
            "responders": [{"name": n, "events": c} for n, c in seen.actors.items()],
            "started": iso(state.opened_at),
            "closed": iso(state.closed_at),
            "duration_seconds": seconds(state.opened_at, state.closed_at or now),
        },
        "inputs": input_rows(state, say),
        "summary": summary(clocks, steps),
        "clocks": clocks,
        "steps": steps,
        "decisions": [decision_row(e, say) for e in seen.decisions],
        "approvals": [approval_row(sid, got, say) for sid, got in seen.approvals.items()],
        "notes": rows(NOTE_TYPES, say.note_row, "notes"),
        "notifications": rows(
            NOTIFY_TYPES, notification_row, "notifications", delivered(seen.deliveries)
        ),
        "commands": rows(COMMAND_TYPES, say.command_row, "commands", say.titled),
        "evidence": rows(EVIDENCE_TYPES, say.evidence_row, "evidence"),
        "flags": flags(state, seen.decisions, say),
        "dealings": dealings(state, seen.dealings, steps),
        "leniency": leniency.build(
            state, clocks, steps, improvements, say, dealings=seen.dealings, drills=drills or []
        ),
        "improvements": improvements,
        "timeline": rows(tuple(seen.types), say.timeline_row),
        "chain": {
            "head": state.head,
            "events": state.last_seq,
            "verify": f"cslir verify {state.run_id}",
        },
    }
    if more is not None:
        report.update(more(state, source_upto))
    return report
