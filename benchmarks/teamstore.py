"""Team mode on PostgreSQL: a recorded step, concurrent responders, and notify-to-screen latency.

The issue's goals: a recorded step on PostgreSQL within 3x a raw PostgreSQL ``INSERT ...
COMMIT`` of the same row size; set against the SQLite step; eight responders appending to one
run at once; how soon another responder's screen shows an event. All rows are measured in one
run against the server ``$CSLIR_TEST_POSTGRES`` names (default: the local one), in a schema made
for the run and dropped after it.

- floor: ``INSERT`` of one event-sized row per transaction, autocommit, ``synchronous_commit``
  on (what the store sets), over one connection;
- ``store.append`` on PostgreSQL: one event per call, through the store (the per-run advisory
  lock, reading the last hash, sealing, the NOTIFY);
- a recorded step: ``cslir run --auto`` of task steps in-process on PostgreSQL, and the same on
  a SQLite file (``steps.cslir_seconds``);
- 8 processes x 100 appends to one run: appends recorded per second as the store appends (one
  ``cslir_append`` statement under the run's advisory lock, the general way when another
  process appended since), against one process alone, and
  against the two ways measured when choosing it: the general path (a transaction: the lock,
  read the last event, INSERT, COMMIT), and optimistic inserts with no lock, retried on the
  ``(run, seq)`` unique violation (with how many retries, and how many appends were still
  refused after 50: an error a responder would have seen);
- notify-to-screen: ``cslir status RUN --watch`` as a subprocess; the time from an append's
  return in another process to the watch printing the redraw, median of 20; PostgreSQL
  (LISTEN/NOTIFY) against the SQLite file (looked at every 0.25 s).

Run: ``python benchmarks/teamstore.py [STEPS]``.
"""

from __future__ import annotations

import os
import secrets
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from _table import Row, format_table, row
from steps import cslir_seconds

STEPS = 500
AT = "2026-11-29T00:00:00.000000Z"
DSN = os.environ.get("CSLIR_TEST_POSTGRES") or "postgresql://postgres@127.0.0.1:5432/test"
REPO = Path(__file__).resolve().parents[1]

APPENDER = """
import os, sys, time, types
mode, url, run, n, go = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
import cslir.store.postgres as pg
from cslir.store.base import EventStore
retries = 0
if mode != "function":  # the general path: BEGIN, lock, read the last event, INSERT, COMMIT
    pg.PostgresStore.append_many = EventStore.append_many
if mode == "retry":  # the alternative: no lock, the (run, seq) unique violation retried
    pg.PostgresStore._lock_run = lambda self, conn, run_id: None
    pg._TRANSIENT = pg._TRANSIENT | {"23505"}
    def counted(low, high):
        global retries
        retries += 1
        return low
    pg.random = types.SimpleNamespace(uniform=counted)  # what _retrying waits before a retry
from cslir.base.errors import StoreError
from cslir.store import open_store
store = open_store(url)
refused = 0
while not os.path.exists(go):
    time.sleep(0.001)
for i in range(n):
    try:
        store.append(run, "w", "note", {"i": i, "text": "x" * 200}, "2026-11-29T00:00:00.000000Z")
    except StoreError:  # what a responder would see: still conflicting after 50 retries
        refused += 1
print(retries, refused)
"""


def schema_url(schema: str) -> str:
    option = quote(f"-csearch_path={schema}", safe="")
    return DSN + ("&" if "?" in DSN else "?") + f"options={option}"


def raw_insert_seconds(n: int, url: str) -> float:
    import psycopg

    data = '{"step":"s00000","text":"' + "x" * 40 + '"}'
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")
        conn.execute(
            "CREATE TABLE raw_events (run TEXT, seq INTEGER, at TEXT, actor TEXT, type TEXT,"
            " data TEXT, prev_hash TEXT, hash TEXT, PRIMARY KEY (run, seq))"
        )
        insert = "INSERT INTO raw_events VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        for seq in range(-50, 0):  # warm up: the connection, the plan, the table's first pages
            conn.execute(insert, ("run", seq, AT, "bench", "step.done", data, "0" * 64, "f" * 64))
        started = time.perf_counter()
        for seq in range(1, n + 1):
            conn.execute(insert, ("run", seq, AT, "bench", "step.done", data, "0" * 64, "f" * 64))
        return time.perf_counter() - started


def append_seconds(n: int, url: str) -> float:
    from cslir.store import open_store

    with open_store(url) as store:
        store.create_run("appends", "bench", "Bench", "live", "bench", AT, {})
        for i in range(50):  # warm up as the floor does
            store.append("appends", "bench", "note", {"i": i}, AT)
        started = time.perf_counter()
        for i in range(n):
            store.append("appends", "bench", "step.done", {"step": f"s{i:05d}"}, AT)
        return time.perf_counter() - started


