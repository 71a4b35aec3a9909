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


def _digest_and_excerpt(f: Any) -> tuple[str, str, int]:
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
            return {
                "argv": argv,
                "exit": 127,
                "timed_out": False,
                "duration": 0.0,
                "summary": f"could not start {argv[0]}: {e.strerror}",
                "stdout_sha256": "",
                "stdout": "",
                "stdout_bytes": 0,
                "stderr_sha256": "",
                "stderr": "",
                "stderr_bytes": 0,
            }
        timed_out = False
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            code = proc.wait()
        except BaseException:
            # Ctrl-C reaches cslir but not the command, which has its own session: stop it
            # rather than leave it running behind a paused run (the attempt stays recorded).
            _kill_group(proc.pid)
            proc.wait()
            raise
        so = _digest_and_excerpt(out)
        se = _digest_and_excerpt(err)
    duration = round(time.monotonic() - started, 3)
    if timed_out:
        summary = f"timed out after {timeout:g}s; process group killed"
        code = code if code is not None else -9
    elif code == 0:
        summary = "exit 0"
    else:
        summary = f"exit {code}" + (
            f": {se[1].strip().splitlines()[-1][:200]}" if se[1].strip() else ""
        )
    return {
        "argv": argv,
        "exit": code if not timed_out else 124,
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
