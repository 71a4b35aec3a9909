"""What the store says about drills and improvement plans, read in one pass for many runs.

``drill list`` and ``readiness`` ask the same questions of thousands of runs: which runs each
drill had, when each closed, how its objectives were rated, which improvement items are open.
They are answered from the runs table and the few event types that carry them (an indexed
query), never by folding every run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cslir.report.improvements import Improvements
from cslir.store.base import EventStore, RunRow

TYPES = ("run.closed", "drill.scored", "drill.rated", "improvement.added", "improvement.closed")


@dataclass
class RunFacts:
    row: RunRow
    closed_at: str | None = None
    ratings: dict[str, str] = field(default_factory=dict)  # objective -> final rating
    improvements: Improvements = field(default_factory=Improvements)

    @property
    def at(self) -> str:
        """When the run was held: its close, else its start."""
        return self.closed_at or self.row.created_at


@dataclass
class Record:
    runs: dict[str, RunFacts]

    def of_drill(self, drill_id: str) -> list[RunFacts]:
        """The drill's runs, oldest first."""
        return [r for r in self.runs.values() if r.row.drill == drill_id]

    def of_playbook(self, playbook_id: str) -> list[RunFacts]:
        return [r for r in self.runs.values() if r.row.playbook_id == playbook_id]

    def last_held(self, drill_ids: Iterable[str]) -> RunFacts | None:
        """The newest closed run of any of these drills."""
        wanted = set(drill_ids)
        held = [r for r in self.runs.values() if r.row.drill in wanted and r.closed_at]
        return max(held, key=lambda r: r.at, default=None)


def read_record(store: EventStore) -> Record:
    runs = {row.id: RunFacts(row) for row in store.runs()}
    for e in store.events_of_types(TYPES):
        facts = runs.get(e.run)
        if facts is None:
            continue
        if e.type == "run.closed":
            facts.closed_at = e.at
        elif e.type == "drill.scored":
            for o in e.data.get("objectives") or []:
                facts.ratings.setdefault(str(o["objective"]), str(o["rating"]))
        elif e.type == "drill.rated":
            facts.ratings[str(e.data["objective"])] = str(e.data["rating"])
        else:
            facts.improvements.see(e)
    return Record(runs)


def ratings_text(ratings: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in ratings.items()) or "not rated"
