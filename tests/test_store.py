"""The store's contract, run against SQLite and PostgreSQL alike (``store_url``); what only a
SQLite file has (file modes, WAL, a full disk, a busy file) is tested on SQLite alone."""

from __future__ import annotations

import inspect
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pgkit import query, shown

from cslir.base.errors import ActionRefused, NotFound, StoreError, UsageError
from cslir.base.storeurl import is_url
from cslir.engine.events import GENESIS, NewEvent, format_at, verify_chain
from cslir.store import open_store
from cslir.store.base import EventStore, RunRow, SeqConflict
from cslir.store.pg_schema import MIGRATIONS as PG_MIGRATIONS
from cslir.store.sqlite import MIGRATIONS, Store

T0 = datetime(2026, 11, 29, 3, 4, 5, tzinfo=UTC)
AT = format_at(T0)
REPO = Path(__file__).resolve().parents[1]


def at(seconds: float) -> str:
    return format_at(T0 + timedelta(seconds=seconds))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ops" / ".cslir" / "cslir.db"


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    with open_store(store_url, clock=lambda: T0) as opened:
        opened.create_run("r1", "leak", "Leak", "live", "alice", AT, {"playbook_sha256": "ab"})
        yield opened


@pytest.fixture
def sqlite_store(path: Path) -> Iterator[Store]:
    with Store(path, clock=lambda: T0) as opened:
        opened.create_run("r1", "leak", "Leak", "live", "alice", AT, {"playbook_sha256": "ab"})
        yield opened


def migrations(store_url: str) -> tuple[tuple[int, str], ...]:
    return PG_MIGRATIONS if is_url(store_url) else MIGRATIONS


def fill(store: EventStore, n: int, run: str = "r1") -> None:
    store.append_many(run, [NewEvent("alice", "note", {"i": i}, at(i)) for i in range(n)])


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


# -- children for the multi-process tests ----------------------------------------------------
# Each opens its store, then waits for a "go" file so that all start working together.

CHILD_PRELUDE = """
import json, sys, time
from pathlib import Path
from cslir.store import open_store

def wait_for_go():
    while not Path(sys.argv[1]).exists():
        time.sleep(0.001)
"""

APPENDER = """
db, run, worker, n = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
with open_store(db) as store:
    wait_for_go()
    for i in range(n):
        store.append(run, worker, "note", {"worker": worker, "i": i}, "2026-11-29T03:04:05.000000Z")
        time.sleep(0.001)  # as a responder would, so the writers interleave
"""

OPENER = """
db, run = sys.argv[2], sys.argv[3]
wait_for_go()  # opening is what is under test here
with open_store(db) as store:
    store.create_run(run, "leak", "Leak", "live", "alice", "2026-11-29T03:04:05.000000Z", {})
"""

CLAIMER = """
db, worker = sys.argv[2], sys.argv[3]
claimed = []
with open_store(db) as store:
    wait_for_go()
    while batch := store.outbox.claim_due_deliveries("2026-11-29T04:00:00.000000Z", worker, 600, 2):
        claimed += [d["id"] for d in batch]
        time.sleep(0.002)  # as a worker delivering would, so the two claimers interleave
print(json.dumps(claimed))
"""


def run_children(tmp_path: Path, script: str, argvs: list[list[str]]) -> list[str]:
    """Start one process per argv, release them at once, and return their stdout."""
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD_PRELUDE + script, str(go), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for argv in argvs
    ]
    time.sleep(0.2)  # let every interpreter start before any of them begins
    go.touch()
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=180)
        assert (child.returncode, err) == (0, "")
        outputs.append(out)
    return outputs


# -- opening, permissions, migrations --------------------------------------------------------


def test_store_creates_owner_only_file_and_dir_whatever_the_umask(path: Path) -> None:
    old = os.umask(0)
    try:
        with Store(path) as store:
            store.create_run("r1", "leak", "Leak", "live", "alice", AT, {})
            modes = {
                p.name: p.stat().st_mode & 0o777
                for p in [path.parent, path, *path.parent.glob("cslir.db-*")]
            }
    finally:
        os.umask(old)
    assert modes == {
        ".cslir": 0o700,
        "cslir.db": 0o600,
        "cslir.db-wal": 0o600,
        "cslir.db-shm": 0o600,
    }


def test_store_uses_wal_journal(sqlite_store: Store, path: Path) -> None:
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]


