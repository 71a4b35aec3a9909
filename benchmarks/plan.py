"""``cslir plan`` on a 500-step playbook against ``cslir validate`` of the same file.

The playbook is generated (fixed seed): 500 steps with estimates, each needing one to three
earlier steps; eight clocks, some started by a step, some conditional, some tightened by
``due_if``; four choice and yes/no inputs that the conditions read, so the plan tries every
combination of them (24 scenarios). Both commands run as fresh processes, once to warm the
caches and then ``--repeats`` times; each row is the median wall time, and plan's row is its
ratio to validate's, which has to parse and check the same file first.

Run: ``python benchmarks/plan.py [--repeats N]``. Measured when written: 1.17x (361 ms vs 308 ms).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from _table import Row, format_table, row
from startup import cslir_command, median_ms

STEPS = 500
REPEATS = 7


def playbook(steps: int = STEPS, seed: int = 7) -> str:
    rng = random.Random(seed)
    lines = [
        "cslir: 1", "id: big", "title: A 500-step playbook", "inputs:",
        "  detected_at: {type: datetime, default: now}",
        "  cii: {type: bool}", "  pi: {type: bool}", "  urgent: {type: bool}",
        "  grade: {type: choice, choices: [general, relatively_major, major]}",
        "clocks:",
    ]  # fmt: skip
    stoppers = {}
    for c in range(8):
        start = "detected_at" if c % 3 else f"step:s{c * 40}"
        extra = "    due_if: {cii: 20d, urgent: 10d}\n" if c % 2 else ""
        when = "    when: grade != 'general'\n" if c % 4 == 1 else ""
        lines.append(f"  c{c}:\n    from: {start}\n    due: 30d\n{extra}{when}    basis: benchmark")
        stoppers[100 + c * 50] = f"c{c}"
    lines.append("steps:")
    for i in range(steps):
        needs = sorted({f"s{rng.randrange(i)}" for _ in range(rng.randint(1, 3))}) if i else []
        step = f"  - id: s{i}\n    needs: [{', '.join(needs)}]\n    estimate: {rng.randint(1, 90)}m"
        if i % 7 == 3 and i not in stoppers:
            step += "\n    when: " + rng.choice(["cii", "not cii", "pi", "grade == 'major'"])
        if i in stoppers:
            step += f"\n    stops: {stoppers[i]}"
        lines.append(step)
    return "\n".join(lines) + "\n"


def run(repeats: int = REPEATS) -> list[Row]:
    cslir = cslir_command()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "cslir.yaml").write_text("cslir: 1\n", encoding="utf-8")
        path = root / "big.yaml"
        path.write_text(playbook(), encoding="utf-8")
        base = [*cslir, "--root", str(root)]
        checked = median_ms([*base, "validate", str(path)], repeats)
        planned = median_ms([*base, "plan", str(path), "--json"], repeats)
        validate = row(f"cslir validate ({STEPS} steps)", checked, "ms")
        plan = row(f"cslir plan ({STEPS} steps, 24 scenarios)", planned, "ms", validate)
    return [validate, plan]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed runs per command")
    args = parser.parse_args()
    print(format_table(run(args.repeats)))
