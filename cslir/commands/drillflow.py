"""Holding a drill from the command line: load it, open its run, call the participants, then
the walkthrough (a facilitator at a terminal) or the unattended drive; the scores at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cslir.base.timefmt import utcnow
from cslir.commands.app import App
from cslir.commands.runflow import answers_context, refuse_unanswerable, walk_or_drive
from cslir.drills.holding import call_participants, open_drill
from cslir.drills.live import drill_of
from cslir.drills.model import load_drill
from cslir.drills.scoring import RATINGS, ratings
from cslir.runs.answers import load_answers
from cslir.terminal.console import Term


def hold(
    app: App,
    path: Path,
    *,
    answers: Path | None,
    auto: bool,
    speed: float,
) -> int:
    drill, pb = load_drill(path, app.settings.root)
    term = Term()
    ans = _answers(app, drill.answer_file() if drill.unattended else None, answers, pb)
    unattended = auto or answers is not None or (drill.unattended and not term.interactive)
    also = " (or give the drill answers: to run it unattended)"
    refuse_unanswerable(term, unattended=unattended, also=also)
    run_id = open_drill(
        app.store, drill, pb, actor=app.actor, now=utcnow(), timezone=app.settings.timezone,
        lang=app.settings.language, given=(ans or {}).get("inputs") or {}, speed=speed,
    )  # fmt: skip
    term.say(f"drill run {run_id} started: {drill.name(app.settings.language)} [DRILL]")
    session = app.session(run_id)
    for e in call_participants(session):
        if e.type == "notify.requested":
            term.say(f"  → calling {e.data['route']}: {e.data['message']}")
    code = walk_or_drive(
        app, session, term, ans if unattended else None,
        auto=auto or (unattended and drill.unattended),
        role=None, then=lambda: show_ratings(session.state(), term),
    )  # fmt: skip
    return code


def _answers(
    app: App, scripted: dict[str, Any] | None, path: Path | None, pb: Any
) -> dict[str, Any] | None:
    """The drill's own answers with an ``--answers`` file's on top."""
    if path is None:
        return scripted
    given = load_answers(path, pb, answers_context(app, utcnow(), drill=True))
    base = scripted or {"inputs": {}, "steps": {}}
    return {
        "inputs": {**base["inputs"], **(given.get("inputs") or {})},
        "steps": {**base["steps"], **(given.get("steps") or {})},
    }


def show_ratings(state: Any, term: Term) -> None:
    drill = drill_of(state)
    if drill is None or not drill.objectives:
        return
    word = "scored" if state.closed else "so far"
    term.say(f"objectives ({word}; HSEEP P/S/M/U):")
    for row in ratings(state, drill):
        by = f", rated by {row['rated_by']}: {row['rated_reason']}" if row.get("rated_by") else ""
        term.say(f"  {row['rating']} {row['objective']}: {RATINGS[row['rating']]} — "
                 f"{row['why']}{by}")  # fmt: skip
