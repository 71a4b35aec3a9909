"""Who holds a lease: worker ids, and whether the process behind one has died.

A worker's id is ``host:pid:random``. A lease held by a process on this machine that no longer
exists (killed, crashed) can be handed back at once rather than waiting for it to lapse, so the
next cslir process delivers what the dead one was sending.
"""

from __future__ import annotations

import os
import secrets
import socket

from cslir.base.procs import alive

HOST = socket.gethostname()
_LIVE: set[str] = set()  # ids of the workers running in this process


def new_worker_id() -> str:
    return f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"


def started(worker: str) -> None:
    _LIVE.add(worker)


def stopped(worker: str) -> None:
    _LIVE.discard(worker)


def is_dead(owner: str) -> bool:
    """True only when ``owner`` is a worker on this machine whose process (or thread) is gone."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return False  # another machine's worker: only its lease running out says it is gone
    pid = int(pid_text)
    if pid == os.getpid():
        return owner not in _LIVE
    return not alive(pid)
