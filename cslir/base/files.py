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

from cslir.base.procs import alive


@dataclass
class Staged:
    """A temporary file (``tmp``) and where it goes (``dest``) once it is complete.

    ``dest`` may be left for the ``with`` block to set once it knows it, as content-addressed
    storage does from the digest of what it wrote.
    """

    tmp: Path
    dest: Path | None


@contextmanager
def staged(directory: Path, dest: Path | None = None, *, private: bool = False) -> Iterator[Staged]:
    """A temporary path in ``directory``, renamed onto ``dest`` when the block ends normally.

    The block writes ``tmp`` itself (with ``open`` or a library). With ``private`` it is created
    owner-only first (reports and bundles hold incident details and evidence), so the file
    never exists readable by others, not even for a moment. On an exception nothing is renamed
    and ``tmp`` is removed; temporary files of the same name that a killed process left behind
    are removed too.
    """
    name = dest.name if dest is not None else "incoming"
    sweep_leftovers(directory, name)
    stage = Staged(directory / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.partial", dest)
    if private:
        os.close(os.open(stage.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        yield stage
        if stage.dest is None:
            raise ValueError("staged: the block ended without saying where the file goes")
        os.replace(stage.tmp, stage.dest)
    finally:
        stage.tmp.unlink(missing_ok=True)


def sweep_leftovers(directory: Path, name: str) -> None:
    """Remove ``.NAME.PID.*.partial`` files whose process is gone (killed mid-write)."""
    try:
        found = list(directory.glob(f".{glob_escape(name)}.*.partial"))
    except OSError:
        return
    for path in found:
        pid = path.name[len(name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            path.unlink(missing_ok=True)


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)
