"""Evidence in a PostgreSQL store: rows of bytes named by their sha256, readable by every
machine of the team, each item up to a size limit (refused, with what to do, above it)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

from cslir.engine.events import format_at
from cslir.store.base import EvidenceTooLarge

if TYPE_CHECKING:
    from cslir.store.postgres import PostgresStore

MAX_EVIDENCE = 64 * 1024 * 1024


def put(store: PostgresStore, chunks: Iterable[bytes], limit: int) -> tuple[str, int]:
    """Keep the bytes ``chunks`` yields, durably; their (sha256, size)."""
    digest, size, parts = hashlib.sha256(), 0, []
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise EvidenceTooLarge(
                f"evidence is kept in the database ({store.where}), up to {_size(limit)} per"
                " item, and this is larger; nothing was recorded. Keep it on a shared drive and"
                " add a note saying where, with its sha256"
            )
        digest.update(chunk)
        parts.append(chunk)
    sha, data, at = digest.hexdigest(), b"".join(parts), format_at(store._clock())
    store._write(
        lambda conn: conn.execute(
            "INSERT INTO evidence (sha256, size, data, added_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (sha256) DO NOTHING",
            (sha, size, data, at),
        )
    )
    return sha, size


def open_blob(store: PostgresStore, sha256: str) -> IO[bytes] | None:
    rows = store._read("SELECT data FROM evidence WHERE sha256 = ?", (sha256,))
    return io.BytesIO(bytes(rows[0]["data"])) if rows else None


def _size(size: int) -> str:
    mib = 1024 * 1024
    return f"{size // mib} MiB" if size % mib == 0 else f"{size} bytes"
