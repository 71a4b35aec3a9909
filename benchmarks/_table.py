"""The convention every benchmark follows, and the table that shows their rows side by side.

A benchmark is a module ``benchmarks/NAME.py`` with ``def run() -> list[dict]``; ``run.py``
finds every such module and prints all their rows in one table. Each row is a ``Row``:

- ``name``: what was measured, e.g. ``cslir --help``;
- ``value``: the measurement, or None when it could not be taken (the name then says why);
- ``unit``: the unit of ``value``, e.g. ``ms`` or ``ms/step``;
- ``baseline``: the name of the row it is compared with, or None for a baseline itself;
- ``ratio``: ``value`` divided by the baseline's value (1.0 for a baseline, None if unknown).

Benchmarks measure; they never assert. DESIGN.md "Budgets" says what the ratios should be.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict


class Row(TypedDict):
    name: str
    value: float | None
    unit: str
    baseline: str | None
    ratio: float | None


def row(name: str, value: float | None, unit: str, baseline: Row | None = None) -> Row:
    """A row; given a ``baseline`` row, its name and the ratio to its value are filled in."""
    if baseline is None:
        return Row(name=name, value=value, unit=unit, baseline=None, ratio=1.0)
    base = baseline["value"]
    ratio = value / base if value is not None and base else None
    return Row(name=name, value=value, unit=unit, baseline=baseline["name"], ratio=ratio)


def format_table(rows: Sequence[Row], *, group: Sequence[str] | None = None) -> str:
    """Rows as aligned text; ``group`` (one label per row) adds a leading benchmark column."""
    header = ["what", "value", "unit", "x baseline", "baseline"]
    cells = [
        [
            r["name"],
            "n/a" if r["value"] is None else f"{r['value']:.3f}",
            r["unit"],
            "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}x",
            r["baseline"] or "(baseline)",
        ]
        for r in rows
    ]
    if group is not None:
        header = ["benchmark", *header]
        cells = [[g, *c] for g, c in zip(group, cells, strict=True)]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    numeric = {len(header) - 4, len(header) - 2}  # value and ratio read best right-aligned

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if i in numeric else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, cells)])
