"""Decision floors: thresholds that propose the least a decision may choose.

A grading decision lists its choices from the lowest to the highest; each ``floor`` rule names
a condition over the inputs (``records_affected >= 1000000``), the least choice it proposes and
the indicator met. The highest choice any met rule proposes is the proposed minimum: choosing
lower is allowed, because the guide's catch-alls and unsettled thresholds need a human, but it
needs a rationale and is flagged in the record and the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cslir.engine.model import Floor, Playbook, Step
from cslir.engine.state import condition


@dataclass(frozen=True)
class Proposal:
    minimum: str  # the least choice the met rules propose
    met: tuple[Floor, ...]  # every rule that holds, in the playbook's order

    def below(self, choices: list[str], value: str) -> bool:
        """Whether ``value`` ranks below the minimum (choices run from lowest to highest)."""
        return value in choices and choices.index(value) < choices.index(self.minimum)

    def record(self, below: bool) -> dict[str, Any]:
        """What the decision's event keeps of it."""
        return {
            "minimum": self.minimum,
            "indicators": [
                dict(f.indicator) if isinstance(f.indicator, Mapping) else f.indicator
                for f in self.met
            ],
            "basis": sorted({b for f in self.met for b in f.basis}),
            "below": below,
        }


def propose(playbook: Playbook, step: Step, inputs: Mapping[str, Any]) -> Proposal | None:
    """The minimum the met rules propose, or None when no rule holds (or none can be told)."""
    choices = [c.value for c in playbook.choices_of(step)]
    met = tuple(
        f for f in step.floor if f.choice in choices and condition(f.when, inputs, playbook) is True
    )
    if not met:
        return None
    top = max(met, key=lambda f: choices.index(f.choice))
    return Proposal(top.choice, met)
