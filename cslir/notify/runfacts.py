"""What the outbox needs to know about a run, read from its event log and kept current.

Whether it is a drill (every message marked, drill routes used), which steps stop a clock, and
when a step or the run closed (a PagerDuty alert is resolved then). Each run's events are read
once and then only the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cslir.store.base import EventStore

# Events that finish a step: its alert (an approval page, a clock's page) can be resolved.
FINISHING = frozenset({"step.done", "step.skipped", "approval.granted", "decision.made"})


@dataclass
class _Run:
    opening: dict[str, Any]
    last_seq: int = 0
    closed_seq: int | None = None
    finished: dict[str, int] = field(default_factory=dict)  # step -> seq of its last finish
    stops: dict[str, list[str]] | None = None  # clock -> steps that stop it


class RunFacts:
    """A cache over one store; used from one thread."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._runs: dict[str, _Run] = {}

    def _run(self, run_id: str) -> _Run:
        known = self._runs.get(run_id)
        if known is None:
            first = next(iter(self.store.iter_events(run_id)), None)
            known = _Run(dict(first.data) if first is not None else {})
            self._runs[run_id] = known
        for e in self.store.iter_events(run_id, known.last_seq):
            if e.type == "run.closed":
                known.closed_seq = e.seq
            elif e.type in FINISHING and isinstance(e.data.get("step"), str):
                known.finished[e.data["step"]] = e.seq
            known.last_seq = e.seq
        return known

    def drill(self, run_id: str) -> bool:
        return self._run(run_id).opening.get("mode") == "drill"

    def participants(self, run_id: str) -> frozenset[str]:
        """The routes a drill file lists as its participants (none for a bare ``--drill``)."""
        spec = self._run(run_id).opening.get("drill")
        found = spec.get("participants") if isinstance(spec, dict) else None
        return frozenset(str(p) for p in found) if isinstance(found, list) else frozenset()

    def stoppers(self, run_id: str, clock: str) -> list[str]:
        """The steps whose finishing stops ``clock``, from the playbook the run started with."""
        run = self._run(run_id)
        if run.stops is None:
            run.stops = {}
            try:
                from cslir.opsrepo.snapshot import playbook_from_opening

                playbook = playbook_from_opening(run.opening)
            except Exception:  # a snapshot that no longer loads: resolve at run close only
                playbook = None
            for step in playbook.steps if playbook else ():
                for stopped in step.stops:
                    run.stops.setdefault(stopped, []).append(step.id)
        return list(run.stops.get(clock, []))

    def closing_seq(self, run_id: str, steps: list[str], after: int) -> int | None:
        """The seq of the event after ``after`` that closed one of ``steps`` or the run."""
        run = self._run(run_id)
        candidates = [run.finished[s] for s in steps if run.finished.get(s, 0) > after]
        if run.closed_seq is not None and run.closed_seq > after:
            candidates.append(run.closed_seq)
        return min(candidates, default=None)
