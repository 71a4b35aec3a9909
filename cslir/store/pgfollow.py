"""What a PostgreSQL store does on connections of its own: following runs and the scheduler lock.

- Following: a connection that LISTENs on the schema's channel. Every append notifies it in its
  transaction (``PostgresStore._announce``, ``cslir_append``), so a follower hears of an event
  when it commits and never polls. The terminal can be waited on at the same time (``select``
  on both).
- What this store knows of each run: its last event (``heads``: appends are sealed after it),
  and up to which seq a read would find nothing new (``_current``: kept only while the listener
  has heard of nothing newer, so a screen that looks again each turn asks the server nothing).
- The scheduler lock: a session advisory lock, held as long as its connection lives (a
  crashed scheduler's lock goes with its connection), under the ``scheduler_lock`` row that
  ``store.schedule`` keeps (``AdvisoryScheduleQueries``), so a second scheduler can say who runs.
- ``reason``: a driver error as one line a responder can act on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from cslir.store.base import readable
from cslir.store.schedule import Holder, ScheduleQueries

if TYPE_CHECKING:
    from cslir.store.postgres import PgConn, PostgresStore

LOCK_SCHEDULER = 0x63736C03
_PREFIXES = (
    re.compile(r"^connection (failed|is bad): "),
    re.compile(r'^connection to server (at "[^"]*"(, port \d+)?|on socket "[^"]*") failed: '),
    re.compile(r"^(FATAL|ERROR):\s+"),
)
_HINTS = (
    ("Connection refused", "is PostgreSQL running there, and is the host and port right?"),
    ("does not exist", "create it, or fix the URL"),
    ("password authentication failed", "check the password: ${env:NAME}, PGPASSWORD or PGPASSFILE"),
    ("no password supplied", "give it as ${env:NAME} in the URL, or in PGPASSWORD or PGPASSFILE"),
    ("permission denied", "the database user needs to be granted it"),
)


def reason(error: BaseException) -> str:
    """The first line of a driver error without libpq's preamble, and what to do about it."""
    lines = str(error).strip().splitlines()
    text = lines[0].strip() if lines else type(error).__name__
    for prefix in _PREFIXES:
        text = prefix.sub("", text)
    hint = next((h for key, h in _HINTS if key in text), None)
    return f"{text} ({hint})" if hint else text


