"""The notification outbox's half of the store: queue, lease, settle and list deliveries.

A collaborator that a store hands out as ``store.outbox``; it uses that store's connection,
transactions and retries, so a delivery and the event it settles commit together.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from cslir.store.sqlite import Store

from cslir.engine.events import Event, NewEvent, as_at, canonical_json, format_at, parse_at

T = TypeVar("T")
DELIVERY_STATUSES = frozenset({"pending", "delivering", "delivered", "failed", "superseded"})


class OutboxQueries:
    """Delivery rows: one per notification request, claimed by workers under a lease."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def enqueue_delivery(
        self,
        run: str | None,
        event_seq: int | None,
        route: str,
        payload: Mapping[str, Any],
        idempotency_key: str,
        next_attempt_at: str | datetime,
    ) -> int:
        """Queue a delivery and return its id; the same key again returns the first id."""
        now = format_at(self._store._clock())

        def work(conn: sqlite3.Connection) -> int:
            conn.execute(
                "INSERT INTO deliveries (run, event_seq, route, payload, idempotency_key,"
                " status, attempts, next_attempt_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                (run, event_seq, route, canonical_json(dict(payload)).decode("utf-8"),
                 idempotency_key, as_at(next_attempt_at), now),
            )  # fmt: skip
            row = conn.execute(
                "SELECT id FROM deliveries WHERE idempotency_key = ?", (idempotency_key,)
            ).fetchone()
            return int(row[0])

        return self._store._write(work)

    def claim_due_deliveries(
        self, now_at: str, worker: str, lease_seconds: float, limit: int
    ) -> list[dict[str, Any]]:
        """Lease up to ``limit`` due deliveries to ``worker`` and return them.

        Pending ones whose time has come, and delivering ones whose lease lapsed (their worker
        died), are claimed. Selecting and marking happen in one IMMEDIATE transaction, so two
        workers never hold the same delivery.
        """
        until = format_at(parse_at(now_at) + timedelta(seconds=lease_seconds))

        def work(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            due = conn.execute(
                "SELECT id FROM deliveries WHERE (status = 'pending' AND next_attempt_at <= ?)"
                " OR (status = 'delivering' AND claimed_until <= ?)"
                " ORDER BY next_attempt_at, id LIMIT ?",
                (now_at, now_at, limit),
            )
            ids = [row[0] for row in due]
            conn.executemany(
                "UPDATE deliveries SET status = 'delivering', claimed_by = ?, claimed_until = ?,"
                " updated_at = ? WHERE id = ?",
                [(worker, until, now_at, i) for i in ids],
            )
            marks = ", ".join("?" * len(ids))
            return _deliveries(conn, f"WHERE id IN ({marks})", tuple(ids)) if ids else []

        return self._store._write(work)

    def finish_delivery(
        self,
        id: int,
        status: str,
        attempts: int,
        next_attempt_at: str | datetime,
        last_error: str | None,
        *,
        worker: str | None = None,
        first_attempt_at: str | datetime | None = None,
        record: tuple[str, Iterable[NewEvent]] | None = None,
    ) -> bool:
        """Record an attempt's outcome and release the lease.

        With ``worker``, only while that worker still holds the lease: a worker whose lease
        lapsed must not overwrite the outcome of the one that reclaimed it. Returns whether a
        row was updated. ``first_attempt_at`` is kept from the first call that gives one.
        ``record`` = (run, events) appends those events in the same transaction, only if the
        row was updated: an outcome and its events are recorded together or not at all.
        """
        if status not in DELIVERY_STATUSES:
            raise ValueError(f"unknown delivery status {status!r}")
        now = format_at(self._store._clock())
        first = None if first_attempt_at is None else as_at(first_attempt_at)
        params: tuple[Any, ...] = (
            status, attempts, as_at(next_attempt_at), last_error, first, now, id
        )  # fmt: skip
        sql = (
            "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?,"
            " first_attempt_at = coalesce(first_attempt_at, ?),"
            " claimed_by = NULL, claimed_until = NULL, updated_at = ? WHERE id = ?"
        )
        if worker is not None:
            sql, params = sql + " AND claimed_by = ?", (*params, worker)

        def work(conn: sqlite3.Connection) -> bool:
            if conn.execute(sql, params).rowcount != 1:
                return False
            if record is not None:
                self._store._append_in(conn, record[0], [NewEvent(*e) for e in record[1]], None)
            return True

        return self._store._write(work)

    def deliveries(self, run: str | None = None) -> list[dict[str, Any]]:
        """Every delivery (of one run, if given) in queue order, payload decoded."""
        where, params = ("WHERE run = ?", (run,)) if run is not None else ("", ())
        return self._store._retry("read", lambda: _deliveries(self._store._db, where, params))

    def open_deliveries(self) -> list[dict[str, Any]]:
        """Deliveries still to be made: pending, or leased to a worker."""
        where = "WHERE status IN ('pending', 'delivering')"
        return self._store._retry("read", lambda: _deliveries(self._store._db, where, ()))

    def open_delivery_times(self) -> list[dict[str, Any]]:
        """Like ``open_deliveries``, only when each is due and who holds it (no payload)."""
        rows = self._store._read(
            "SELECT id, route, status, next_attempt_at, claimed_by, claimed_until FROM deliveries"
            " WHERE status IN ('pending', 'delivering') ORDER BY id"
        )
        return [dict(row) for row in rows]

    def delivered_triggers(self, channel: str) -> list[dict[str, Any]]:
        """Delivered ``trigger`` payloads for ``channel`` with no ``<key>-resolve`` delivery yet."""
        where = (
            "WHERE status = 'delivered' AND json_extract(payload, '$.channel') = ?"
            " AND json_extract(payload, '$.event') = 'trigger' AND NOT EXISTS"
            " (SELECT 1 FROM deliveries r WHERE r.idempotency_key = deliveries.idempotency_key"
            " || '-resolve')"
        )
        return self._store._retry("read", lambda: _deliveries(self._store._db, where, (channel,)))

    def unqueued_events(self, type: str, limit: int = 500) -> list[Event]:
        """Events of ``type`` that no delivery refers to yet (the outbox's reconciler)."""
        rows = self._store._read(
            "SELECT run, seq, at, actor, type, data, prev_hash, hash FROM events e"
            " WHERE type = ? AND NOT EXISTS"
            " (SELECT 1 FROM deliveries d WHERE d.run = e.run AND d.event_seq = e.seq)"
            " ORDER BY at, run, seq LIMIT ?",
            (type, limit),
        )
        return [self._store._event(row) for row in rows]

    def release_deliveries(self, worker: str) -> int:
        """Hand ``worker``'s leased deliveries back to the queue (it stopped or died)."""
        now = format_at(self._store._clock())
        sql = (
            "UPDATE deliveries SET status = 'pending', claimed_by = NULL, claimed_until = NULL,"
            " updated_at = ? WHERE status = 'delivering' AND claimed_by = ?"
        )
        return self._store._write(lambda conn: conn.execute(sql, (now, worker)).rowcount)


def _deliveries(
    conn: sqlite3.Connection, where: str, params: tuple[Any, ...]
) -> list[dict[str, Any]]:
    rows = conn.execute(f"SELECT * FROM deliveries {where} ORDER BY id", params)
    return [{**dict(row), "payload": json.loads(row["payload"])} for row in rows]
