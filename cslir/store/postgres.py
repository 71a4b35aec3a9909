"""The team store: one PostgreSQL database shared by responders on several machines.

Imported only when the store setting is a ``postgresql://`` URL (psycopg 3, the ``postgres``
extra). Why it looks the way it does:

- Appends to one run are serialised by a transaction-scoped advisory lock on the run, taken
  before the last event is read; the ``(run, seq)`` primary key stays as the backstop. Measured
  against optimistic inserts retried on a unique violation, the lock never makes a writer redo
  work, and eight writers on one run append faster with it (benchmarks/teamstore.py). A store
  that knows a run's last event appends in one round trip (``cslir_append``, ``pg_schema``).
- ``synchronous_commit`` is set on for every session, whatever the server's default, so a
  commit is durable before ``append`` returns and the screen says so.
- A dropped connection (a restarted server, a network blip) is reconnected for up to
  ``reconnect_for`` seconds with one line of notice; a write whose commit may have landed is
  checked by its hash before it is tried again, so nothing is lost and nothing doubled.
- Each append notifies the schema's channel in its transaction, so followers
  (``wait_for_events``) hear of it when it commits, without polling.
- Migrations run under an advisory lock; the scheduler lock is a session advisory lock held on
  a connection of its own. Lock keys include the schema, so stores in one database stay apart.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import IO, Any, TypeVar

import psycopg
from psycopg.rows import dict_row

from cslir.base import storeurl
from cslir.base.errors import StoreError
from cslir.base.redaction import redact
from cslir.base.timefmt import utcnow
from cslir.engine.events import Event, NewEvent, canonical_json, format_at
from cslir.store import pgcheck, pgevidence, pgfollow
from cslir.store.base import (
    Conn,
    EventStore,
    Row,
    SeqConflict,
    has_landed,
    seal_after,
)
from cslir.store.opening import configured, pending
from cslir.store.pg_schema import MIGRATIONS

T = TypeVar("T")
PgConn = psycopg.Connection[dict[str, Any]]
# Advisory lock namespaces (the first of the two int4 keys): "cslir" in a few bits, per use.
LOCK_MIGRATE, LOCK_RUN = 0x63736C01, 0x63736C02
_TRANSIENT = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
APPEND = "SELECT cslir_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) AS moved"


def _to_stderr(line: str) -> None:
    print(f"cslir: warning: {line}", file=sys.stderr, flush=True)


@lru_cache(maxsize=256)
def pg_sql(sql: str) -> str:
    """The shared SQL's ``?`` parameters as psycopg's ``%s`` (and a literal ``%`` escaped)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Translating:
    """A psycopg connection that speaks the shared SQL (``?`` parameters)."""

    def __init__(self, conn: PgConn) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.conn.execute(pg_sql(sql), parameters)


