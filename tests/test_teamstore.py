"""Team mode: what only a store shared by several machines must show, on both stores where it
applies. Writers killed mid-run, a dropped connection, a restarted server (a private one: the
shared server cannot be restarted), followers woken by LISTEN/NOTIFY, one scheduler per store,
evidence in the database, ``store copy`` and ``store check``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pgkit import PASSWORD, Cluster, admin, query, shown, with_schema
from runkit import cslir, cslir_env, make_ops

from cslir.base.errors import StoreError
from cslir.engine.events import NewEvent, verify_chain
from cslir.opsrepo.validate import load_playbook
from cslir.runs.evidence import store_file
from cslir.runs.session import open_run
from cslir.store import open_store
from cslir.store.base import EventStore, EvidenceTooLarge, SeqConflict
from cslir.store.postgres import PostgresStore
from cslir.store.schedule import Holder

AT = "2026-11-29T03:04:05.000000Z"
T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]

WRITER = """
import sys, time
from cslir.store import open_store
db, run, name, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open_store(db) as store:
    print("ready", flush=True)
    for i in range(n):
        store.append(run, name, "note", {"writer": name, "i": i}, "2026-11-29T03:04:05.000000Z")
        print(i, flush=True)  # only once the append is durable, as the screen would say it
        time.sleep(0.002)
"""

HOLDER = """
import sys, time
from datetime import UTC, datetime
from cslir.store import open_store
from cslir.store.schedule import Holder
store = open_store(sys.argv[1])
me = Holder("cslir scheduler 4242@far-host", 4242, "far-host")
assert store.schedule.acquire(me, datetime(2026, 11, 29, 3, 4, 5, tzinfo=UTC), 120) is None
print("locked", flush=True)
time.sleep(600)
"""


def start(script: str, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def lines_until(proc: subprocess.Popen[str], count: int) -> list[str]:
    assert proc.stdout is not None
    said = []
    while len(said) < count and (line := proc.stdout.readline()):
        said.append(line.strip())
    return said


def by_writer(events: list[Any], name: str) -> list[int]:
    return [e.data["i"] for e in events if e.actor == name]


def new_run(store: EventStore, run: str = "r1") -> None:
    store.create_run(run, "leak", "Leak", "live", "alice", AT, {})


# -- writers killed, connections dropped, a server restarted ------------------------------------


def test_writers_killed_mid_append_lose_nothing_they_reported(store_url: str) -> None:
    with open_store(store_url) as store:
        new_run(store)
    names = ["w0", "w1", "w2", "w3"]
    # w0 and w1 are killed while they still have thousands of appends to go
    procs = {n: start(WRITER, store_url, "r1", n, "120" if n > "w1" else "5000") for n in names}
    for proc in procs.values():
        assert lines_until(proc, 1) == ["ready"]
    reported = {name: lines_until(procs[name], 15)[:] for name in ("w0", "w1")}
    for name in ("w0", "w1"):
        procs[name].send_signal(signal.SIGKILL)
    for name, proc in procs.items():
        assert proc.stdout is not None and proc.stderr is not None
        # through the same buffered reader as lines_until: it may hold lines already read
        reported[name] = reported.get(name, []) + proc.stdout.read().split()
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == (-9 if name in ("w0", "w1") else 0), err
    with open_store(store_url) as store:
        events = store.events("r1")
        assert store.append("r1", "alice", "note", {}, AT).seq == len(events) + 1  # not stuck
    assert verify_chain(events).ok
    for name in names:
        recorded = by_writer(events, name)
        assert recorded == list(range(len(recorded)))  # in order, no gap, no duplicate
        said = [int(i) for i in reported[name]]
        assert said == recorded[: len(said)]  # what was reported durable is recorded
        # at most the one append in flight when the kill came landed without being reported
        assert len(recorded) - len(said) <= 1
    assert by_writer(events, "w2") == by_writer(events, "w3") == list(range(120))


def test_a_dropped_connection_is_reconnected_with_one_line(pg_url: str, pg_database: str) -> None:
    notices: list[str] = []
    with PostgresStore(pg_url, notice=notices.append) as store:
        new_run(store)
        pid = store._live().info.backend_pid
        with admin(pg_database) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        event = store.append("r1", "bob", "note", {"text": "after the drop"}, AT)
        assert (event.seq, store.last_seq("r1")) == (2, 2)
        assert verify_chain(store.events("r1")).ok
    assert notices == [
        f"lost the connection to the store {shown(pg_url)} (terminating connection due to"
        " administrator command); reconnecting for up to 30 s, nothing recorded is lost"
    ]


class _LosesAnswer:
    """A connection whose next append commits but whose answer never arrives: the one-statement
    append (``cslir_append``) or a transaction's COMMIT, whichever comes first."""

    def __init__(self, conn: Any, store: _FlakyStore) -> None:
        self._conn, self._store = conn, store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def _lose(self) -> None:
        self._store.lose_next = False
        self._conn.close()
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    def execute(self, sql: Any, params: Any = None) -> Any:
        cursor = self._conn.execute(sql, params)
        if self._store.lose_next and str(sql).startswith("SELECT cslir_append("):
            self._lose()
        return cursor

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._conn.transaction() as tx:
            yield tx
        if self._store.lose_next:
            self._lose()


