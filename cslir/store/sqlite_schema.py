"""The SQLite store's schema: numbered migrations, applied in order and recorded in a table.

The PostgreSQL store's schema (``pg_schema``) holds the same tables and columns, so a run copied
from one to the other is the same bytes.
"""

from __future__ import annotations

from cslir.store.ddl import SQLITE_ORDERED, drill_tables

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
        """
        + drill_tables(SQLITE_ORDERED),
    ),
)
