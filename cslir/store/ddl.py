"""Table definitions both stores create alike, written once (``sqlite_schema``, ``pg_schema``).

Only the type of a text column that is compared or sorted differs: SQLite compares TEXT
bytewise; PostgreSQL must be told to (``COLLATE "C"``), so that canonical UTC times order the
same on any server.
"""

from __future__ import annotations

SQLITE_ORDERED = "TEXT"
PG_ORDERED = 'TEXT COLLATE "C"'


def drill_tables(ordered: str) -> str:
    """The scheduler's tables (SQLite's migration 4); ``ordered``: the dialect's sorted text."""
    return f"""
        -- the scheduler's fires: one row per drill, slot and kind, so none is made twice
        CREATE TABLE drill_fires (
            drill TEXT NOT NULL, slot {ordered} NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('reminder', 'fire')),
            status TEXT NOT NULL CHECK (status IN ('firing', 'fired', 'missed', 'coalesced')),
            run TEXT, at TEXT NOT NULL, detail TEXT,
            PRIMARY KEY (drill, slot, kind)
        );
        -- since when the scheduler has kept each drill's schedule (no older slot is "missed")
        CREATE TABLE drill_watch (drill TEXT PRIMARY KEY, since TEXT NOT NULL);
        -- the one scheduler allowed per store: who it is and when it last beat (on PostgreSQL
        -- an advisory lock decides who may take this row)
        CREATE TABLE scheduler_lock (
            id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, pid INTEGER NOT NULL,
            host TEXT NOT NULL, started_at TEXT NOT NULL, beat_at {ordered} NOT NULL
        );
        """
