"""Several processes append to one run at once: the store serialises them and none is lost.
On both stores: a SQLite file and a PostgreSQL schema (``store_url``)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from runkit import cslir, cslir_env, make_ops, stored_events

from cslir.base.timefmt import utcnow
from cslir.opsrepo.validate import load_playbook
from cslir.runs.session import open_run
from cslir.store import open_store

WORKERS = 4
EACH = 50  # notes and as many step outcomes per worker: 400 events in all

WORKER = """
import sys, time
from pathlib import Path
from cslir.engine import actions
from cslir.runs.effects import RunSession
from cslir.store import open_store

db, rid, k, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
while not go.exists():  # start together
    time.sleep(0.002)
with open_store(db) as store:
    s = RunSession(store, rid, f"worker{k}")
    for i in range(n):
        s.record(lambda st: actions.note(st, f"w{k} note {i}"))
        s.record(lambda st: actions.done(st, f"w{k}-{i:03d}"))
"""


CLI = 3  # notes and step outcomes recorded meanwhile by `cslir note` and `cslir step`


def lanes_playbook(root: Path) -> Path:
    """One lane of steps per writer, every step free to be done in any order."""
    lines = ["cslir: 1", "id: lanes", "title: Lanes", "steps:"]
    for k in range(WORKERS):
        lines += [f"  - {{id: w{k}-{i:03d}, needs: []}}" for i in range(EACH)]
    lines += [f"  - {{id: cli-{i:03d}, needs: []}}" for i in range(CLI)]
    path = root / "playbooks" / "lanes.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_four_processes_appending_at_once_lose_nothing(tmp_path: Path, store_url: str) -> None:
    root = make_ops(tmp_path)
    pb = load_playbook(lanes_playbook(root), root)
    with open_store(store_url) as store:
        rid = open_run(store, pb, {}, actor="alice", now=utcnow())
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                store_url,
                rid,
                str(k),
                str(EACH),
                str(go),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(WORKERS)
    ]
    time.sleep(0.5)  # let every worker import and wait at the start line
    go.touch()
    env = cslir_env(tmp_path, root, actor="erin", store=store_url)
    for i in range(CLI):
        noted = cslir("note", rid, f"cli note {i}", env=env, cwd=root)
        stepped = cslir("step", rid, f"cli-{i:03d}", "--done", env=env, cwd=root)
        assert (noted.returncode, stepped.returncode) == (0, 0), noted.stderr + stepped.stderr
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * WORKERS, errors

    events = stored_events(tmp_path, rid, store_url)
    lanes = [(f"w{k}", i) for k in range(WORKERS) for i in range(EACH)]
    lanes += [("cli", i) for i in range(CLI)]
    notes = Counter(e.data["text"] for e in events if e.type == "note.added")
    assert notes == Counter(f"{lane} note {i}" for lane, i in lanes)
    done = Counter(e.data["step"] for e in events if e.type == "step.done")
    assert done == Counter(f"{lane}-{i:03d}" for lane, i in lanes)
    assert [e.type for e in events].count("run.closed") == 1
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len(events) == 1 + 2 * len(lanes) + 1  # opened, 406 recorded, closed
    verified = cslir("verify", rid, env=env, cwd=root)
    assert verified.returncode == 0
    assert verified.stdout.startswith(f"{rid}: {len(events)} events, chain intact; head ")
