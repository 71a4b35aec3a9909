"""Start-up time of ``cslir --help`` and ``cslir validate playbooks/`` against ``python -c pass``.

DESIGN.md "Budgets": ``cslir --help`` and ``cslir validate`` start like a small script, within a
few times a bare ``python -c pass``. Each command runs as a fresh process from the project root,
once to warm the caches and then ``--repeats`` times; the row is the median wall time.

Run: ``python benchmarks/startup.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _table import Row, format_table, row

REPO = Path(__file__).resolve().parents[1]
REPEATS = 15


def cslir_command() -> list[str]:
    """The installed console script beside this interpreter, as a responder would run it."""
    beside = Path(sys.executable).parent / "cslir"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("cslir")
    return [found] if found else [sys.executable, "-m", "cslir"]


def median_ms(argv: list[str], repeats: int) -> float:
    """Median wall time of ``argv`` in milliseconds; the command must succeed."""
    times = []
    for i in range(repeats + 1):
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
        if i:  # the first run only warms the file and bytecode caches
            times.append(elapsed * 1000)
    return statistics.median(times)


def run(repeats: int = REPEATS) -> list[Row]:
    cslir = cslir_command()
    floor = row("python -c pass", median_ms([sys.executable, "-c", "pass"], repeats), "ms")
    return [
        floor,
        row("cslir --help", median_ms([*cslir, "--help"], repeats), "ms", floor),
        row("cslir validate playbooks/", median_ms([*cslir, "validate", "playbooks/"], repeats),
            "ms", floor),
    ]  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed runs per command")
    args = parser.parse_args()
    print(format_table(run(args.repeats)))
