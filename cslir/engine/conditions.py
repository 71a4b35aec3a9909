"""What a run's inputs say: their values as templates and expressions see them, and whether
a ``when:`` condition over them holds (or cannot be told yet).

The state fold, the clocks and the template context all ask these.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cslir.engine.model import Playbook
from cslir.engine.templating import TemplateProblem, evaluate


def input_values(inputs: Mapping[str, Any], playbook: Playbook) -> dict[str, Any]:
    """Inputs as templates and expressions see them: datetime inputs as datetimes."""
    out = dict(inputs)
    for name, spec in playbook.inputs.items():
        value = out.get(name)
        if spec.type == "datetime" and isinstance(value, str):
            with contextlib.suppress(ValueError):  # a bad spelling stays text, as recorded
                out[name] = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return out


def condition(expr: str | None, inputs: Mapping[str, Any], playbook: Playbook) -> bool | None:
    """True, False, or None when it names an input nobody has given yet."""
    if not expr:
        return True
    values = input_values(inputs, playbook)
    try:
        return bool(evaluate(expr, {**values, "inputs": values}))
    except (TemplateProblem, Exception):  # StrictUndefined raises when made a bool
        return None
