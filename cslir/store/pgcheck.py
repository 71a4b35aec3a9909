"""What ``cslir store check`` says of a PostgreSQL store: the server, and this user's rights."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cslir.base.errors import StoreError

if TYPE_CHECKING:
    from cslir.store.postgres import PostgresStore

TABLES = ("runs", "events", "deliveries", "evidence", "drill_fires", "drill_watch",
          "scheduler_lock")  # fmt: skip


def server(store: PostgresStore) -> str:
    [row] = store._read(
        "SELECT current_setting('server_version') AS version, current_user AS who,"
        " current_database() AS db"
    )
    return (
        f"PostgreSQL {row['version']}, {store.where}: user {row['who']}, database {row['db']},"
        f" schema {store.schema}"
    )


def permissions(store: PostgresStore) -> str:
    """What this user may do; StoreError naming each right it lacks, and how to grant them."""
    needs = [(t, p) for t in TABLES for p in ("SELECT", "INSERT", "UPDATE")]
    lacking = [
        f"{p} on {t}"
        for t, p in needs
        if not store._read("SELECT has_table_privilege(?, ?) AS ok", (t, p))[0]["ok"]
    ]
    if lacking:
        raise StoreError(
            f"the store {store.where}: this user lacks {', '.join(lacking)}; grant them"
            f" (GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA {store.schema} TO ...)"
        )
    return f"permissions: read and write on {', '.join(TABLES)}"
