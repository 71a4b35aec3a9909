"""The embedded store: one SQLite file holding every run's event log and the notification outbox.

Why it looks the way it does:

- Every write is a ``BEGIN IMMEDIATE`` transaction, so the writer lock is taken before the last
  event is read; two processes appending to one run are serialised and neither is lost.
- WAL with ``synchronous=FULL`` makes a commit durable before ``append`` returns, which is what
  lets the screen say "done" (DESIGN.md: an event is durable before the screen says so).
- A busy store is waited out (SQLite's busy handler, then a jittered retry of the whole
  transaction for the cases the handler does not cover), so a responder never sees
  "database is locked". Every other SQLite error becomes a ``StoreError`` a person can read.
- The file holds incident details and personal information, so it and its directory are
  owner-only.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from cslir.base.errors import ActionRefused, NotFound, StoreError, UsageError
from cslir.base.timefmt import utcnow
from cslir.engine.events import (
    GENESIS,
    Event,
    NewEvent,
    as_at,
    canonical_json,
    format_at,
    seal,
)
from cslir.store.outbox import OutboxQueries
from cslir.store.schedule import ScheduleQueries

T = TypeVar("T")

# Numbered and append-only: a released migration is never edited, only followed by a new one.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY, playbook_id TEXT NOT NULL, title TEXT NOT NULL,
            mode TEXT NOT NULL, created_at TEXT NOT NULL
        );
        CREATE TABLE events (
            run TEXT NOT NULL REFERENCES runs(id), seq INTEGER NOT NULL, at TEXT NOT NULL,
            actor TEXT NOT NULL, type TEXT NOT NULL,
            data TEXT NOT NULL,  -- canonical JSON, exactly the bytes that were hashed
            prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
            PRIMARY KEY (run, seq)
        );
        """,
    ),
    (
        2,
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY, run TEXT, event_seq INTEGER, route TEXT NOT NULL,
            payload TEXT NOT NULL, idempotency_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN
                ('pending', 'delivering', 'delivered', 'failed', 'superseded')),
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL,
            claimed_by TEXT, claimed_until TEXT, last_error TEXT, updated_at TEXT NOT NULL,
            -- NULL run/event_seq is allowed (e.g. a route test) and then not checked
            FOREIGN KEY (run, event_seq) REFERENCES events(run, seq)
        );
        CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
        """,
    ),
    (
        3,
        """
        -- the retry budget counts from the first attempt, whichever process made it
        ALTER TABLE deliveries ADD COLUMN first_attempt_at TEXT;
        -- the outbox reconciler finds notify.requested events that have no delivery yet
        CREATE INDEX events_type ON events (type);
        CREATE INDEX deliveries_event ON deliveries (run, event_seq);
        """,
    ),
    (
        4,
        """
        -- drill runs name their drill, so readiness finds a drill's runs without their events
        ALTER TABLE runs ADD COLUMN drill TEXT;
        CREATE INDEX runs_drill ON runs (drill);
        -- the scheduler's fires: one row per drill, slot and kind, so none is made twice
        CREATE TABLE drill_fires (
            drill TEXT NOT NULL, slot TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('reminder', 'fire')),
            status TEXT NOT NULL CHECK (status IN ('firing', 'fired', 'missed', 'coalesced')),
            run TEXT, at TEXT NOT NULL, detail TEXT,
            PRIMARY KEY (drill, slot, kind)
        );
        -- since when the scheduler has kept each drill's schedule (no older slot is "missed")
        CREATE TABLE drill_watch (drill TEXT PRIMARY KEY, since TEXT NOT NULL);
        -- the one scheduler allowed per store
        CREATE TABLE scheduler_lock (
            id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, pid INTEGER NOT NULL,
            host TEXT NOT NULL, started_at TEXT NOT NULL, beat_at TEXT NOT NULL
        );
        """,
    ),
)


# os.umask is process-wide: without a lock, two threads opening stores at once could leave the
# process's umask at 0o077 for good. (Other threads still see 0o077 during a connect.)
_UMASK_LOCK = threading.Lock()
_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


class SeqConflict(ActionRefused):
    """Someone else recorded an event first; the caller's view of the run is stale."""


@dataclass(frozen=True)
class RunRow:
    """A run as listed by ``Store.runs``: its opening facts and how far its log has got."""

    id: str
    playbook_id: str
    title: str
    mode: str
    created_at: str
    last_seq: int
    last_at: str
    drill: str | None = None  # the drill a drill run was opened for


def _is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _BUSY_CODES  # extended codes such as SQLITE_BUSY_SNAPSHOT too
    text = str(error).lower()
    return "locked" in text or "busy" in text


