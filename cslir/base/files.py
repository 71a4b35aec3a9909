"""Writing a file whole or not at all: into a temporary file beside it, then renamed onto it.

A reader (or a crash) never sees half a report, bundle or evidence blob: ``os.replace`` within
one directory is atomic, and the temporary file is removed whatever happens before it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Staged:
    """A temporary file (``tmp``) and where it goes (``dest``) once it is complete.

    ``dest`` may be left for the ``with`` block to set once it knows it, as content-addressed
    storage does from the digest of what it wrote.
    """

    tmp: Path
    dest: Path | None


@contextmanager
def staged(directory: Path, dest: Path | None = None) -> Iterator[Staged]:
    """A temporary path in ``directory``, renamed onto ``dest`` when the block ends normally.

    The block creates and writes ``tmp`` itself (with ``open`` or a library), so the file gets
    the usual permissions. On an exception nothing is renamed and ``tmp`` is removed.
    """
    name = dest.name if dest is not None else "incoming"
    stage = Staged(directory / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.partial", dest)
    try:
        yield stage
        if stage.dest is None:
            raise ValueError("staged: the block ended without saying where the file goes")
        os.replace(stage.tmp, stage.dest)
    finally:
        stage.tmp.unlink(missing_ok=True)
