"""What every store does, whichever database holds it: runs and their hash-chained event logs.

``EventStore`` owns the logic and the SQL that SQLite and PostgreSQL share (written with ``?``
parameters; the PostgreSQL store translates them). A backend supplies the rest: connections,
transactions and their retries (``_write``, ``_read``), the per-run write lock, the news that
an event was recorded, evidence blobs, and waiting for new events. The delivery outbox
(``store.outbox``) and the drill scheduler's queries (``store.schedule``) are collaborators.
"""

from __future__ import annotations

import json
import select
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Protocol, Self, TypeVar

from cslir.base.errors import ActionRefused, NotFound, StoreError, UsageError
from cslir.engine.events import (
    GENESIS,
    Event,
    NewEvent,
    as_at,
    canonical_json,
    seal,
    verify_chain,
)
from cslir.store.outbox import OutboxQueries
from cslir.store.schedule import ScheduleQueries

T = TypeVar("T")
Row = Mapping[str, Any]
EVENT_COLUMNS = "run, seq, at, actor, type, data, prev_hash, hash"


class Conn(Protocol):
    """The part of a DB-API connection the shared code uses: ``execute`` returning a cursor."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


class SeqConflict(ActionRefused):
    """Someone else recorded an event first; the caller's view of the run is stale."""


class EvidenceTooLarge(ActionRefused):
    """A blob over the store's size limit; nothing was kept."""


@dataclass(frozen=True)
class RunRow:
    """A run as listed by ``runs``: its opening facts and how far its log has got."""

    id: str
    playbook_id: str
    title: str
    mode: str
    created_at: str
    last_seq: int
    last_at: str
    drill: str | None = None  # the drill a drill run was opened for


