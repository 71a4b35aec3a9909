"""Evidence a responder adds: a file or a text, kept by the store under its sha256.

The store keeps the bytes durably (files beside a SQLite store, rows of a PostgreSQL one)
before the ``evidence.added`` event that names them is recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cslir.base.errors import InvalidInput
from cslir.base.files import NotRegularFile, open_regular
from cslir.store.base import EventStore, EvidenceTooLarge


def store_file(path: Path, store: EventStore) -> dict[str, Any]:
    # a FIFO would hang the copy and /dev/null would record nothing: refused before reading
    try:
        source = open_regular(path)
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except NotRegularFile as e:
        raise InvalidInput(f"{path}: {e.strerror}; give the file itself") from None
    except OSError as e:
        raise InvalidInput(f"{path}: cannot read it: {e.strerror}") from None
    with source:
        try:
            sha, size = store.put_evidence(iter(lambda: source.read(1 << 16), b""))
        except EvidenceTooLarge as e:
            raise EvidenceTooLarge(f"{path}: {e.message}") from None
    return {"kind": "file", "name": path.name, "sha256": sha, "size": size}


def store_text(text: str, store: EventStore) -> dict[str, Any]:
    sha, size = store.put_evidence([text.encode("utf-8")])
    return {"kind": "text", "name": "text", "sha256": sha, "size": size, "text": text[:2000]}
