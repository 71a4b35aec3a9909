"""The notification outbox's half of the store: queue, lease, settle and list deliveries.

A collaborator that a store hands out as ``store.outbox``; it uses that store's connection,
transactions and retries, so a delivery and the event it settles commit together. The SQL is
shared by SQLite and PostgreSQL; where they differ (a JSON field, ``FOR UPDATE SKIP LOCKED``
when claiming) the store says how.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from cslir.store.base import Conn, EventStore

from cslir.engine.events import Event, NewEvent, as_at, canonical_json, format_at, parse_at

T = TypeVar("T")
DELIVERY_STATUSES = frozenset({"pending", "delivering", "delivered", "failed", "superseded"})


class OutboxQueries:
    """Delivery rows: one per notification request, claimed by workers under a lease."""

    def __init__(self, store: EventStore) -> None:
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
        item = (run, event_seq, route, payload, idempotency_key, next_attempt_at)
        return self.enqueue_deliveries([item])[0]

    def enqueue_deliveries(
        self,
        items: Sequence[tuple[str | None, int | None, str, Mapping[str, Any], str, str | datetime]],
    ) -> list[int]:
        """``enqueue_delivery`` for many, in one transaction (one sync, however many)."""
        now = format_at(self._store._clock())

        def work(conn: Conn) -> list[int]:
            ids = []
            for run, event_seq, route, payload, key, next_at in items:
                conn.execute(
                    "INSERT INTO deliveries (run, event_seq, route, payload, idempotency_key,"
                    " status, attempts, next_attempt_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
                    " ON CONFLICT (idempotency_key) DO NOTHING",
                    (run, event_seq, route, canonical_json(dict(payload)).decode("utf-8"),
                     key, as_at(next_at), now),
                )  # fmt: skip
                row = conn.execute(
                    "SELECT id FROM deliveries WHERE idempotency_key = ?", (key,)
                ).fetchone()
                ids.append(int(row["id"]))
            return ids

        return self._store._write(work)

    def withhold_delivery(
        self,
        run: str,
        event_seq: int,
        route: str,
        payload: Mapping[str, Any],
        idempotency_key: str,
        at: datetime,
        reason: str,
    ) -> None:
        """Settle a request that must not be sent (a drill's page to a real on-call route):
        its row, already superseded, and its ``notify.withheld`` event commit together, once."""
        when = format_at(at)

        def work(conn: Conn) -> None:
            made = conn.execute(
                "INSERT INTO deliveries (run, event_seq, route, payload, idempotency_key,"
                " status, attempts, next_attempt_at, last_error, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 'superseded', 0, ?, ?, ?)"
                " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                (run, event_seq, route, canonical_json(dict(payload)).decode("utf-8"),
                 idempotency_key, when, reason, when),
            ).fetchone()  # fmt: skip
            if made is None:
                return  # another worker settled it first
            data = {"delivery": made[0], "route": route, "request_seq": event_seq,
                    "detail": reason}  # fmt: skip
            self._store._append_in(
                conn, run, [NewEvent("cslir", "notify.withheld", data, when)], None
            )

        self._store._write(work)

    def claim_due_deliveries(
        self,
        now_at: str,
        worker: str,
        lease_seconds: float,
        limit: int,
        *,
        first: Collection[int] = (),
        only: Collection[int] | None = None,
    ) -> list[dict[str, Any]]:
        """Lease up to ``limit`` due deliveries to ``worker`` and return them.

        Pending ones whose time has come, and delivering ones whose lease lapsed (their worker
        died), are claimed: the ids in ``first`` before any other, and with ``only`` none but
        those. Selecting and marking happen in one transaction (IMMEDIATE on SQLite; on
        PostgreSQL the rows are locked and those another worker is claiming are skipped), so two
        workers never hold the same delivery.
        """
        until = format_at(parse_at(now_at) + timedelta(seconds=lease_seconds))
        skip_locked = self._store.SKIP_LOCKED
        due_sql = (
            "SELECT id FROM deliveries WHERE ((status = 'pending' AND next_attempt_at <= ?)"
            " OR (status = 'delivering' AND claimed_until <= ?))"
        )

        def select(conn: Conn, among: Collection[int] | None, n: int) -> list[int]:
            if among is None:
                rows = conn.execute(due_sql + f" ORDER BY next_attempt_at, id LIMIT ?{skip_locked}",
                                    (now_at, now_at, n))  # fmt: skip
                return [row["id"] for row in rows]
            found: list[int] = []
            wanted = sorted(among)
            for i in range(0, len(wanted), 500):  # under SQLite's limit on parameters
                chunk = wanted[i : i + 500]
                marks = ", ".join("?" * len(chunk))
                sql = f"{due_sql} AND id IN ({marks}) ORDER BY id{skip_locked}"
                found += [row["id"] for row in conn.execute(sql, (now_at, now_at, *chunk))]
            return found[:n]

        def work(conn: Conn) -> list[dict[str, Any]]:
            ids = select(conn, only if only is not None else first, limit) if first or only else []
            if only is None and len(ids) < limit:
                ids += [i for i in select(conn, None, limit) if i not in ids][: limit - len(ids)]
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            conn.execute(
                "UPDATE deliveries SET status = 'delivering', claimed_by = ?, claimed_until = ?,"
                f" updated_at = ? WHERE id IN ({marks})",
                (worker, until, now_at, *ids),
            )
            return _deliveries(conn, f"WHERE id IN ({marks})", tuple(ids))

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

        def work(conn: Conn) -> bool:
            if conn.execute(sql, params).rowcount != 1:
                return False
            if record is not None:
                self._store._append_in(conn, record[0], [NewEvent(*e) for e in record[1]], None)
            return True

        return self._store._write(work)

    def requeue_failed(self, row: Mapping[str, Any], actor: str, at: datetime) -> bool:
        """Send a failed delivery again with a fresh budget; in its run, record who asked.

        The row and its ``notify.retried`` event commit together; False if it is no longer
        failed (someone re-queued it first).
        """
        now = format_at(at)
        data: dict[str, Any] = {"delivery": row["id"], "route": row["route"],
                                "previous_error": row["last_error"]}  # fmt: skip
        if isinstance(row.get("event_seq"), int):
            data["request_seq"] = row["event_seq"]

        def work(conn: Conn) -> bool:
            done = conn.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,"
                " first_attempt_at = NULL, last_error = NULL, updated_at = ?"
                " WHERE id = ? AND status = 'failed'",
                (now, now, row["id"]),
            )
            if done.rowcount != 1:
                return False
            if row["run"] is not None:
                event = NewEvent(actor, "notify.retried", data, now)
                self._store._append_in(conn, row["run"], [event], None)
            return True

        return self._store._write(work)

    def deliveries(self, run: str | None = None) -> list[dict[str, Any]]:
        """Every delivery (of one run, if given) in queue order, payload decoded."""
        where, params = ("WHERE run = ?", (run,)) if run is not None else ("", ())
        return self._deliveries(where, params)

    def open_deliveries(self) -> list[dict[str, Any]]:
        """Deliveries still to be made: pending, or leased to a worker."""
        return self._deliveries("WHERE status IN ('pending', 'delivering')", ())

    def open_delivery_times(self) -> list[dict[str, Any]]:
        """Like ``open_deliveries``, only when each is due and who holds it (no payload)."""
        rows = self._store._read(
            "SELECT id, route, status, next_attempt_at, claimed_by, claimed_until FROM deliveries"
            " WHERE status IN ('pending', 'delivering') ORDER BY id"
        )
        return [dict(row) for row in rows]

    def delivered_triggers(self, channel: str) -> list[dict[str, Any]]:
        """Delivered ``trigger`` payloads for ``channel`` with no ``<key>-resolve`` delivery yet."""
        field = self._store.JSON_FIELD
        where = (
            f"WHERE status = 'delivered' AND {field.format(column='payload', key='channel')} = ?"
            f" AND {field.format(column='payload', key='event')} = 'trigger' AND NOT EXISTS"
            " (SELECT 1 FROM deliveries r WHERE r.idempotency_key = deliveries.idempotency_key"
            " || '-resolve')"
        )
        return self._deliveries(where, (channel,))

    def last_delivered(self) -> dict[str, str]:
        """Route -> when a message (or a test) was last delivered to it."""
        rows = self._store._read(
            "SELECT route, max(updated_at) AS at FROM deliveries WHERE status = 'delivered'"
            " GROUP BY route"
        )
        return {str(row["route"]): str(row["at"]) for row in rows}

    def unqueued_events(self, type: str, limit: int = 500) -> list[Event]:
        """Events of ``type`` that no delivery refers to yet (the outbox's reconciler)."""
        rows = self._store._read(
            "SELECT e.run, e.seq, e.at, e.actor, e.type, e.data, e.prev_hash, e.hash FROM events e"
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
        return self._store._write(lambda conn: int(conn.execute(sql, (now, worker)).rowcount))

    def _deliveries(self, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        rows = self._store._read(f"SELECT * FROM deliveries {where} ORDER BY id", params)
        return [_decoded(row) for row in rows]


def _deliveries(conn: Conn, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    rows = conn.execute(f"SELECT * FROM deliveries {where} ORDER BY id", params).fetchall()
    return [_decoded(row) for row in rows]


def _decoded(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**dict(row), "payload": json.loads(row["payload"])}
