"""Where a recorded notification request goes next: the process's background outbox worker.

``on_notify_for`` starts (once per store and ops repo) the worker thread that delivers
``notify.requested`` events, including any a previous process left pending, and returns the
hook ``RunSession`` calls after each such event is durable. ``stop_workers`` runs when the
command finishes (and at exit): a short grace to send what is due, the rest stays queued.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cslir.engine.events import Event
from cslir.opsrepo.settings import Settings
from cslir.store.base import EventStore

if TYPE_CHECKING:
    from cslir.notify.background import Background

_lock = threading.Lock()
_workers: dict[tuple[Path | str, Path], Background] = {}
_atexit_registered = False


def on_notify_for(settings: Settings, store: EventStore) -> Callable[[Event], None] | None:
    return start_worker(settings).outbox.notice


def start_worker(settings: Settings) -> Background:
    """This process's worker for the settings' store and routes, started if not running."""
    global _atexit_registered
    from cslir.notify.background import Background
    from cslir.notify.outbox import Outbox
    from cslir.notify.policy import policy_from_env
    from cslir.notify.routes import RouteBook

    key = (settings.store, settings.root)
    with _lock:
        worker = _workers.get(key)
        if worker is None or not worker.alive:
            outbox = Outbox(
                settings.store,
                RouteBook(settings.root),
                environ=os.environ,
                policy=policy_from_env(os.environ),
            )
            worker = _workers[key] = Background(outbox)
            worker.start()
            if not _atexit_registered:
                atexit.register(stop_workers)
                _atexit_registered = True
    return worker


def stop_workers(grace: float | None = None) -> None:
    """Give every running worker ``grace`` seconds (default: its policy's) and stop them."""
    with _lock:
        workers = list(_workers.values())
        _workers.clear()
    for worker in workers:
        worker.request_stop(worker.outbox.policy.exit_grace if grace is None else grace)
    for worker in workers:
        worker.join()
