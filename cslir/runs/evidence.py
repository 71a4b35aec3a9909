"""Content-addressed evidence: files copied under their sha256, durable before recorded."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from cslir.base.errors import InvalidInput
from cslir.base.files import staged


def blob_path(evidence_dir: Path, sha256: str) -> Path:
    return evidence_dir / sha256[:2] / sha256


def _put(evidence_dir: Path, chunks: Any) -> tuple[str, int]:
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


def store_file(path: Path, evidence_dir: Path) -> dict[str, Any]:
    if not path.is_file():
        if path.exists():  # a FIFO would hang the copy; /dev/null would record nothing
            raise InvalidInput(
                f"{path}: not a regular file (a directory, pipe or device); give the file itself"
            )
        raise InvalidInput(f"{path}: no such file")

    def chunks() -> Any:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 16):
                yield chunk

    sha, size = _put(evidence_dir, chunks())
    return {"kind": "file", "name": path.name, "sha256": sha, "size": size}


def store_text(text: str, evidence_dir: Path) -> dict[str, Any]:
    raw = text.encode("utf-8")
    sha, size = _put(evidence_dir, [raw])
    return {"kind": "text", "name": "text", "sha256": sha, "size": size, "text": text[:2000]}