def test_migrations_are_recorded_once_and_reopening_is_idempotent(store_url: str) -> None:
    open_store(store_url, clock=lambda: T0).close()
    open_store(store_url, clock=lambda: T0 + timedelta(days=1)).close()
    assert query(store_url, "SELECT * FROM schema_migrations ORDER BY version") == [
        (version, AT) for version, _ in migrations(store_url)
    ]


def test_store_written_by_newer_cslir_is_refused(store_url: str) -> None:
    open_store(store_url).close()
    query(store_url, "INSERT INTO schema_migrations VALUES (99, ?)", (AT,))
    with pytest.raises(StoreError) as refused:
        open_store(store_url)
    assert refused.value.message == (
        f"the store {shown(store_url)} was written by a newer cslir (schema 99);"
        f" this one knows schema {migrations(store_url)[-1][0]}."
        " Upgrade cslir to use it."
    )


def test_a_file_that_is_not_a_store_is_refused_readably(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just notes\n" * 100)
    with pytest.raises(StoreError) as refused:
        Store(path)
    assert refused.value.message == f"the store {path} could not be opened: file is not a database"


def test_processes_opening_a_fresh_store_at_once_migrate_it_once(
    tmp_path: Path, store_url: str
) -> None:
    run_children(tmp_path, OPENER, [[store_url, f"r{i}"] for i in range(4)])
    assert query(store_url, "SELECT version FROM schema_migrations ORDER BY version") == [
        (version,) for version, _ in migrations(store_url)
    ]
    assert query(store_url, "SELECT id FROM runs ORDER BY id") == [
        ("r0",), ("r1",), ("r2",), ("r3",)
    ]  # fmt: skip


def test_closed_store_says_so(store_url: str) -> None:
    store = open_store(store_url)
    store.close()
    with pytest.raises(StoreError) as refused:
        store.last_seq("r1")
    assert refused.value.message == f"the store {shown(store_url)} is closed"


# -- runs and events --------------------------------------------------------------------------


def test_create_run_records_run_opened_as_event_one(store: EventStore) -> None:
    [opened] = store.events("r1")
    assert (opened.seq, opened.type, opened.prev_hash, opened.actor, opened.at) == (
        1,
        "run.opened",
        GENESIS,
        "alice",
        AT,
    )
    assert opened.data == {"playbook_sha256": "ab"}


def test_create_run_twice_is_refused(store: EventStore) -> None:
    with pytest.raises(ActionRefused) as refused:
        store.create_run("r1", "leak", "Leak", "live", "bob", AT, {})
    assert refused.value.message == "run 'r1' already exists"
    assert store.last_seq("r1") == 1


def test_append_returns_the_event_as_stored(store: EventStore) -> None:
    event = store.append("r1", "bob", "step.done", {"step": "contain"}, T0 + timedelta(minutes=5))
    assert event.seq == 2
    assert event.at == "2026-11-29T03:09:05.000000Z"
    assert store.events("r1")[-1] == event


def test_append_after_reopen_continues_the_chain(store_url: str) -> None:
    with open_store(store_url) as store:
        store.create_run("r1", "leak", "Leak", "live", "alice", AT, {})
        store.append("r1", "alice", "note", {"text": "first"}, at(1))
    with open_store(store_url) as store:
        store.append("r1", "bob", "note", {"text": "second"}, at(2))
        report = verify_chain(store.events("r1"))
    assert (report.ok, report.count) == (True, 3)


def test_expect_seq_conflict_is_refused_and_records_nothing(store: EventStore) -> None:
    store.append("r1", "alice", "note", {}, at(1), expect_seq=2)
    with pytest.raises(SeqConflict) as refused:
        store.append("r1", "bob", "step.done", {"step": "contain"}, at(2), expect_seq=2)
    assert isinstance(refused.value, ActionRefused)
    assert refused.value.message == (
        "run 'r1' has moved on: this action expected to be event 2 but the next is 3;"
        " someone else recorded something first. Nothing was recorded; look at the run again"
        " and retry."
    )
    assert store.last_seq("r1") == 2


def test_append_to_unknown_run_is_not_found(store: EventStore, store_url: str) -> None:
    with pytest.raises(NotFound) as refused:
        store.append("nope", "alice", "note", {}, AT)
    assert refused.value.message == f"no run 'nope' in the store {shown(store_url)}"


def test_append_many_records_all_or_nothing(store: EventStore) -> None:
    items = [NewEvent("alice", "note", {}, at(1)), NewEvent("alice", "note", {}, "yesterday")]
    with pytest.raises(ValueError, match="not a canonical event time"):
        store.append_many("r1", items)
    assert store.last_seq("r1") == 1
    assert [e.seq for e in store.append_many("r1", items[:1] * 3, expect_seq=2)] == [2, 3, 4]


def test_iter_events_streams_pages_after_a_seq(store: EventStore) -> None:
    fill(store, 9)
    store.PAGE_SIZE = 3  # several pages, and a last page that is exactly full
    assert inspect.isgenerator(store.iter_events("r1"))
    assert [e.seq for e in store.iter_events("r1", after_seq=4)] == [5, 6, 7, 8, 9, 10]
    assert store.events("r1") == list(store.iter_events("r1"))


def test_last_seq_is_zero_for_an_unknown_run(store: EventStore) -> None:
    assert store.last_seq("nope") == 0


def test_runs_lists_each_run_with_its_last_event(store: EventStore) -> None:
    store.create_run("r2", "outage", "Outage", "drill", "bob", at(10), {})
    fill(store, 2)
    assert store.runs() == [
        RunRow("r1", "leak", "Leak", "live", AT, 3, at(1)),
        RunRow("r2", "outage", "Outage", "drill", at(10), 1, at(10)),
    ]


@pytest.fixture
def prefixed(store_url: str) -> Iterator[EventStore]:
    with open_store(store_url) as store:
        for run_id in ["ab12", "ab123", "ab34", "a_b", "cd56"]:
            store.create_run(run_id, "leak", "Leak", "live", "alice", AT, {})
        yield store


@pytest.mark.parametrize(
    ("prefix", "run_id"),
    [("c", "cd56"), ("cd56", "cd56"), ("ab12", "ab12"), ("ab123", "ab123"), ("a_", "a_b")],
)
def test_resolve_run_finds_the_unique_or_exact_match(
    prefixed: Store, prefix: str, run_id: str
) -> None:
    assert prefixed.resolve_run(prefix) == run_id


def test_resolve_run_names_the_candidates_when_ambiguous(prefixed: EventStore) -> None:
    with pytest.raises(UsageError) as refused:
        prefixed.resolve_run("ab")
    assert refused.value.message == "run prefix 'ab' is ambiguous: ab12, ab123, ab34"


@pytest.mark.parametrize("prefix", ["zz", "ab5", ""])
def test_resolve_run_without_a_match_is_not_found(prefixed: EventStore, prefix: str) -> None:
    with pytest.raises(NotFound) as refused:
        prefixed.resolve_run(prefix)
    assert refused.value.message == f"no run matches '{prefix}'"


# -- tamper evidence, durability, contention --------------------------------------------------


def test_event_edited_in_the_store_is_named_by_verify_chain(
    store: EventStore, store_url: str
) -> None:
    fill(store, 5)
    query(store_url, "UPDATE events SET data = ? WHERE run = 'r1' AND seq = 4", ('{"i":99}',))
    report = verify_chain(store.events("r1"))
    assert (report.ok, report.count, report.first_bad_seq, report.reason) == (
        False,
        3,
        4,
        "event 4: hash does not match its contents",
    )


def test_unreadable_data_in_the_store_names_the_event(store: EventStore, store_url: str) -> None:
    fill(store, 2)
    query(store_url, "UPDATE events SET data = 'oops' WHERE run = 'r1' AND seq = 2")
    with pytest.raises(StoreError) as refused:
        store.events("r1")
    assert refused.value.message == (
        f"the store {shown(store_url)} holds unreadable data for event 2 of run 'r1';"
        " the record was altered outside cslir"
    )


def test_full_disk_is_reported_and_nothing_is_recorded(sqlite_store: Store, path: Path) -> None:
    # max_page_count makes SQLite hit SQLITE_FULL exactly as a full disk would.
    store = sqlite_store
    conn = store._conn
    assert conn is not None
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(StoreError) as refused:
        store.append("r1", "alice", "note", {"text": "x" * 100_000}, AT)
    assert refused.value.message == (
        f"the store {path} could not be written: database or disk is full;"
        " nothing was recorded for this action"
    )
    assert store.last_seq("r1") == 1


def hold_write_lock(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_append_waits_out_another_writer(sqlite_store: Store, path: Path) -> None:
    holder = hold_write_lock(path)
    threading.Timer(0.3, holder.execute, ["COMMIT"]).start()
    try:
        assert sqlite_store.append("r1", "alice", "note", {}, AT).seq == 2
    finally:
        holder.close()


def test_store_busy_past_its_timeout_says_so_without_sqlite_jargon(
    sqlite_store: Store, path: Path
) -> None:
    holder = hold_write_lock(path)
    try:
        with Store(path, busy_timeout=0.2) as impatient, pytest.raises(StoreError) as refused:
            impatient.append("r1", "alice", "note", {}, AT)
    finally:
        holder.close()
    assert refused.value.message == (
        f"the store {path} could not be written: it stayed busy for over 0.2 s"
        " (another cslir process is holding it); nothing was recorded for this action"
    )


def test_eight_processes_appending_at_once_lose_and_duplicate_nothing(
    tmp_path: Path, store: EventStore, store_url: str
) -> None:
    workers = [f"w{i}" for i in range(8)]
    run_children(tmp_path, APPENDER, [[store_url, "r1", w, "100"] for w in workers])
    events = store.events("r1")
    report = verify_chain(events)
    assert (report.ok, report.count) == (True, 801)
    switches = sum(a.actor != b.actor for a, b in itertools.pairwise(events[1:]))
    assert switches > 7, "the writers must interleave for this test to mean anything"
    recorded = sorted((e.data["worker"], e.data["i"]) for e in events[1:])
    assert recorded == sorted((w, i) for w in workers for i in range(100))


# -- the delivery outbox ----------------------------------------------------------------------


def enqueue(store: EventStore, key: str, due: str = AT) -> int:
    return store.outbox.enqueue_delivery("r1", 1, "ic-pager", {"text": key}, key, due)


def test_enqueue_with_the_same_key_returns_the_first_delivery(store: EventStore) -> None:
    first = enqueue(store, "k1")
    assert enqueue(store, "k1") == first
    [delivery] = store.outbox.deliveries("r1")
    assert {k: delivery[k] for k in ("id", "status", "attempts", "payload", "updated_at")} == {
        "id": first,
        "status": "pending",
        "attempts": 0,
        "payload": {"text": "k1"},
        "updated_at": AT,
    }


def test_claim_leases_only_deliveries_that_are_due(store: EventStore) -> None:
    due = enqueue(store, "due", at(0))
    enqueue(store, "later", at(60))
    [claimed] = store.outbox.claim_due_deliveries(at(30), "w1", 10, limit=10)
    assert (claimed["id"], claimed["status"], claimed["claimed_by"], claimed["claimed_until"]) == (
        due,
        "delivering",
        "w1",
        at(40),
    )
    assert store.outbox.claim_due_deliveries(at(30), "w2", 10, limit=10) == []


def test_lapsed_lease_is_reclaimable_but_a_live_one_is_not(store: EventStore) -> None:
    delivery = enqueue(store, "k1")
    store.outbox.claim_due_deliveries(at(0), "w1", 10, limit=1)
    assert store.outbox.claim_due_deliveries(at(9.999999), "w2", 10, limit=1) == []
    [reclaimed] = store.outbox.claim_due_deliveries(at(10), "w2", 10, limit=1)
    assert (reclaimed["id"], reclaimed["claimed_by"]) == (delivery, "w2")


def test_finish_by_a_worker_whose_lease_was_reclaimed_changes_nothing(store: EventStore) -> None:
    delivery = enqueue(store, "k1")
    store.outbox.claim_due_deliveries(at(0), "w1", 10, limit=1)
    store.outbox.claim_due_deliveries(at(10), "w2", 10, limit=1)
    assert not store.outbox.finish_delivery(delivery, "failed", 1, at(20), "timeout", worker="w1")
    assert store.outbox.finish_delivery(delivery, "delivered", 1, at(20), None, worker="w2")
    [done] = store.outbox.deliveries()
    assert (done["status"], done["attempts"], done["claimed_by"], done["claimed_until"]) == (
        "delivered",
        1,
        None,
        None,
    )


def test_finish_refuses_an_unknown_status(store: EventStore) -> None:
    delivery = enqueue(store, "k1")
    with pytest.raises(ValueError, match="unknown delivery status 'sent'"):
        store.outbox.finish_delivery(delivery, "sent", 1, AT, None)


def test_two_processes_claiming_at_once_never_share_a_delivery(
    tmp_path: Path, store: EventStore, store_url: str
) -> None:
    ids = [enqueue(store, f"k{i}") for i in range(200)]
    outputs = run_children(tmp_path, CLAIMER, [[store_url, "w1"], [store_url, "w2"]])
    first, second = (json.loads(out) for out in outputs)
    assert first and second, "both claimers must have competed for the test to mean anything"
    assert set(first).isdisjoint(second)
    assert sorted(first + second) == ids
    assert {d["status"] for d in store.outbox.deliveries()} == {"delivering"}