def readable(files: Sequence[Any], timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for one of ``files`` to be readable (none: just wait)."""
    try:
        ready, _, _ = select.select(list(files), [], [], timeout)
    except (OSError, ValueError):  # not a real file (a test's StringIO): it may be read now
        return True
    return bool(ready)


class EventStore(ABC):
    """An open store. One connection per instance; not shared across threads."""

    PAGE_SIZE = 500  # events per read in iter_events: flat memory, short read transactions
    where: str  # the store as messages name it: a path, or a URL with its password masked
    evidence_where: str  # where evidence is kept, as messages name it
    _clock: Callable[[], datetime]
    # SQL that differs between the two: a JSON field of a TEXT column, row locks when claiming
    JSON_FIELD = "json_extract({column}, '$.{key}')"
    SKIP_LOCKED = ""

    def __init__(self, schedule: type[ScheduleQueries] = ScheduleQueries) -> None:
        self.outbox = OutboxQueries(self)
        self.schedule = schedule(self)

    # -- what a backend supplies -------------------------------------------------------------

    @abstractmethod
    def _write(
        self, work: Callable[[Conn], T], landed: Callable[[Conn], T | None] | None = None
    ) -> T:
        """Run ``work`` in one write transaction, retried whole while the store is busy.

        ``landed`` answers, after a lost connection, whether the last try committed after all
        (then its answer is the result); without it the work is simply tried again.
        """

    @abstractmethod
    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    def _lock_run(self, conn: Conn, run_id: str) -> None:
        """Serialise appends to ``run_id`` until the transaction ends."""

    @abstractmethod
    def _announce(self, conn: Conn, run_id: str, seq: int) -> None:
        """Tell followers, when the transaction commits, that ``run_id`` reached ``seq``."""

    @abstractmethod
    def put_evidence(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Keep a blob under its sha256, durably; return (sha256, size)."""

    @abstractmethod
    def open_evidence(self, sha256: str) -> IO[bytes] | None:
        """The blob kept under ``sha256``, or None when it is not there."""

    @abstractmethod
    def wait_for_events(
        self, run_id: str, after_seq: int, timeout: float, *, also: Sequence[Any] = ()
    ) -> bool:
        """Wait until ``run_id`` has events after ``after_seq`` (True), ``timeout`` seconds
        pass, or one of the files in ``also`` (e.g. the terminal) can be read (False)."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _server(self) -> str:
        """What holds the store, for ``check``."""

    @abstractmethod
    def _permissions(self) -> str:
        """What this user may do with the store, for ``check``; StoreError when not enough."""

    def check(self) -> list[str]:
        """What ``cslir store check`` reports: what holds it, its schema, what we may do."""
        rows = self._read("SELECT version FROM schema_migrations ORDER BY version")
        versions = [int(row["version"]) for row in rows]
        applied = f"{len(versions)} migration{'s' * (len(versions) != 1)} applied"
        return [
            self._server(),
            f"schema: version {versions[-1]} ({applied}), the newest this cslir knows",
            self._permissions(),
            f"evidence: {self.evidence_where}",
        ]

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
        row = RunRow(run_id, playbook_id, title, mode, at, 1, at, drill)

        def work(conn: Conn) -> Event:
            self._insert_run(conn, row)
            _insert(conn, event)
            self._announce(conn, run_id, 1)
            return event

        return self._write(work, lambda conn: event if has_landed(conn, [event]) else None)

    def _insert_run(self, conn: Conn, run: RunRow) -> None:
        added = conn.execute(
            "INSERT INTO runs (id, playbook_id, title, mode, created_at, drill)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (run.id, run.playbook_id, run.title, run.mode, run.created_at, run.drill),
        )
        if added.rowcount != 1:
            raise ActionRefused(f"run '{run.id}' already exists")

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
        tried: list[Event] = []

        def work(conn: Conn) -> list[Event]:
            tried[:] = self._append_in(conn, run_id, drafts, expect_seq)
            return list(tried)

        def landed(conn: Conn) -> list[Event] | None:
            return list(tried) if tried and has_landed(conn, tried) else None

        return self._write(work, landed)

    def _append_in(
        self, conn: Conn, run_id: str, drafts: list[NewEvent], expect_seq: int | None
    ) -> list[Event]:
        self._lock_run(conn, run_id)
        last = conn.execute(
            "SELECT seq, hash FROM events WHERE run = ? ORDER BY seq DESC LIMIT 1", (run_id,)
        ).fetchone()
        if last is None:
            raise self._no_run(run_id)
        self._check_expected(run_id, last["seq"], expect_seq)
        sealed = seal_after(run_id, last["seq"], last["hash"], drafts)
        for event in sealed:
            _insert(conn, event)
        self._announce(conn, run_id, sealed[-1].seq if sealed else last["seq"])
        return sealed

    def _no_run(self, run_id: str) -> NotFound:
        return NotFound(f"no run '{run_id}' in the store {self.where}")

    def _check_expected(self, run_id: str, last_seq: int, expect_seq: int | None) -> None:
        if expect_seq is not None and expect_seq != last_seq + 1:
            raise SeqConflict(
                f"run '{run_id}' has moved on: this action expected to be event"
                f" {expect_seq} but the next is {last_seq + 1}; someone else recorded something"
                " first. Nothing was recorded; look at the run again and retry."
            )

    def adopt_run(self, run: RunRow, events: Iterable[Event]) -> str:
        """Add a run copied from another store, its events exactly as they were sealed.

        The chain is verified on arrival: a run that does not verify is refused, and nothing is
        added. Returns the chain's head.
        """
        kept = list(events)
        report = verify_chain(kept)
        if not report.ok or not kept or kept[0].run != run.id:
            reason = report.reason if not report.ok else "it has no events"
            raise StoreError(f"run '{run.id}' does not verify ({reason}); nothing was copied")

        def work(conn: Conn) -> str:
            self._insert_run(conn, run)
            for event in kept:
                _insert(conn, event)
            self._announce(conn, run.id, kept[-1].seq)
            return report.head

        return self._write(work, lambda conn: report.head if has_landed(conn, kept) else None)

    def iter_events(self, run_id: str, after_seq: int = 0) -> Iterator[Event]:
        """Stream a run's events in seq order, a page at a time.

        Each page is its own short read, so a slow consumer never holds a read transaction
        open. The log is append-only, so paging by seq still yields one consistent prefix.
        """
        while True:
            rows = self._read(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE run = ? AND seq > ? ORDER BY seq"
                " LIMIT ?",
                (run_id, after_seq, self.PAGE_SIZE),
            )
            for row in rows:
                yield self._event(row)
            if len(rows) < self.PAGE_SIZE:
                return
            after_seq = rows[-1]["seq"]

    def events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        return list(self.iter_events(run_id, after_seq))

    def _event(self, row: Row) -> Event:
        try:
            data = json.loads(row["data"])
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # Only a hand edit of the database gets here; say which event rather than crash.
            raise StoreError(
                f"the store {self.where} holds unreadable data for event {row['seq']} of run"
                f" '{row['run']}'; the record was altered outside cslir"
            )
        return Event.from_json({**dict(row), "data": data})

    def last_seq(self, run_id: str) -> int:
        rows = self._read("SELECT max(seq) AS seq FROM events WHERE run = ?", (run_id,))
        return int(rows[0]["seq"] or 0)

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
        return [str(row["id"]) for row in rows]

    def events_of_types(self, types: Iterable[str]) -> Iterator[Event]:
        """Every event of these types, across runs, in (run, seq) order."""
        wanted = tuple(types)
        marks = ", ".join("?" * len(wanted))
        rows = self._read(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE type IN ({marks}) ORDER BY run, seq",
            wanted,
        )
        return (self._event(row) for row in rows)

    def resolve_run(self, prefix: str) -> str:
        """The one run id that starts with ``prefix`` (an exact id always wins)."""
        # Range scan on the primary key; LIKE would treat '_' and '%' in ids as wildcards.
        rows = self._read("SELECT id FROM runs WHERE id >= ? ORDER BY id LIMIT 6", (prefix,))
        ids = [row["id"] for row in rows if row["id"].startswith(prefix)] if prefix else []
        if not ids:
            raise NotFound(f"no run matches '{prefix}'")
        if len(ids) > 1 and ids[0] != prefix:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise UsageError(f"run prefix '{prefix}' is ambiguous: {shown}")
        return str(ids[0])

    # -- lifetime --------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def seal_after(run_id: str, seq: int, prev: str, drafts: Sequence[NewEvent]) -> list[Event]:
    """``drafts`` sealed as the events after ``seq`` whose hash is ``prev``."""
    sealed = []
    for draft in drafts:
        seq += 1
        event = seal(run_id, seq, as_at(draft.at), draft.actor, draft.type, draft.data, prev)
        sealed.append(event)
        prev = event.hash
    return sealed


def _insert(conn: Conn, event: Event) -> None:
    conn.execute(
        f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (event.run, event.seq, event.at, event.actor, event.type,
         canonical_json(dict(event.data)).decode("utf-8"), event.prev_hash, event.hash),
    )  # fmt: skip


def has_landed(conn: Conn, events: Sequence[Event]) -> bool:
    """Whether the last of ``events`` is in the store, exactly: the transaction committed."""
    last = events[-1]
    row = conn.execute(
        "SELECT hash FROM events WHERE run = ? AND seq = ?", (last.run, last.seq)
    ).fetchone()
    return row is not None and row["hash"] == last.hash