class _FlakyStore(PostgresStore):
    lose_next = False

    def connect(self) -> Any:
        return _LosesAnswer(super().connect(), self)


@pytest.mark.parametrize("known", [True, False], ids=["one-statement", "transaction"])
def test_a_commit_whose_answer_was_lost_is_recorded_once(pg_url: str, known: bool) -> None:
    # The one part no real server can be made to do on cue: commit, then lose the answer.
    notices: list[str] = []
    with _FlakyStore(pg_url, notice=notices.append) as store:
        new_run(store)
        if known:  # this store has read the run: it appends in one statement
            store.events("r1")
        store.lose_next = True
        [event] = store.append_many("r1", [NewEvent("bob", "note", {"n": 1}, AT)], expect_seq=2)
        assert (event.seq, store.lose_next) == (2, False)
        assert [e.seq for e in store.events("r1")] == [1, 2]  # recorded once, not twice
    assert len(notices) == 1


def test_a_server_restarted_twice_mid_run_loses_nothing(cluster: Cluster) -> None:
    env = {"CSLIR_TEST_PW": PASSWORD}
    url = with_schema(cluster.url(), f"restart_{os.getpid()}")
    with admin(cluster.url(PASSWORD)) as conn:
        conn.execute(f"CREATE SCHEMA restart_{os.getpid()}")
    with open_store(url, environ=env) as store:
        new_run(store)
    writer = start(WRITER, url, "r1", "w", "300", env=env)
    assert lines_until(writer, 41)[0] == "ready"
    cluster.restart()
    lines_until(writer, 100)
    cluster.restart()
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    warnings = err.splitlines()
    assert len(warnings) == 2, warnings  # one line per outage
    assert all(
        w.startswith(f"cslir: warning: lost the connection to the store {shown(url)} (")
        and w.endswith("reconnecting for up to 30 s, nothing recorded is lost")
        for w in warnings
    ), warnings
    assert PASSWORD not in err + out
    with open_store(url, environ=env) as store:
        events = store.events("r1")
    assert verify_chain(events).ok
    assert by_writer(events, "w") == list(range(300))


def test_a_server_gone_for_good_is_one_line_and_records_nothing(cluster: Cluster) -> None:
    env = {"CSLIR_TEST_PW": PASSWORD}
    notices: list[str] = []
    store = PostgresStore(cluster.url(), environ=env, reconnect_for=1.0, notice=notices.append)
    new_run(store, f"gone-{os.getpid()}")
    cluster.stop()
    try:
        with pytest.raises(StoreError) as refused:
            store.append(f"gone-{os.getpid()}", "bob", "note", {}, AT)
    finally:
        cluster.pg("start")
        store.close()
    assert refused.value.message == (
        f"the store {shown(cluster.url())} could not be written: Connection refused (is"
        " PostgreSQL running there, and is the host and port right?); reconnecting for 1 s did"
        " not help; nothing was recorded for this action"
    )
    assert len(notices) == 1


# -- following without polling ---------------------------------------------------------------


