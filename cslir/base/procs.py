"""Whether a process on this machine still exists (for leases and claims left by dead ones)."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True unless no process ``pid`` exists; another user's process counts as alive."""
    try:
        os.kill(pid, 0)  # signal 0: existence and permission check only, nothing is sent
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
