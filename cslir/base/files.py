"""Writing a file whole or not at all: into a temporary file beside it, then renamed onto it.

A reader (or a crash) never sees half a report, bundle or evidence blob: ``os.replace`` within
one directory is atomic, and the temporary file is removed whatever happens before it.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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


class NotRegularFile(OSError):
    """A path that names a pipe, a device, a socket or a directory where a file was wanted."""


def what_it_is(mode: int) -> str:
    """A non-regular file's kind, as a message names it."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def open_regular(path: str | Path) -> BinaryIO:
    """Open a regular file for reading, refusing anything else before a byte is read.

    It is opened without blocking and checked on the open descriptor: a FIFO nobody writes to
    would otherwise hang the reader forever, a device would feed it endless or no bytes, and
    checking the path first would leave a moment to swap the file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(0, f"{what_it_is(mode)}, not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