class Store:
    """An open store file. One connection per instance; not shared across threads."""

    PAGE_SIZE = 500  # events per read in iter_events: flat memory, short read transactions

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        try:
            self._create_private_file()
        except OSError as e:
            raise StoreError(f"the store {self.path} could not be opened: {e.strerror}") from e
        # SQLite creates -wal and -shm beside the file, holding the same secrets. It gives them
        # the file's own mode; the umask is a second guard, kept to the connect that makes them.
        with _UMASK_LOCK:
            old = os.umask(0o077)
            try:
                self._conn = self._retry("opened", self._connect)
            finally:
                os.umask(old)
        try:
            self._retry("opened", self._migrate)
        except BaseException:
            self.close()
            raise
        self.outbox = OutboxQueries(self)
        self.schedule = ScheduleQueries(self)

    # -- opening ---------------------------------------------------------------------------

    def _create_private_file(self) -> None:
        parent = self.path.parent
        if not parent.exists():
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(parent, 0o700)  # exact, whatever the umask
        # Created here rather than by sqlite so it is never world-readable, even for a moment.
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly, always as IMMEDIATE.
        # timeout= sets SQLite's busy_timeout: wait for a lock rather than fail at once.
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self) -> None:
        # Read first, so that opening an up-to-date store never waits for the writer lock.
        if not self._pending(self._db):
            return
        # Then in one IMMEDIATE transaction, so processes opening a fresh file at once take
        # turns: the first applies the migrations, the others find them recorded.
        with self._transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER PRIMARY KEY, applied_at TEXT)"
            )
            for version, ddl in self._pending(conn):
                for statement in filter(str.strip, ddl.split(";")):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, format_at(self._clock())),
                )

    def _pending(self, conn: sqlite3.Connection) -> list[tuple[int, str]]:
        done: set[int] = set()
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone():
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        newest = MIGRATIONS[-1][0]
        if done and max(done) > newest:
            raise StoreError(
                f"the store {self.path} was written by a newer cslir (schema {max(done)});"
                f" this one knows schema {newest}. Upgrade cslir to use it."
            )
        return [(version, ddl) for version, ddl in MIGRATIONS if version not in done]

    # -- transactions and errors -----------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store {self.path} is closed")
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Commit if the block finishes, roll back if anything escapes it."""
        conn = self._db
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    def _retry(self, doing: str, work: Callable[[], T]) -> T:
        """Run ``work``, retrying it whole while the store is busy, translating sqlite errors.

        ``work`` must be safe to repeat: a transaction that failed busy committed nothing.
        """
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.002
        while True:
            try:
                return work()
            except sqlite3.Error as e:
                if not _is_busy(e):
                    raise self._error(doing, str(e)) from e
                if time.monotonic() >= deadline:
                    reason = (
                        f"it stayed busy for over {self._busy_timeout:g} s"
                        " (another cslir process is holding it)"
                    )
                    raise self._error(doing, reason) from e
            # Jitter so that processes that collided do not collide again in lockstep.
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.05)

    def _error(self, doing: str, reason: str) -> StoreError:
        if doing == "written":
            return StoreError(
                f"the store {self.path} could not be written: {reason};"
                " nothing was recorded for this action"
            )
        return StoreError(f"the store {self.path} could not be {doing}: {reason}")

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def attempt() -> T:
            with self._transaction() as conn:
                return work(conn)

        return self._retry("written", attempt)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._retry("read", lambda: self._db.execute(sql, params).fetchall())

    # -- runs and events -------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        playbook_id: str,
        title: str,
        mode: str,
        actor: str,
        at: str | datetime,
        data: Mapping[str, Any],
        drill: str | None = None,
    ) -> Event:
        """Record a new run and its ``run.opened`` event (seq 1) together, or neither.

        ``drill`` names the drill a drill run was opened for.
        """
        at = as_at(at)
        event = seal(run_id, 1, at, actor, "run.opened", data, GENESIS)

        def work(conn: sqlite3.Connection) -> Event:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                raise ActionRefused(f"run '{run_id}' already exists")
            conn.execute(
                "INSERT INTO runs (id, playbook_id, title, mode, created_at, drill)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, playbook_id, title, mode, at, drill),
            )
            _insert(conn, event)
            return event

        return self._write(work)

    def append(
        self,
        run_id: str,
        actor: str,
        type: str,
        data: Mapping[str, Any],
        at: str | datetime,
        expect_seq: int | None = None,
    ) -> Event:
        """Append one event and return it once it is durable.

        With ``expect_seq``, refuse (``SeqConflict``) unless the event gets exactly that seq:
        a responder acting on a stale screen must not record over what happened meanwhile.
        """
        return self.append_many(run_id, [NewEvent(actor, type, data, at)], expect_seq)[0]

    def append_many(
        self, run_id: str, items: Iterable[NewEvent], expect_seq: int | None = None
    ) -> list[Event]:
        """Append several events in one transaction: all are recorded or none is.

        ``expect_seq``, if given, is the seq the first of them must get.
        """
        drafts = [NewEvent(*item) for item in items]
        return self._write(lambda conn: self._append_in(conn, run_id, drafts, expect_seq))

    def _append_in(
        self,
        conn: sqlite3.Connection,
        run_id: str,
        drafts: list[NewEvent],
        expect_seq: int | None,
    ) -> list[Event]:
        last = conn.execute(
            "SELECT seq, hash FROM events WHERE run = ? ORDER BY seq DESC LIMIT 1", (run_id,)
        ).fetchone()
        if last is None:
            raise NotFound(f"no run '{run_id}' in the store {self.path}")
        seq, prev = last
        if expect_seq is not None and expect_seq != seq + 1:
            raise SeqConflict(
                f"run '{run_id}' has moved on: this action expected to be event"
                f" {expect_seq} but the next is {seq + 1}; someone else recorded something"
                " first. Nothing was recorded; look at the run again and retry."
            )
        sealed = []
        for draft in drafts:
            seq += 1
            event = seal(run_id, seq, as_at(draft.at), draft.actor, draft.type, draft.data, prev)
            _insert(conn, event)
            sealed.append(event)
            prev = event.hash
        return sealed

    def iter_events(self, run_id: str, after_seq: int = 0) -> Iterator[Event]:
        """Stream a run's events in seq order, a page at a time.

        Each page is its own short read, so a slow consumer never holds a read transaction
        open (which would stop WAL checkpoints). The log is append-only, so paging by seq
        still yields one consistent prefix of the run.
        """
        while True:
            rows = self._read(
                "SELECT run, seq, at, actor, type, data, prev_hash, hash FROM events"
                " WHERE run = ? AND seq > ? ORDER BY seq LIMIT ?",
                (run_id, after_seq, self.PAGE_SIZE),
            )
            for row in rows:
                yield self._event(row)
            if len(rows) < self.PAGE_SIZE:
                return
            after_seq = rows[-1]["seq"]

    def events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        return list(self.iter_events(run_id, after_seq))

    def _event(self, row: sqlite3.Row) -> Event:
        try:
            data = json.loads(row["data"])
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # Only a hand edit of the file gets here; say which event rather than crash.
            raise StoreError(
                f"the store {self.path} holds unreadable data for event {row['seq']} of run"
                f" '{row['run']}'; the record was altered outside cslir"
            )
        return Event.from_json({**dict(row), "data": data})

    def last_seq(self, run_id: str) -> int:
        rows = self._read("SELECT max(seq) FROM events WHERE run = ?", (run_id,))
        return int(rows[0][0] or 0)

    def runs(self, run_id: str | None = None) -> list[RunRow]:
        """Every run (or the one named), oldest first, with where its log has got to."""
        where, params = (" WHERE r.id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = self._read(
            "SELECT r.id, r.playbook_id, r.title, r.mode, r.created_at,"
            " e.seq AS last_seq, e.at AS last_at, r.drill FROM runs r JOIN events e"
            " ON e.run = r.id"
            f" AND e.seq = (SELECT max(seq) FROM events WHERE run = r.id){where}"
            " ORDER BY r.created_at, r.id",
            params,
        )
        return [RunRow(**dict(row)) for row in rows]

    def open_run_ids(self) -> list[str]:
        """Runs with no ``run.closed`` event yet, oldest first (what the scheduler watches)."""
        rows = self._read(
            "SELECT id FROM runs WHERE id NOT IN"
            " (SELECT run FROM events WHERE type = 'run.closed') ORDER BY created_at, id"
        )
        return [str(row[0]) for row in rows]

    def events_of_types(self, types: Iterable[str]) -> Iterator[Event]:
        """Every event of these types, across runs, in (run, seq) order."""
        wanted = tuple(types)
        marks = ", ".join("?" * len(wanted))
        rows = self._read(
            "SELECT run, seq, at, actor, type, data, prev_hash, hash FROM events"
            f" WHERE type IN ({marks}) ORDER BY run, seq",
            wanted,
        )
        return (self._event(row) for row in rows)

    def resolve_run(self, prefix: str) -> str:
        """The one run id that starts with ``prefix`` (an exact id always wins)."""
        # Range scan on the primary key; LIKE would treat '_' and '%' in ids as wildcards.
        rows = self._read("SELECT id FROM runs WHERE id >= ? ORDER BY id LIMIT 6", (prefix,))
        ids = [row[0] for row in rows if row[0].startswith(prefix)] if prefix else []
        if not ids:
            raise NotFound(f"no run matches '{prefix}'")
        if len(ids) > 1 and ids[0] != prefix:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise UsageError(f"run prefix '{prefix}' is ambiguous: {shown}")
        return str(ids[0])

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _insert(conn: sqlite3.Connection, event: Event) -> None:
    conn.execute(
        "INSERT INTO events (run, seq, at, actor, type, data, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (event.run, event.seq, event.at, event.actor, event.type,
         canonical_json(dict(event.data)).decode("utf-8"), event.prev_hash, event.hash),
    )  # fmt: skip