class PostgresStore(EventStore):
    """An open PostgreSQL store. One connection per instance; not shared across threads."""

    JSON_FIELD = "({column}::jsonb ->> '{key}')"
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

    def __init__(
        self,
        url: str,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utcnow,
        reconnect_for: float = 30.0,
        connect_timeout: int = 10,
        max_evidence: int = pgevidence.MAX_EVIDENCE,
        notice: Callable[[str], None] = _to_stderr,
    ) -> None:
        self._target = storeurl.connection(url, os.environ if environ is None else environ)
        self.where = self._target.shown
        self.evidence_where = f"{self.where} (table evidence)"
        self._clock = clock
        self._reconnect_for = reconnect_for
        self._connect_timeout = connect_timeout
        self._max_evidence = max_evidence
        self._notice = notice
        self._closed = False
        self._contended: set[str] = set()  # runs others append to as well (see append_many)
        self._conn: PgConn | None = None
        self._conn = self._opened()
        row = self._conn.execute("SELECT current_schema() AS s").fetchone()
        if row is None or row["s"] is None:
            self.close()
            raise StoreError(
                f"the store {self.where} could not be opened: its search_path names no schema"
                " that exists; create the schema or fix the URL's options"
            )
        self.schema = str(row["s"])
        self.follow = pgfollow.Follower(self)
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise
        super().__init__(schedule=pgfollow.AdvisoryScheduleQueries)

    # -- connections -------------------------------------------------------------------------

    def connect(self) -> PgConn:
        """A new connection to this store: autocommit, rows as dicts, commits synced."""
        conn = psycopg.connect(
            self._target.conninfo,
            password=self._target.password,
            autocommit=True,
            row_factory=dict_row,
            connect_timeout=self._connect_timeout,
            application_name="cslir",
        )
        return configured(conn, "SET synchronous_commit = on")

    def _opened(self) -> PgConn:
        try:
            return self.connect()
        except psycopg.Error as e:
            raise self._error("opened", self.why(e)) from None

    def why(self, error: BaseException) -> str:
        """One line saying what went wrong, with what to do where that is known."""
        return redact(pgfollow.reason(error), [self._target.password or ""])

    def _error(self, doing: str, reason: str) -> StoreError:
        if self._closed:
            return StoreError(f"the store {self.where} is closed")
        if doing == "written":
            return StoreError(
                f"the store {self.where} could not be written: {reason};"
                " nothing was recorded for this action"
            )
        return StoreError(f"the store {self.where} could not be {doing}: {reason}")

    def _lost(self, error: psycopg.Error) -> bool:
        conn = self._conn
        state = error.sqlstate or ""
        gone = conn is None or conn.closed or conn.broken
        return gone or state.startswith("08") or state.startswith("57P0")

    def _live(self) -> PgConn:
        if self._closed:
            raise self._error("used", "")
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- transactions and retries ------------------------------------------------------------

    def _retrying(
        self,
        doing: str,
        attempt: Callable[[PgConn], T],
        landed: Callable[[Conn], T | None] | None = None,
    ) -> T:
        """Run ``attempt``; a lost connection is reconnected, a transient conflict retried.

        After a connection was lost mid-attempt, ``landed`` is asked first whether the commit
        went through after all (its answer is then the result).
        """
        lost_at: float | None = None
        unsure = False
        conflicts = 0
        while True:
            try:
                conn = self._live()
                if unsure and landed is not None:
                    done = landed(_Translating(conn))
                    if done is not None:
                        return done
                unsure = False
                return attempt(conn)
            except psycopg.Error as e:
                if self._closed:
                    raise self._error(doing, "") from None
                if self._lost(e):
                    self._drop()
                    unsure = True
                    lost_at = self._outage(doing, e, lost_at)
                elif (e.sqlstate or "") in _TRANSIENT and conflicts < 50:
                    conflicts += 1
                    time.sleep(random.uniform(0.001, 0.01 * conflicts))
                else:
                    raise self._error(doing, self.why(e)) from None

    def _outage(self, doing: str, error: psycopg.Error, since: float | None) -> float:
        """Say once that the connection is gone; give up after ``reconnect_for`` seconds."""
        now = time.monotonic()
        if since is None:
            self._notice(
                f"lost the connection to the store {self.where} ({self.why(error)});"
                f" reconnecting for up to {self._reconnect_for:g} s, nothing recorded is lost"
            )
            since = now
        if now - since >= self._reconnect_for:
            raise self._error(
                doing, f"{self.why(error)}; reconnecting for {self._reconnect_for:g} s did not help"
            ) from None
        time.sleep(min(0.05 * 2 ** min(int(now - since), 5), 1.0))
        return since

    def _write(
        self, work: Callable[[Conn], T], landed: Callable[[Conn], T | None] | None = None
    ) -> T:
        def attempt(conn: PgConn) -> T:
            with conn.transaction():
                return work(_Translating(conn))

        return self._retrying("written", attempt, landed)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        def attempt(conn: PgConn) -> list[Row]:
            return list(conn.execute(pg_sql(sql), params).fetchall())

        return self._retrying("read", attempt)

    # -- the hot path: appending and reading a run -----------------------------------------------

    def append_many(
        self, run_id: str, items: Iterable[NewEvent], expect_seq: int | None = None
    ) -> list[Event]:
        """As the base class does, in one round trip when this store knows the run's last event
        (it read or wrote it last): sealed after it and handed to ``cslir_append``, which
        inserts them only if that is still the last. When another process appended meanwhile,
        the general way: a transaction that takes the run's lock, then reads the last event; and
        while others keep appending to the run, only that (a miss costs a turn at the lock)."""
        drafts = [NewEvent(*item) for item in items]
        tried: list[Event] = []

        def attempt(conn: PgConn) -> list[Event]:
            head = self.follow.heads.get(run_id)
            hopeful = run_id not in self._contended and expect_seq in (None, (head or (0,))[0] + 1)
            if drafts and head is not None and hopeful:
                tried[:] = seal_after(run_id, *head, drafts)
                moved = conn.execute(APPEND, self._append_params(run_id, head, tried)).fetchone()
                if moved is not None and moved["moved"] is None:
                    self.follow.appended(run_id, tried[-1].seq, tried[-1].hash)
                    return list(tried)
                self._contended.add(run_id)
                self.follow.forget(run_id)  # it moved on: the next read must ask
            try:
                with conn.transaction():
                    tried[:] = self._append_in(_Translating(conn), run_id, drafts, expect_seq)
            except SeqConflict:
                self.follow.forget(run_id)  # the caller reads the run again next: it must ask
                raise
            if tried:
                if head is not None and tried[0].seq == head[0] + 1:
                    self._contended.discard(run_id)  # nobody else appended since this store did
                self.follow.appended(run_id, tried[-1].seq, tried[-1].hash)
            return list(tried)

        def landed(conn: Conn) -> list[Event] | None:
            return list(tried) if tried and has_landed(conn, tried) else None

        return self._retrying("written", attempt, landed)

    def _append_params(
        self, run_id: str, head: tuple[int, str], events: list[Event]
    ) -> tuple[Any, ...]:
        columns = [(e.at, e.actor, e.type, canonical_json(dict(e.data)).decode("utf-8"),
                    e.prev_hash, e.hash) for e in events]  # fmt: skip
        return (run_id, f"{self.schema}/{run_id}", self.follow.channel, *head,
                *(list(column) for column in zip(*columns, strict=True)))  # fmt: skip

    def iter_events(self, run_id: str, after_seq: int = 0) -> Iterator[Event]:
        """As the base class does, without asking the server when its notifications say that
        nothing was recorded after ``after_seq`` since this store last read or wrote the run:
        a screen that looks again each turn costs no round trip."""
        if self.follow.nothing_after(run_id, after_seq):
            return
        last = None
        for event in super().iter_events(run_id, after_seq):
            last = event
            yield event
        if last is not None:
            self.follow.saw(run_id, last.seq, last.hash)

    def _lock_run(self, conn: Conn, run_id: str) -> None:
        conn.execute(
            "SELECT pg_advisory_xact_lock(?, hashtext(?))", (LOCK_RUN, f"{self.schema}/{run_id}")
        )

    def _announce(self, conn: Conn, run_id: str, seq: int) -> None:
        conn.execute("SELECT pg_notify(?, ?)", (self.follow.channel, f"{seq} {run_id}"))

    def _migrate(self) -> None:
        def work(conn: PgConn) -> None:
            with conn.transaction():
                # Processes opening a fresh database at once take turns here; DDL is
                # transactional, so a migration is applied whole or not at all.
                conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))",
                    (LOCK_MIGRATE,),
                )
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations"
                    " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                for version, ddl in self._pending(conn):
                    conn.execute(ddl.encode("utf-8"))  # several statements, no parameters
                    conn.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, %s)",
                        (version, format_at(self._clock())),
                    )

        if self._pending(self._live()):  # an up-to-date store is opened without the lock
            self._retrying("migrated", work)

    def _pending(self, conn: PgConn) -> list[tuple[int, str]]:
        exists = conn.execute("SELECT to_regclass('schema_migrations') AS t").fetchone()
        done: list[int] = []
        if exists is not None and exists["t"] is not None:
            rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
            done = [row["version"] for row in rows]
        return pending(self.where, done, MIGRATIONS)

    # -- evidence and checking: in modules of their own -----------------------------------------

    def put_evidence(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        return pgevidence.put(self, chunks, self._max_evidence)

    def open_evidence(self, sha256: str) -> IO[bytes] | None:
        return pgevidence.open_blob(self, sha256)

    def _server(self) -> str:
        return pgcheck.server(self)

    def _permissions(self) -> str:
        return pgcheck.permissions(self)

    # -- followers: on a connection of its own (``pgfollow``) ---------------------------------

    def wait_for_events(
        self, run_id: str, after_seq: int, timeout: float, *, also: Sequence[Any] = ()
    ) -> bool:
        return self.follow.wait(run_id, after_seq, timeout, also)

    def close(self) -> None:
        if hasattr(self, "follow"):
            self.follow.close()
        self._drop()
        self._closed = True
