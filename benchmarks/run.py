"""Run every benchmark in this folder and print their rows in one table.

A benchmark is any ``benchmarks/*.py`` other than this file and ``_*.py`` that defines
``run() -> list[dict]`` (the row convention is in ``_table.py``). A benchmark that fails
becomes one row saying why; the others still run.

Run: ``python benchmarks/run.py [NAME ...]`` (default: all of them).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from _table import Row, format_table

HERE = Path(__file__).resolve().parent


def discover() -> dict[str, Path]:
    return {
        p.stem: p
        for p in sorted(HERE.glob("*.py"))
        if p.name != Path(__file__).name and not p.name.startswith("_")
    }


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(name: str, path: Path) -> list[Row] | None:
    """The benchmark's rows; None if the module is no benchmark (it defines no run())."""
    try:
        module = load(name, path)
        bench: Any = getattr(module, "run", None)
        if not callable(bench):
            return None
        rows: list[Row] = bench()
        return rows
    except Exception as e:  # one broken benchmark must not hide the others' numbers
        traceback.print_exc(file=sys.stderr)
        reason = f"{type(e).__name__}: {e}".splitlines()[0]
        return [Row(name=f"failed: {reason}", value=None, unit="", baseline=None, ratio=None)]


def main(argv: list[str] | None = None) -> int:
    found = discover()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(found)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(found))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)} (have: {', '.join(found)})")
    rows: list[Row] = []
    groups: list[str] = []
    for name in args.names or list(found):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        result = measure(name, found[name])
        if result is None:
            print(f"  {name}.py defines no run(); skipped", file=sys.stderr)
            continue
        rows += result
        groups += [name] * len(result)
    print(format_table(rows, group=groups))
    return 1 if any(r["name"].startswith("failed: ") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
