"""Command steps: an argv list (never a shell string), a timeout that kills the whole process
group, and output captured to a bounded excerpt with the digest of all of it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

EXCERPT_BYTES = 4096
Output = tuple[str, str, int]  # sha256 of everything, an excerpt, the size in bytes
NO_OUTPUT: Output = ("", "", 0)


def _digest_and_excerpt(f: Any) -> Output:
    f.seek(0)
    digest = hashlib.sha256()
    head = b""
    size = 0
    while chunk := f.read(1 << 16):
        digest.update(chunk)
        if len(head) < EXCERPT_BYTES:
            head += chunk[: EXCERPT_BYTES - len(head)]
        size += len(chunk)
    return digest.hexdigest(), head.decode("utf-8", "replace"), size


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # the whole group: children too


def execute(
    argv: list[str],
    *,
    env: Mapping[str, str],
    base_env: Mapping[str, str],
    cwd: Path,
    timeout: float,
) -> dict[str, Any]:
    """Run ``argv``; return what is recorded: exit, digests, excerpts, duration, timeout."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=cwd,
                env={**base_env, **env},
                start_new_session=True,
            )
        except OSError as e:
            summary = f"could not start {argv[0]}: {e.strerror}"
            return _outcome(argv, 127, False, 0.0, summary, NO_OUTPUT, NO_OUTPUT)
        code, timed_out = _wait(proc, timeout)
        so = _digest_and_excerpt(out)
        se = _digest_and_excerpt(err)
    duration = round(time.monotonic() - started, 3)
    if timed_out:
        summary = f"timed out after {timeout:g}s; process group killed"
        code = 124
    elif code == 0:
        summary = "exit 0"
    else:
        last = se[1].strip().splitlines()[-1][:200] if se[1].strip() else ""
        summary = f"exit {code}" + (f": {last}" if last else "")
    return _outcome(argv, code, timed_out, duration, summary, so, se)


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, bool]:
    """The exit code, and whether the timeout struck first (the process group is killed)."""
    try:
        return proc.wait(timeout=timeout), False
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        return proc.wait(), True
    except BaseException:
        # Ctrl-C reaches cslir but not the command, which has its own session: stop it
        # rather than leave it running behind a paused run (the attempt stays recorded).
        _kill_group(proc.pid)
        proc.wait()
        raise


def _outcome(argv: list[str], code: int, timed_out: bool, duration: float, summary: str,
             so: Output, se: Output) -> dict[str, Any]:  # fmt: skip
    return {
        "argv": argv,
        "exit": code,
        "timed_out": timed_out,
        "duration": duration,
        "summary": summary,
        "stdout_sha256": so[0],
        "stdout": so[1],
        "stdout_bytes": so[2],
        "stderr_sha256": se[0],
        "stderr": se[1],
        "stderr_bytes": se[2],
    }
