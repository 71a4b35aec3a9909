"""Evidence beside a SQLite store: files named by their sha256, owner-only, synced before use.

The file is written under a temporary name (``base.files.staged``), synced, then renamed to its
hash, so a blob that exists is always complete; the event that names it is appended only after
``put`` returns.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from cslir.base.files import staged


def blob_path(evidence_dir: Path, sha256: str) -> Path:
    return evidence_dir / sha256[:2] / sha256


def put(evidence_dir: Path, chunks: Iterable[bytes]) -> tuple[str, int]:
    """Keep the bytes ``chunks`` yields; return their (sha256, size)."""
    evidence_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    size = 0
    with staged(evidence_dir) as stage:
        fd = os.open(stage.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        stage.dest = blob_path(evidence_dir, sha)
        stage.dest.parent.mkdir(exist_ok=True, mode=0o700)
    os.chmod(blob_path(evidence_dir, sha), 0o400)
    return sha, size


def open_blob(evidence_dir: Path, sha256: str) -> IO[bytes] | None:
    try:
        return open(blob_path(evidence_dir, sha256), "rb")
    except OSError:
        return None
