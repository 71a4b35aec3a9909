"""The outbox as a background thread of a cslir process working on a run.

The responder's thread only records events and nudges the worker; it never waits on the
network. While the process lives, the worker delivers everything due, including what earlier
processes left pending. When it ends, the worker gets a short grace (``Policy.exit_grace``) for
what this process itself asked for (its pages, their retries, fallbacks and resolves), so a
quick ``cslir note`` never waits on someone else's dead endpoint; the rest stays pending for the
next cslir process or ``cslir notify flush``. The thread is a daemon, so a hanging endpoint
can never hold the process open past that grace.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timedelta

from cslir.base.crashlog import write_crash_log
from cslir.base.errors import CslirError
from cslir.notify.attempt import target_secrets
from cslir.notify.outbox import Outbox

JOIN_SLACK = 1.0  # seconds beyond the grace for the worker's last store writes
MAX_RESTART_WAIT = 30.0


class Background:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._stopping = False
        self._horizon: datetime | None = None
        self._thread = threading.Thread(target=self._main, name="cslir-notify", daemon=True)
        self._logged = False

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stopping

    def request_stop(self, grace: float) -> None:
        """Send what is due within ``grace`` seconds, then stop (see ``join``)."""
        self._horizon = self.outbox.clock() + timedelta(seconds=grace)
        self.outbox.deadline = time.monotonic() + grace
        self._stopping = True
        self.outbox.owed.only = True
        self.outbox.notice()  # one last look: what was requested or closed just now

    def join(self) -> None:
        deadline = self.outbox.deadline
        left = (deadline - time.monotonic()) if deadline is not None else 0.0
        self._thread.join(max(left, 0.0) + JOIN_SLACK)

    def _finished(self, outbox: Outbox) -> bool:
        return self._stopping and outbox.settled(self._horizon)

    def _main(self) -> None:
        wait = self.outbox.policy.poll
        while not self._stopping:
            try:
                self.outbox.run(self._finished, self.outbox.deadline)
                return
            except Exception as e:  # the worker must survive a busy store or a bug
                self._report(e)
            time.sleep(wait)
            wait = min(wait * 2, MAX_RESTART_WAIT)

    def _report(self, error: Exception) -> None:
        """One line on stderr (once), and for a bug a crash log with every secret redacted."""
        if self._logged:
            return
        self._logged = True
        if isinstance(error, CslirError):
            print(
                f"cslir: notifications paused: {error.message}; they stay queued"
                " (cslir notify flush)",
                file=sys.stderr,
            )
            return
        path = write_redacted_crash_log(error, self.outbox)
        print(
            f"cslir: internal error in the notification worker: {type(error).__name__}"
            f" (details in {path}); messages stay queued (cslir notify flush)",
            file=sys.stderr,
        )


def write_redacted_crash_log(error: BaseException, outbox: Outbox) -> str:
    """Like the CLI's crash log, with every resolvable route secret replaced."""
    secrets: list[str] = []
    try:
        for route in outbox.routes.current().routes.values():
            secrets += target_secrets(route, outbox.environ)
    except Exception:  # the route files themselves may be the problem
        pass
    heading = "cslir notification worker crashed"
    return write_crash_log(error, heading=heading, name="notify", secrets=secrets)