def test_followers_hear_of_an_append_at_once_and_do_not_poll(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_store(pg_url) as writer, open_store(pg_url) as follower:
        new_run(writer)
        woke: list[tuple[bool, float]] = []
        looked = threading.Event()
        last_seq = follower.last_seq

        def looking(run_id: str) -> int:  # a wait LISTENs first, then looks once
            seq = last_seq(run_id)
            looked.set()
            return seq

        monkeypatch.setattr(follower, "last_seq", looking)

        def follow(after: int, timeout: float) -> threading.Thread:
            def wait() -> None:
                woke.append((follower.wait_for_events("r1", after, timeout), time.monotonic()))

            looked.clear()
            thread = threading.Thread(target=wait)
            thread.start()
            assert looked.wait(30)  # the follower is listening and has looked: it only waits
            return thread

        # An event written behind cslir's back sends no notification: a follower that polled
        # would see it; this one waits out its timeout.
        thread = follow(1, 3.0)
        sql = "INSERT INTO events VALUES ('r1', 2, ?, 'x', 'note', '{}', ?, ?)"
        query(pg_url, sql, (AT, "0" * 64, "a" * 64))
        thread.join()
        assert woke.pop()[0] is False
        thread = follow(2, 30.0)
        writer.append("r1", "bob", "note", {}, AT)
        appended = time.monotonic()
        thread.join()
    heard, at = woke.pop()
    assert heard is True
    assert at - appended < 1.0  # the notification, not the 30 s timeout


def test_a_follower_waiting_returns_when_the_terminal_has_input(store_url: str) -> None:
    read, write = os.pipe()
    with open_store(store_url) as store, os.fdopen(read) as terminal:
        new_run(store)
        threading.Timer(0.2, os.write, [write, b"d\n"]).start()
        started = time.monotonic()
        assert store.wait_for_events("r1", 1, 30.0, also=[terminal]) is False
        assert time.monotonic() - started < 10
    os.close(write)


def test_a_store_that_read_a_run_sees_what_another_appended(pg_url: str) -> None:
    with open_store(pg_url) as mine, open_store(pg_url) as theirs:
        new_run(mine)
        assert [e.seq for e in mine.events("r1")] == [1]  # read: a re-read may skip the server
        theirs.append("r1", "bob", "note", {"text": "from another machine"}, AT)
        # acting on the stale view is refused, and the next read asks the server
        with pytest.raises(SeqConflict):
            mine.append_many("r1", [NewEvent("alice", "note", {}, AT)], expect_seq=2)
        assert [(e.seq, e.actor) for e in mine.iter_events("r1", 1)] == [(2, "bob")]
        # without acting: the notification says so, within moments of the commit
        theirs.append("r1", "bob", "note", {"text": "again"}, AT)
        deadline = time.monotonic() + 30
        while not (seen := mine.events("r1", 2)):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert [e.seq for e in seen] == [3]


# -- one scheduler per store ----------------------------------------------------------------------

HOST_A = Holder("cslir scheduler 111@host-a", 111, "host-a")
HOST_B = Holder("cslir scheduler 222@host-b", 222, "host-b")


def test_one_scheduler_per_store_and_the_second_is_told_who(store_url: str) -> None:
    now = T0
    with open_store(store_url) as a, open_store(store_url) as b:
        assert a.schedule.acquire(HOST_A, now, stale_after=120) is None
        other = b.schedule.acquire(HOST_B, now, stale_after=120)
        assert other is not None and (other.holder, other.host) == (HOST_A.holder, "host-a")
        assert a.schedule.beat(HOST_A, now)
        a.schedule.release(HOST_A)
        assert b.schedule.acquire(HOST_B, now, stale_after=120) is None


def test_a_killed_scheduler_on_another_host_frees_the_lock_at_once(pg_url: str) -> None:
    # On SQLite a holder on another host is taken over once its beats go stale; on PostgreSQL
    # the advisory lock goes with the dead process's connection: nothing to wait out.
    open_store(pg_url).close()
    holder = start(HOLDER, pg_url)
    assert lines_until(holder, 1) == ["locked"]
    with open_store(pg_url) as other:
        assert other.schedule.acquire(HOST_B, T0, stale_after=3600) == Holder(
            "cslir scheduler 4242@far-host", 4242, "far-host", AT, AT
        )
        holder.kill()
        holder.wait()
        deadline = time.monotonic() + 20
        while (got := other.schedule.acquire(HOST_B, T0, stale_after=3600)) is not None:
            assert time.monotonic() < deadline, got
            time.sleep(0.05)
        assert other.schedule.beat(HOST_B, T0)


def test_a_scheduler_whose_connection_dropped_is_told_it_no_longer_holds_the_lock(
    pg_url: str, pg_database: str
) -> None:
    with open_store(pg_url) as store:
        assert store.schedule.acquire(HOST_A, T0, stale_after=120) is None
        conn = store.follow._scheduler  # type: ignore[attr-defined]
        with admin(pg_database) as dba:
            dba.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        assert store.schedule.beat(HOST_A, T0) is False


# -- evidence every member of the team can read -------------------------------------------------


def test_evidence_is_kept_in_the_database_for_every_machine(pg_url: str, tmp_path: Path) -> None:
    receipt = tmp_path / "receipt.txt"
    receipt.write_bytes(b"CAC filing 12387-991")
    with PostgresStore(pg_url, max_evidence=20) as mine, open_store(pg_url) as theirs:
        item = store_file(receipt, mine)
        blob = theirs.open_evidence(item["sha256"])
        assert blob is not None and blob.read() == b"CAC filing 12387-991"
        receipt.write_bytes(b"CAC filing 12387-991 and more")
        with pytest.raises(EvidenceTooLarge) as refused:
            store_file(receipt, mine)
    assert refused.value.message == (
        f"{receipt}: evidence is kept in the database ({shown(pg_url)}), up to 20 bytes"
        " per item, and this is larger; nothing was recorded. Keep it on a shared drive and add"
        " a note saying where, with its sha256"
    )
    assert query(pg_url, "SELECT count(*) FROM evidence") == [(1,)]


# -- store copy and store check -------------------------------------------------------------------


def sample_run(store_url: str, root: Path, tmp_path: Path) -> str:
    """A run of the asks playbook with notes and a piece of evidence; returns its head."""
    receipt = tmp_path / "receipt.txt"
    receipt.write_text("filed", encoding="utf-8")
    playbook = load_playbook(root / "playbooks" / "asks.yaml", root)
    inputs = {"detected_at": "2026-11-28T01:00:00Z", "records": 3, "operator": "other", "pi": True}
    with open_store(store_url) as store:
        open_run(store, playbook, inputs, actor="alice", now=T0, run_id="r1")
        fill = [NewEvent("alice", "note.added", {"text": f"n{i}"}, AT) for i in range(20)]
        store.append_many("r1", fill)
        item = store_file(receipt, store)
        store.append("r1", "alice", "evidence.added", item, AT)
        return verify_chain(store.events("r1")).head


def test_store_copy_round_trip_keeps_every_head_hash(pg_url: str, tmp_path: Path) -> None:
    root = make_ops(tmp_path, "asks")
    first, back = str(tmp_path / "a" / "cslir.db"), str(tmp_path / "b" / "cslir.db")
    head = sample_run(first, root, tmp_path)
    env = cslir_env(tmp_path, root)
    there = cslir("store", "copy", first, pg_url, env=env, cwd=root)
    again = cslir("store", "copy", first, pg_url, env=env, cwd=root)
    home = cslir("store", "copy", pg_url, back, "--run", "r1", env=env, cwd=root)
    line = "r1: {}, 22 events, 1 evidence; head " + head
    assert [there.stdout, again.stdout, home.stdout] == [
        f"{line.format('copied')}\n1 run of {first} in {shown(pg_url)}, each with the same head"
        " hash\n",
        f"{line.format('already there')}\n1 run of {first} in {shown(pg_url)}, each with the"
        " same head hash\n",
        f"{line.format('copied')}\n1 run of {shown(pg_url)} in {back}, each with the same head"
        " hash\n",
    ]
    for store in (pg_url, back):
        verified = cslir("verify", "r1", env=cslir_env(tmp_path, root, store=store), cwd=root)
        assert verified.stdout.startswith(f"r1: 22 events, chain intact; head {head}\n")
    bundle = tmp_path / "r1.zip"
    pg_env = cslir_env(tmp_path, root, store=pg_url)
    assert cslir("export", "r1", "-o", str(bundle), env=pg_env, cwd=root).returncode == 0
    checked = cslir("verify", str(bundle), env=env, cwd=root)
    assert checked.returncode == 0
    assert f"chain intact; head {head}\n" in checked.stdout


def test_store_copy_refuses_a_run_that_differs_at_the_destination(
    pg_url: str, tmp_path: Path
) -> None:
    root = make_ops(tmp_path, "asks")
    first = str(tmp_path / "a" / "cslir.db")
    head = sample_run(first, root, tmp_path)
    env = cslir_env(tmp_path, root)
    assert cslir("store", "copy", first, pg_url, env=env, cwd=root).returncode == 0
    query(pg_url, "DELETE FROM events WHERE run = 'r1' AND seq = 22")
    done = cslir("store", "copy", first, pg_url, env=env, cwd=root)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(
        f"cslir: error: run 'r1' is already in {shown(pg_url)} with a different record (head "
    )
    assert done.stderr.endswith(f"here {head[:16]}…, 22); nothing was copied for it\n")


def test_store_check_names_the_server_schema_and_permissions(
    store_url: str, tmp_path: Path
) -> None:
    root = make_ops(tmp_path)
    done = cslir("store", "check", env=cslir_env(tmp_path, root, store=store_url), cwd=root)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    if store_url.startswith("postgresql://"):
        assert lines[0].startswith("PostgreSQL 1")
        assert lines[1:] == [
            "schema: version 1 (1 migration applied), the newest this cslir knows",
            "permissions: read and write on runs, events, deliveries, evidence, drill_fires,"
            " drill_watch, scheduler_lock",
            f"evidence: {shown(store_url)} (table evidence)",
            "store ok",
        ]
    else:
        assert lines[1:] == [
            "schema: version 4 (4 migrations applied), the newest this cslir knows",
            "permissions: read and write",
            f"evidence: {Path(store_url).parent / 'evidence'}",
            "store ok",
        ]


def check_error(tmp_path: Path, url: str, **extra: str) -> str:
    root = make_ops(tmp_path)
    env = {**cslir_env(tmp_path, root, store=url), **extra}
    done = cslir("store", "check", env=env, cwd=root)
    assert (done.returncode, done.stdout) == (1, "")
    return done.stderr


def test_store_check_says_in_one_line_that_nothing_listens(tmp_path: Path) -> None:
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"postgresql://postgres@127.0.0.1:{s.getsockname()[1]}/test"
    assert check_error(tmp_path, url) == (
        f"cslir: error: the store {url} could not be opened: Connection refused (is PostgreSQL"
        " running there, and is the host and port right?)\n"
    )


def test_store_check_says_in_one_line_that_the_database_is_missing(
    tmp_path: Path, pg_database: str
) -> None:
    url = pg_database + "_missing"
    name = url.rsplit("/", 1)[1]
    assert check_error(tmp_path, url) == (
        f'cslir: error: the store {url} could not be opened: database "{name}" does not exist'
        " (create it, or fix the URL)\n"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://postgres@127.0.0.1:notaport/test",
         'could not be opened: invalid integer value "notaport" for connection option "port"'),
        ("postgresql://[::1/test",
         "URL postgresql://[::1/test is not a valid URL: Invalid IPv6 URL"),
        ("postgresql://alice:hunter22@127.0.0.1/test", "URL postgresql://alice:[redacted]@"
         "127.0.0.1/test holds a password in clear text; write it as ${env:NAME} in the URL,"
         " or leave it to PGPASSFILE or PGPASSWORD"),
        ("postgresql://alice:${env:NO_SUCH_PW}@127.0.0.1/test", "URL postgresql://alice:"
         "[redacted]@127.0.0.1/test: environment variable NO_SUCH_PW is not set (referenced as"
         " ${env:NO_SUCH_PW})"),
    ],
    ids=["port", "syntax", "clear-password", "unset-variable"],
)  # fmt: skip
def test_store_check_says_in_one_line_what_is_wrong_with_the_url(
    tmp_path: Path, url: str, reason: str
) -> None:
    stderr = check_error(tmp_path, url)
    assert "hunter22" not in stderr
    if reason.startswith("URL"):
        assert stderr == f"cslir: error: the store {reason}\n"
    else:
        assert stderr == f"cslir: error: the store {url} {reason}\n"


def test_store_check_says_the_password_is_wrong_and_never_echoes_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    wrong = "not-the-Password-42"
    stderr = check_error(tmp_path, cluster.url(), CSLIR_TEST_PW=wrong)
    assert stderr == (
        f"cslir: error: the store {shown(cluster.url())} could not be opened: password"
        ' authentication failed for user "postgres" (check the password: ${env:NAME},'
        " PGPASSWORD or PGPASSFILE)\n"
    )
    root = make_ops(tmp_path / "right")
    env = {**cslir_env(tmp_path, root, store=cluster.url()), "CSLIR_TEST_PW": PASSWORD}
    done = cslir("store", "check", env=env, cwd=root)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "store ok")
    assert PASSWORD not in done.stdout + done.stderr
    assert wrong not in stderr
