"""Shared by the drill tests: an ops repo holding the drill fixtures of tests/drills/run, whose
routes all post to one loopback server, each on its own path (``/ic-room``, ``/drill-room``...).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from httpserver import LoopbackServer
from runkit import HOOK_SECRET, cslir_env, store_path

from cslir.engine.events import Event
from cslir.store.sqlite import Store

DRILL_RUN = Path(__file__).resolve().parent / "drills" / "run"
ROUTE_NAMES = ("ic-room", "drill-room", "legal-pager", "audit-hook", "ic-pager")
DRILL_ROUTES = {"ic-room": "drill-room", "ic-pager": "drill-room"}


def routes_yaml() -> str:
    lines = ["cslir: 1", "routes:"]
    for name in ROUTE_NAMES:
        lines += [
            f"  {name}:",
            "    channel: webhook",
            f"    url: ${{env:CSLIR_TEST_HOOK_URL}}/{name}",
            "    secret: ${env:CSLIR_TEST_HOOK_SECRET}",
        ]
        if name in DRILL_ROUTES:
            lines.append(f"    drill_route: {DRILL_ROUTES[name]}")
    return "\n".join(lines) + "\n"


def drill_ops(tmp_path: Path, *drills: str, settings: str = "") -> Path:
    """An ops repo with every fixture playbook and the named drills (``playbook: X.yaml`` in a
    fixture becomes ``../playbooks/X.yaml``)."""
    root = tmp_path / "ops"
    for folder in ("playbooks", "drills", "notifiers"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    text = "cslir: 1\ntimezone: Asia/Shanghai\nroutes: {escalate: ic-pager, audit: audit-hook}\n"
    (root / "cslir.yaml").write_text(text + settings, encoding="utf-8")
    (root / "notifiers" / "routes.yaml").write_text(routes_yaml(), encoding="utf-8")
    for path in DRILL_RUN.glob("*.yaml"):
        if "playbook:" not in path.read_text("utf-8"):
            shutil.copy(path, root / "playbooks" / path.name)
    for name in drills:
        add_drill(root, name)
    return root


def add_drill(root: Path, name: str, text: str | None = None) -> Path:
    source = text if text is not None else (DRILL_RUN / f"{name}.yaml").read_text("utf-8")
    target = root / "drills" / f"{name}.yaml"
    target.write_text(source.replace("playbook: ", "playbook: ../playbooks/"), encoding="utf-8")
    return target


def drill_env(tmp_path: Path, root: Path, server: LoopbackServer | None = None,
              **extra: str) -> dict[str, str]:  # fmt: skip
    env = cslir_env(tmp_path, root, hook=server.url if server else "")
    env.update({"CSLIR_TEST_HOOK_SECRET": HOOK_SECRET, "CSLIR_NOTIFY_BUDGET": "5s",
                "CSLIR_NOTIFY_RETRY_BASE": "0.05", **extra})  # fmt: skip
    return env


def events_of(tmp_path: Path, run_id: str, *types: str) -> list[Event]:
    with Store(store_path(tmp_path)) as store:
        return [e for e in store.events(run_id) if not types or e.type in types]


def run_id_from(stdout: str) -> str:
    first = stdout.splitlines()[0]
    assert first.startswith("drill run "), stdout
    return first.split()[2]


def pages(server: LoopbackServer) -> list[tuple[str, dict[str, Any]]]:
    """(path, data) of every webhook the server received."""
    return [(r.path, json.loads(r.body)["data"]) for r in server.requests]


def wait_until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
