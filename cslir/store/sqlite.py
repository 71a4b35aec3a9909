"""The embedded store: one SQLite file holding every run's event log and the notification outbox,
with evidence files beside it.

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
- Followers poll (``wait_for_events``): a file has no way to announce an append.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from cslir.base.errors import StoreError
from cslir.base.timefmt import utcnow
from cslir.engine.events import format_at
from cslir.store import blobfiles
from cslir.store.base import (
    Conn,
    EventStore,
    Row,
    RunRow,
    SeqConflict,
    readable,
)
from cslir.store.opening import configured, pending
from cslir.store.sqlite_schema import MIGRATIONS

__all__ = ["MIGRATIONS", "RunRow", "SeqConflict", "Store"]

T = TypeVar("T")

# os.umask is process-wide: without a lock, two threads opening stores at once could leave the
# process's umask at 0o077 for good. (Other threads still see 0o077 during a connect.)
_UMASK_LOCK = threading.Lock()
_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def _is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _BUSY_CODES  # extended codes such as SQLITE_BUSY_SNAPSHOT too
    text = str(error).lower()
    return "locked" in text or "busy" in text


class Store(EventStore):
    """An open store file. One connection per instance; not shared across threads."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
        poll: float = 0.25,
    ) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.evidence_dir = self.path.parent / "evidence"
        self.evidence_where = str(self.evidence_dir)
        self._poll = poll
        self._busy_timeout = busy_timeout
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        try:
            self._create_private_file()
        except OSError as e:
            raise StoreError(f"the store {self.where} could not be opened: {e.strerror}") from e
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
        super().__init__()

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
        return configured(
            conn,
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA foreign_keys = ON",
        )

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
        done: list[int] = []
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone():
            done = [row["version"] for row in conn.execute("SELECT version FROM schema_migrations")]
        return pending(self.where, done, MIGRATIONS)

    # -- transactions and errors -----------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store {self.where} is closed")
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
                f"the store {self.where} could not be written: {reason};"
                " nothing was recorded for this action"
            )
        return StoreError(f"the store {self.where} could not be {doing}: {reason}")

    def _write(
        self, work: Callable[[Conn], T], landed: Callable[[Conn], T | None] | None = None
    ) -> T:
        # ``landed`` is for stores reached over a network; a local file's commit is not lost.
        def attempt() -> T:
            with self._transaction() as conn:
                return work(conn)

        return self._retry("written", attempt)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = self._retry("read", lambda: self._db.execute(sql, params).fetchall())
        return rows

    def _lock_run(self, conn: Conn, run_id: str) -> None:
        """Nothing more to do: ``BEGIN IMMEDIATE`` already holds the file's one writer lock."""

    def _announce(self, conn: Conn, run_id: str, seq: int) -> None:
        """Nothing to do: followers of a file poll it (``wait_for_events``)."""

    # -- evidence and followers ---------------------------------------------------

    def put_evidence(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        try:
            return blobfiles.put(self.evidence_dir, chunks)
        except OSError as e:
            raise StoreError(
                f"evidence could not be kept in {self.evidence_where}: {e.strerror or e};"
                " nothing was recorded for this action"
            ) from e

    def open_evidence(self, sha256: str) -> IO[bytes] | None:
        return blobfiles.open_blob(self.evidence_dir, sha256)

    def wait_for_events(
        self, run_id: str, after_seq: int, timeout: float, *, also: Sequence[Any] = ()
    ) -> bool:
        # A file has no way to announce news: look every ``poll`` seconds.
        deadline = time.monotonic() + timeout
        while self.last_seq(run_id) <= after_seq:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if readable(also, min(left, self._poll)):
                return self.last_seq(run_id) > after_seq
        return True

    def _server(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}, file {self.where}"

    def _permissions(self) -> str:
        for place in (self.path, self.path.parent):
            if not os.access(place, os.R_OK | os.W_OK):
                raise StoreError(f"the store {self.where}: {place} is not writable by this user")
        return "permissions: read and write"

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
