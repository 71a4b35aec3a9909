"""Shared by the notification tests: an ops repo with routes, a run, and the outbox worker.

The worker runs in the test's own thread (as ``cslir notify flush`` runs it) against a real
store file and a real HTTP server on 127.0.0.1; the environment it resolves secrets from is a
plain dict handed in, never the test process's own.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cslir.base.timefmt import utcnow
from cslir.engine.events import Event
from cslir.notify.outbox import Outbox
from cslir.notify.outcomes import Result
from cslir.notify.policy import Policy
from cslir.notify.routes import RouteBook
from cslir.opsrepo.validate import load_playbook
from cslir.runs.effects import RunSession
from cslir.runs.session import open_run
from cslir.store.sqlite import Store

WHSEC = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks test vector
DING_TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
DING_SECRET = "SEC" + "6f1c9b1e0a7e4c0f9d3b2a1e8c7d6b5a4f3e2d1c0b9a8f7e6d5c4b3a2e1f0d9c"
PD_KEY = "R0UT1NGKEY4f3e2d1c0b9a8f7e6d5c4b"
FAST = Policy(budget=3.0, base=0.05, cap=0.2, poll=0.1, exit_grace=1.0)

PLAYBOOK = """\
cslir: 1
id: leak
title: Leak
roles: {ic: Incident commander, legal: Legal}
steps:
  - id: page-ic
    kind: notify
    route: ROUTE
    message: "Leak graded major; CAC report due soon"
  - id: contain
    title: Contain the leak
"""


def ops_root(
    tmp_path: Path, routes: str, *, playbook: str = PLAYBOOK, settings: str = "cslir: 1\n"
) -> Path:
    root = tmp_path / "ops"
    for folder in ("notifiers", "playbooks"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "cslir.yaml").write_text(settings, encoding="utf-8")
    (root / "notifiers" / "routes.yaml").write_text("cslir: 1\nroutes:\n" + routes, "utf-8")
    (root / "playbooks" / "leak.yaml").write_text(playbook, encoding="utf-8")
    return root


def store_path(root: Path) -> Path:
    return root / ".cslir" / "cslir.db"


def open_session(root: Path, *, mode: str = "live", route: str = "pd") -> RunSession:
    """A new run of the test playbook (its notify step paging ``route``)."""
    path = root / "playbooks" / "leak.yaml"
    path.write_text(path.read_text("utf-8").replace("ROUTE", route), encoding="utf-8")
    store = Store(store_path(root))
    run_id = open_run(store, load_playbook(path, root), {}, actor="alice", mode=mode, now=utcnow())
    return RunSession(store, run_id, "alice")


def deliver(
    root: Path,
    environ: Mapping[str, str],
    *,
    policy: Policy = FAST,
    clock: Callable[[], datetime] = utcnow,
    timeout: float = 30.0,
) -> list[Result]:
    """Run the outbox in this thread until nothing is left to do; its final outcomes."""
    results: list[Result] = []
    outbox = Outbox(
        store_path(root),
        RouteBook(root),
        environ=environ,
        policy=policy,
        clock=clock,
        on_outcome=results.append,
    )
    outbox.run(lambda ob: ob.settled(), time.monotonic() + timeout)
    return results


def notify_events(root: Path, run_id: str) -> list[tuple[str, dict[str, Any]]]:
    with Store(store_path(root)) as store:
        events: list[Event] = store.events(run_id)
    return [(e.type, dict(e.data)) for e in events if e.type.startswith("notify.")]


def deliveries(root: Path) -> list[dict[str, Any]]:
    with Store(store_path(root)) as store:
        return store.outbox.deliveries()


def wire_json(obj: object) -> bytes:
    """Compact UTF-8 JSON, as the channels put it on the wire."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def cslir_env(tmp_path: Path, root: Path, **extra: str) -> dict[str, str]:
    """The whole environment of a cslir subprocess: nothing inherited but PATH."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    crash = tmp_path / "crash"
    crash.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "CSLIR_ROOT": str(root),
        "CSLIR_CRASH_DIR": str(crash),
        "CSLIR_RESPONDER": "alice",
        "CSLIR_NOTIFY_RETRY_BASE": "0.05",
        "CSLIR_NOTIFY_RETRY_CAP": "0.2",
        **extra,
    }


def cslir_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "cslir", *args]
