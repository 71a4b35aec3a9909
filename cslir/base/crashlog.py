"""Crash logs: the traceback of a bug, written where a developer can find it, secrets hidden.

The user sees one line naming the file; the file holds the rest. ``$CSLIR_CRASH_DIR`` moves
the logs (tests point it at a temporary directory), else they go to the system's temp folder.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Iterable

from cslir.base.redaction import redact
from cslir.base.timefmt import utcnow


def write_crash_log(
    error: BaseException, *, heading: str, name: str = "", secrets: Iterable[str] = ()
) -> str:
    """Write ``heading`` and the traceback (every secret redacted) to a new file; its path.

    ``name`` tells apart the logs of parts that crash on their own (the notification worker).
    """
    directory = os.environ.get("CSLIR_CRASH_DIR") or tempfile.gettempdir()
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    prefix = f"cslir-crash-{name}-{stamp}-" if name else f"cslir-crash-{stamp}-"
    text = redact(heading + "\n" + "".join(traceback.format_exception(error)), secrets)
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".log", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path