class Follower:
    """The store's listening and scheduler-lock connections, opened when first needed."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        # pg_notify takes any text as a channel name of at most 63 bytes; one per schema
        self.channel = f"cslir:{store.schema}"[:63]
        self._listener: PgConn | None = None
        self._scheduler: PgConn | None = None
        self.heads: dict[str, tuple[int, str]] = {}  # run -> (seq, hash) last read or written
        self._current: dict[str, int] = {}  # run -> seq with nothing after it, as far as heard

    # -- what this store knows of each run -------------------------------------------------------

    def saw(self, run_id: str, seq: int, hash: str) -> None:
        """A read found ``seq`` last; it is current if the listener was listening before it."""
        known = self.heads.get(run_id)
        if known is None or seq >= known[0]:
            self.heads[run_id] = (seq, hash)
        if self._listener is not None and seq >= self._current.get(run_id, 0):
            self._current[run_id] = seq

    def appended(self, run_id: str, seq: int, hash: str) -> None:
        """This store's append committed ``seq`` under the run's lock: it was the last then."""
        self.heads[run_id] = (seq, hash)
        if self._listener is not None:
            self._current[run_id] = seq

    def forget(self, run_id: str) -> None:
        """The run moved on without news yet (an append found it so): the next read asks."""
        self._current.pop(run_id, None)

    def nothing_after(self, run_id: str, after_seq: int) -> bool:
        """Whether a read of ``run_id`` after ``after_seq`` would find nothing, without asking."""
        try:
            listener = self._listening()
            self._heard(n.payload for n in listener.notifies(timeout=0))
        except psycopg.Error:
            self._drop_listener()
            return False
        known = self._current.get(run_id)
        return known is not None and after_seq >= known

    def _heard(self, payloads: Iterable[str]) -> list[str]:
        """Forget what the news makes stale; return the payloads."""
        heard = list(payloads)
        for payload in heard:
            seq, _, run = payload.partition(" ")
            if run in self._current and (not seq.isdigit() or int(seq) > self._current[run]):
                del self._current[run]
        return heard

    # -- following -----------------------------------------------------------------------------

    def _listening(self) -> PgConn:
        if self._listener is None:
            conn = self.store.connect()
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self._listener = conn
        return self._listener

    def wait(self, run_id: str, after_seq: int, timeout: float, also: Sequence[Any]) -> bool:
        deadline = time.monotonic() + timeout
        try:
            listener = self._listening()  # first LISTEN, then look: no append falls between
        except psycopg.Error:
            listener = None  # the server is away: the read below reconnects or says so
        if self.store.last_seq(run_id) > after_seq:
            return True
        while (left := deadline - time.monotonic()) > 0:
            if listener is None:
                readable(also, min(left, 1.0))
                return self.store.last_seq(run_id) > after_seq
            if not readable([listener, *also], left):
                return False
            try:
                heard = self._heard(n.payload for n in listener.notifies(timeout=0))
            except psycopg.Error:
                self._drop_listener()
                return self.store.last_seq(run_id) > after_seq
            if any(_is_news(p, run_id, after_seq) for p in heard):
                return True
            if not heard:  # the terminal (or whatever else) has something to read
                return False
        return False

    def _drop_listener(self) -> None:
        self._current.clear()  # what it would have said is lost with it
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    # -- the scheduler lock ----------------------------------------------------------------------

    def take_scheduler_lock(self) -> bool:
        """Take the store's scheduler lock on a connection of its own; whether it was free."""
        if self.holds_scheduler_lock():
            return True
        self.release_scheduler_lock()
        try:
            conn = self.store.connect()
            got = conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(current_schema())) AS got",
                (LOCK_SCHEDULER,),
            ).fetchone()
        except psycopg.Error as e:
            raise self.store._error("used", self.store.why(e)) from None
        if got is None or not got["got"]:
            conn.close()
            return False
        self._scheduler = conn
        return True

    def holds_scheduler_lock(self) -> bool:
        """Whether the lock is still held: it is lost with its connection (a server restart)."""
        conn = self._scheduler
        if conn is None or conn.closed:
            return False
        try:
            row = conn.execute(
                "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND classid = %s::bigint::oid AND objsubid = 2",
                (LOCK_SCHEDULER,),
            ).fetchone()
        except psycopg.Error:
            return False
        return row is not None and row["n"] > 0

    def release_scheduler_lock(self) -> None:
        conn, self._scheduler = self._scheduler, None
        if conn is not None:
            conn.close()  # the session lock goes with its connection

    def close(self) -> None:
        self._drop_listener()
        self.release_scheduler_lock()


class AdvisoryScheduleQueries(ScheduleQueries):
    """The one scheduler on PostgreSQL: the row says who it is, a session advisory lock makes it
    so. The lock goes with its connection, so the lock of a scheduler that crashed, or whose
    host was cut off, is free again at once on every host, with no beats to wait out."""

    _store: PostgresStore

    def acquire(self, me: Holder, now: datetime, stale_after: float) -> Holder | None:
        if not self._store.follow.take_scheduler_lock():
            rows = self._store._read(
                "SELECT holder, pid, host, started_at, beat_at FROM scheduler_lock WHERE id = 1"
            )
            return Holder(**dict(rows[0])) if rows else Holder("another scheduler", 0, "?")
        # The lock is ours, so whoever the row names is gone: it is taken over whatever its age.
        self._store._write(lambda conn: self._take(conn, me, now))
        return None

    def beat(self, me: Holder, now: datetime) -> bool:
        return self._store.follow.holds_scheduler_lock() and super().beat(me, now)

    def release(self, me: Holder) -> None:
        try:
            super().release(me)
        finally:
            self._store.follow.release_scheduler_lock()


def _is_news(payload: str, run_id: str, after_seq: int) -> bool:
    seq, _, run = payload.partition(" ")
    return run == run_id and seq.isdigit() and int(seq) > after_seq
