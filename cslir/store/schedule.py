"""The drill scheduler's half of the store: its fires, the drills it keeps, and its lock.

A collaborator that a store hands out as ``store.schedule`` (like ``store.outbox``); the SQL is
shared by SQLite and PostgreSQL, and on PostgreSQL the one scheduler also holds an advisory
lock (``pgfollow.AdvisoryScheduleQueries``), so nothing above the store changes.

- ``drill_fires`` has one row per (drill, slot, kind): a slot is claimed by inserting its row,
  so two schedulers, or one restarted after a crash, never fire it twice.
- ``drill_watch`` remembers since when each drill's schedule has been kept: a slot before that
  was never the scheduler's to fire and is not reported missed.
- ``scheduler_lock`` holds the one running scheduler: who (pid, host) and when it last beat.
  A holder is stale when it was on this host and its process is gone, or when it has not beaten
  for ``stale_after`` seconds (another host's process cannot be asked).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cslir.engine.events import format_at

if TYPE_CHECKING:
    from cslir.store.base import Conn, EventStore


@dataclass(frozen=True)
class Holder:
    """A scheduler process, as the lock names it."""

    holder: str  # e.g. "cslir scheduler 4242@ops-1"
    pid: int
    host: str
    started_at: str = ""
    beat_at: str = ""

    def describe(self) -> str:
        since = f" since {self.started_at}" if self.started_at else ""
        beat = f", last seen {self.beat_at}" if self.beat_at else ""
        return f"pid {self.pid} on {self.host}{since}{beat}"


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


class ScheduleQueries:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    # -- fires -------------------------------------------------------------------------------

    def claim(
        self, drill: str, slot: str, kind: str, status: str, at: datetime, detail: str = ""
    ) -> str | None:
        """Insert the slot's row; None if this call made it, else the status already there."""

        def work(conn: Conn) -> str | None:
            row = conn.execute(
                "SELECT status FROM drill_fires WHERE drill = ? AND slot = ? AND kind = ?",
                (drill, slot, kind),
            ).fetchone()
            if row is not None:
                return str(row["status"])
            conn.execute(
                "INSERT INTO drill_fires (drill, slot, kind, status, at, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (drill, slot, kind, status, format_at(at), detail or None),
            )
            return None

        return self._store._write(work)

    def settle(
        self, drill: str, slot: str, kind: str, status: str, at: datetime, *,
        run: str | None = None, detail: str = "",
    ) -> None:  # fmt: skip
        sql = (
            "UPDATE drill_fires SET status = ?, run = coalesce(?, run), at = ?,"
            " detail = coalesce(?, detail) WHERE drill = ? AND slot = ? AND kind = ?"
        )
        params = (status, run, format_at(at), detail or None, drill, slot, kind)
        self._store._write(lambda conn: conn.execute(sql, params))

    def fires(self, drill: str | None = None) -> list[dict[str, Any]]:
        """Every recorded fire (of one drill), in slot order."""
        where, params = ("WHERE drill = ?", (drill,)) if drill else ("", ())
        rows = self._store._read(
            f"SELECT drill, slot, kind, status, run, at, detail FROM drill_fires {where}"
            " ORDER BY slot, drill, kind",
            params,
        )
        return [dict(row) for row in rows]

    def last_slot(self, drill: str) -> str | None:
        rows = self._store._read(
            "SELECT max(slot) AS slot FROM drill_fires WHERE drill = ? AND kind = 'fire'", (drill,)
        )
        return str(rows[0]["slot"]) if rows and rows[0]["slot"] else None

    def watched_since(self, drill: str, now: datetime) -> str:
        """Since when the drill's schedule has been kept; ``now`` for a drill first seen."""

        def work(conn: Conn) -> str:
            conn.execute(
                "INSERT INTO drill_watch (drill, since) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (drill, format_at(now)),
            )
            row = conn.execute("SELECT since FROM drill_watch WHERE drill = ?", (drill,))
            return str(row.fetchone()["since"])

        return self._store._write(work)

    # -- the one scheduler -------------------------------------------------------------------

    def acquire(self, me: Holder, now: datetime, stale_after: float) -> Holder | None:
        """Take the scheduler lock; None on success, else the live holder that keeps it."""
        stale_before = format_at(now - timedelta(seconds=stale_after))

        def work(conn: Conn) -> Holder | None:
            row = conn.execute(
                "SELECT holder, pid, host, started_at, beat_at FROM scheduler_lock WHERE id = 1"
            ).fetchone()
            if row is not None:
                other = Holder(**dict(row))
                mine = (other.pid, other.host) == (me.pid, me.host)
                if not mine and not self._stale(other, me.host, stale_before):
                    return other
            self._take(conn, me, now)
            return None

        return self._store._write(work)

    @staticmethod
    def _take(conn: Conn, me: Holder, now: datetime) -> None:
        at = format_at(now)
        conn.execute(
            "INSERT INTO scheduler_lock (id, holder, pid, host, started_at, beat_at)"
            " VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " holder = excluded.holder, pid = excluded.pid, host = excluded.host,"
            " started_at = excluded.started_at, beat_at = excluded.beat_at",
            (me.holder, me.pid, me.host, at, at),
        )

    @staticmethod
    def _stale(other: Holder, here: str, stale_before: str) -> bool:
        if other.host == here:
            return _pid_gone(other.pid)
        return other.beat_at < stale_before

    def beat(self, me: Holder, now: datetime) -> bool:
        """Say the holder is alive; False if it no longer holds the lock."""
        sql = "UPDATE scheduler_lock SET beat_at = ? WHERE id = 1 AND pid = ? AND host = ?"
        params = (format_at(now), me.pid, me.host)
        return bool(self._store._write(lambda conn: conn.execute(sql, params).rowcount))

    def release(self, me: Holder) -> None:
        sql = "DELETE FROM scheduler_lock WHERE id = 1 AND pid = ? AND host = ?"
        self._store._write(lambda conn: conn.execute(sql, (me.pid, me.host)))
