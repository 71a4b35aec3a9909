"""Evidence a responder adds: a file or a text, kept by the store under its sha256.

The store keeps the bytes durably (files beside a SQLite store, rows of a PostgreSQL one)
before the ``evidence.added`` event that names them is recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cslir.base.errors import InvalidInput
from cslir.store.base import EventStore, EvidenceTooLarge


def store_file(path: Path, store: EventStore) -> dict[str, Any]:
    if not path.is_file():
        if path.exists():  # a FIFO would hang the copy; /dev/null would record nothing
            raise InvalidInput(
                f"{path}: not a regular file (a directory, pipe or device); give the file itself"
            )
        raise InvalidInput(f"{path}: no such file")

    def chunks() -> Iterator[bytes]:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 16):
                yield chunk

    try:
        sha, size = store.put_evidence(chunks())
    except EvidenceTooLarge as e:
        raise EvidenceTooLarge(f"{path}: {e.message}") from None
    return {"kind": "file", "name": path.name, "sha256": sha, "size": size}


def store_text(text: str, store: EventStore) -> dict[str, Any]:
    sha, size = store.put_evidence([text.encode("utf-8")])
    return {"kind": "text", "name": "text", "sha256": sha, "size": size, "text": text[:2000]}
