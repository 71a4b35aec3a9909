"""The drill scheduler and the readiness verdict, as a responder's machine runs them.

Four rows, each the median wall time of fresh processes on a real store:

- ``cslir notify test``: one page to a loopback endpoint (the baseline for a page);
- ``scheduler fire to participants paged``: ``cslir scheduler --once`` at a drill's slot, from
  the process starting to the participants' page delivered (it opens the drill run, calls the
  participants and delivers before it exits);
- ``cslir --help``: the baseline for a command that only starts;
- ``cslir readiness`` over 200 drills (20 playbooks) with 50 past runs each: 10,000 runs read
  from the store, every drill file and playbook validated.

The 10,000 runs are written straight into the store with sealed, hash-chained events (the
benchmark measures reading them, not writing them).

Run: ``python benchmarks/drills.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _table import Row, format_table, row

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from httpserver import LoopbackServer, Reply  # tests/ is on the path above

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "tests" / "drills" / "run" / "tabletop.yaml"
REPEATS = 5
PLAYBOOKS, DRILLS_PER_PLAYBOOK, RUNS_PER_DRILL = 20, 10, 50
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test value
DRILL = """cslir: 1
id: {id}
playbook: ../playbooks/{playbook}.yaml
inputs: {{records: 50000}}
schedule: {{cron: "0 10 * * *", timezone: Asia/Shanghai}}
cadence: 30d
participants: [ic-room]
objectives:
  - {{id: report-fast, text: First report within 2 hours, step: report, within: 2h}}
  - {{id: cac-clock, text: The CAC clock is met, clock: cac-report}}
"""


def cslir(*args: str) -> list[str]:
    beside = Path(sys.executable).parent / "cslir"
    return [str(beside), *args] if beside.is_file() else [sys.executable, "-m", "cslir", *args]


def ops(root: Path, playbooks: int, drills_each: int) -> Path:
    for folder in ("playbooks", "drills", "notifiers"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    text = "cslir: 1\ntimezone: Asia/Shanghai\nroutes: {escalate: ic-room, audit: ic-room}\n"
    (root / "cslir.yaml").write_text(text, encoding="utf-8")
    routes = ["cslir: 1", "routes:"]
    for name in ("ic-room", "legal-pager"):
        routes += [f"  {name}:", "    channel: webhook", "    url: ${env:HOOK_URL}",
                   "    secret: ${env:HOOK_SECRET}"]  # fmt: skip
    (root / "notifiers" / "routes.yaml").write_text("\n".join(routes) + "\n", encoding="utf-8")
    source = PLAYBOOK.read_text("utf-8")
    for p in range(playbooks):
        name = f"pb{p:02d}"
        (root / "playbooks" / f"{name}.yaml").write_text(
            source.replace("id: tabletop", f"id: {name}")
        )
        for d in range(drills_each):
            drill = f"{name}-d{d}"
            (root / "drills" / f"{drill}.yaml").write_text(DRILL.format(id=drill, playbook=name))
    return root


def fill(store_path: Path, root: Path, runs_each: int) -> None:
    """``runs_each`` closed, scored runs of every drill, written in one transaction."""
    from cslir.engine.events import GENESIS, canonical_json, format_at, seal
    from cslir.store.sqlite import Store

    Store(store_path).close()  # the schema
    conn = sqlite3.connect(store_path)
    conn.execute("PRAGMA synchronous = OFF")
    start = datetime.now(UTC) - timedelta(days=runs_each * 30)
    for path in sorted((root / "drills").glob("*.yaml")):
        drill = path.stem
        playbook = drill.rsplit("-", 1)[0]
        text = (root / "playbooks" / f"{playbook}.yaml").read_text("utf-8")
        for n in range(runs_each):
            at = start + timedelta(days=30 * n)
            rid = f"{at:%Y%m%d-%H%M%S}-{drill}"
            opened = {"playbook": {"id": playbook, "text": text, "path": ""}, "mode": "drill",
                      "inputs": {"records": 50000}, "drill": {"id": drill}}  # fmt: skip
            scored = {"objectives": [
                {"objective": "report-fast", "rating": "P", "measured_seconds": 1800},
                {"objective": "cac-clock", "rating": "S", "measured_seconds": None}]}  # fmt: skip
            body = [("run.opened", opened), ("step.done", {"step": "contain"}),
                    ("run.closed", {"steps": {"done": 5}}), ("drill.scored", scored)]  # fmt: skip
            conn.execute("INSERT INTO runs VALUES (?, ?, ?, 'drill', ?, ?)",
                         (rid, playbook, playbook, format_at(at), drill))  # fmt: skip
            prev = GENESIS
            for seq, (kind, data) in enumerate(body, start=1):
                e = seal(rid, seq, format_at(at + timedelta(minutes=seq)), "b", kind, data, prev)
                data = canonical_json(dict(e.data)).decode()
                values = (e.run, e.seq, e.at, e.actor, e.type, data, e.prev_hash, e.hash)
                conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
                prev = e.hash
    conn.commit()
    conn.close()


def timed(argv: list[str], env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return elapsed * 1000


def env_for(root: Path, store: Path, url: str) -> dict[str, str]:
    return {**os.environ, "CSLIR_ROOT": str(root), "CSLIR_STORE": str(store),
            "HOOK_URL": url, "HOOK_SECRET": SECRET, "NO_COLOR": "1"}  # fmt: skip


def paging_rows(work: Path, repeats: int) -> list[Row]:
    tests, fires = [], []
    with LoopbackServer() as server:
        server.script(*[Reply(200)] * (4 * repeats + 4))
        for i in range(repeats + 1):
            root = ops(work / f"page{i}", 1, 1)
            env = env_for(root, work / f"page{i}.db", f"{server.url}/hook")
            test = timed(cslir("notify", "test", "ic-room"), env, root)
            env["CSLIR_SCHEDULER_CLOCK"] = "2026-03-03T10:00:05+08:00"
            fire = timed(cslir("scheduler", "--once", "--remind", "0"), env, root)
            if i:  # the first round only warms the caches
                tests.append(test)
                fires.append(fire)
    base = row("cslir notify test (one page)", statistics.median(tests), "ms")
    return [base, row("scheduler fire to participants paged", statistics.median(fires), "ms",
                      base)]  # fmt: skip


def readiness_rows(work: Path, repeats: int) -> list[Row]:
    root = ops(work / "ready", PLAYBOOKS, DRILLS_PER_PLAYBOOK)
    store = work / "ready.db"
    fill(store, root, RUNS_PER_DRILL)
    env = env_for(root, store, "http://127.0.0.1:9/unused")
    helps = [timed(cslir("--help"), env, root) for _ in range(repeats + 1)][1:]
    ready = [timed(cslir("readiness", "--json"), env, root, (0, 1)) for _ in range(repeats + 1)]
    base = row("cslir --help", statistics.median(helps), "ms")
    runs = PLAYBOOKS * DRILLS_PER_PLAYBOOK * RUNS_PER_DRILL
    name = f"cslir readiness: {PLAYBOOKS * DRILLS_PER_PLAYBOOK} drills, {runs} runs"
    return [base, row(name, statistics.median(ready[1:]), "ms", base)]


def run(repeats: int = REPEATS) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        return [*paging_rows(work, repeats), *readiness_rows(work, repeats)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed runs per command")
    args = parser.parse_args()
    print(format_table(run(args.repeats)))