def contended(url: str, mode: str, writers: int, each: int) -> tuple[float, int, int]:
    """Appends recorded per second by ``writers`` processes at once on one run, their retries,
    and how many appends were refused (an error a responder would have seen)."""
    from cslir.store import open_store

    run = f"{mode}-{writers}-{secrets.token_hex(3)}"
    with open_store(url) as store:
        store.create_run(run, "bench", "Bench", "live", "bench", AT, {})
    go = Path(tempfile.mkdtemp(prefix="cslir-bench-go-")) / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, mode, url, run, str(each), str(go)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(writers)
    ]
    time.sleep(1.5)  # every interpreter started and connected
    started = time.perf_counter()
    go.touch()
    counts = [p.communicate(timeout=600)[0].split() for p in procs]
    elapsed = time.perf_counter() - started
    retries, refused = (sum(int(c[k]) for c in counts) for k in (0, 1))
    with open_store(url) as store:
        recorded = store.last_seq(run) - 1
    if recorded != writers * each - refused:
        raise RuntimeError(f"{mode}: {writers * each - refused - recorded} appends were lost")
    return recorded / elapsed, retries, refused


def screen_latency(store: str, work: Path, samples: int = 20) -> float:
    """Median seconds from an append's return to ``cslir status --watch`` printing it."""
    from cslir.store import open_store

    root = work / f"ops-{secrets.token_hex(3)}"
    (root / "playbooks").mkdir(parents=True)
    (root / "cslir.yaml").write_text("cslir: 1\n", encoding="utf-8")
    env = {**os.environ, "CSLIR_ROOT": str(root), "CSLIR_STORE": store, "NO_COLOR": "1",
           "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}  # fmt: skip
    seen: list[float] = []
    with open_store(store) as writer:
        from cslir.opsrepo.validate import load_playbook
        from cslir.runs.session import open_run, utcnow

        path = root / "playbooks" / "one.yaml"
        path.write_text("cslir: 1\nid: one\ntitle: One\nsteps:\n  - {id: a}\n", encoding="utf-8")
        run = open_run(writer, load_playbook(path, root), {}, actor="bench", now=utcnow())
        watch = subprocess.Popen([sys.executable, "-m", "cslir", "status", run, "--watch"],
                                 stdout=subprocess.PIPE, env=env, cwd=root)  # fmt: skip
        assert watch.stdout is not None
        try:
            _redraw(watch.stdout.fileno(), run, 30.0)  # the first drawing
            for _ in range(samples):
                time.sleep(0.13)  # off the SQLite poll's rhythm
                writer.append(run, "bob", "note.added", {"text": "hi"}, utcnow())
                appended = time.perf_counter()
                _redraw(watch.stdout.fileno(), run, 10.0)
                seen.append(time.perf_counter() - appended)
        finally:
            watch.terminate()
            watch.wait()
    return statistics.median(seen)


def _redraw(fd: int, run: str, timeout: float) -> None:
    deadline, text = time.monotonic() + timeout, b""
    while f"run {run} (".encode() not in text:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise RuntimeError("status --watch did not redraw")
        text += os.read(fd, 65536)


def run(n: int = STEPS) -> list[Row]:
    import psycopg

    schema = f"cslir_bench_{secrets.token_hex(4)}"
    with psycopg.connect(DSN, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    url = schema_url(schema)
    try:
        with tempfile.TemporaryDirectory(prefix="cslir-bench-") as tmp:
            return _rows(n, url, Path(tmp))
    finally:
        with psycopg.connect(DSN, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _rows(n: int, url: str, work: Path) -> list[Row]:
    floor = row(f"raw PostgreSQL INSERT ... COMMIT, x{n}", raw_insert_seconds(n, url) * 1000 / n,
                "ms/step")  # fmt: skip
    append = row("store.append on PostgreSQL", append_seconds(n, url) * 1000 / n, "ms/step", floor)
    steps, _ = cslir_seconds(n, work / "pg", url)
    pg_step = row(f"cslir run --auto on PostgreSQL, {n} steps", steps * 1000 / n, "ms/step", floor)
    lite, _ = cslir_seconds(n, work / "sqlite")
    sqlite_step = row("the same on a SQLite file", lite * 1000 / n, "ms/step", floor)
    alone, _, _ = contended(url, "function", 1, 400)
    one = row("1 process appending to a run", alone, "appends/s")
    rate, _, _ = contended(url, "function", 8, 100)
    eight = row("8 processes x 100 appends to one run (as the store does)", rate, "appends/s", one)
    rate, _, _ = contended(url, "lock", 8, 100)
    general = row("the same, always a transaction: lock, read, INSERT", rate, "appends/s", one)
    rate, retries, refused = contended(url, "retry", 8, 100)
    other = row(f"the same, no lock, (run, seq) + retry ({retries} retries, {refused} refused)",
                rate, "appends/s", one)  # fmt: skip
    polled = row("status --watch redraw after an append, SQLite (polls every 0.25 s)",
                 screen_latency(str(work / "watch.db"), work) * 1000, "ms")  # fmt: skip
    notified = row("the same on PostgreSQL (LISTEN/NOTIFY)", screen_latency(url, work) * 1000,
                   "ms", polled)  # fmt: skip
    return [floor, append, pg_step, sqlite_step, one, eight, general, other, polled, notified]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else STEPS
    print(format_table(run(count)))
