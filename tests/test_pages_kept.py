"""No page lost quietly: a run's own pages go out however many older ones wait, an attempt cut
short by the end of its process still counts, a failed page is shown everywhere and can be sent
again, and ``notify flush`` says what it waits on."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import LoopbackServer, Reply, loopback_server
from runkit import cslir, cslir_argv, cslir_env, make_ops, store_path, stored_events

from cslir.base.timefmt import utcnow
from cslir.opsrepo.validate import load_playbook
from cslir.runs.effects import RunSession
from cslir.runs.session import open_run
from cslir.store.sqlite import Store

ROUTES = """\
cslir: 1
routes:
  legal-oncall:
    channel: webhook
    url: ${env:OLD_URL}
    secret: ${env:CSLIR_TEST_HOOK_SECRET}
  old:
    channel: webhook
    url: ${env:OLD_URL}
    secret: ${env:CSLIR_TEST_HOOK_SECRET}
  new:
    channel: webhook
    url: ${env:NEW_URL}
    secret: ${env:CSLIR_TEST_HOOK_SECRET}
"""
FRESH = """\
cslir: 1
id: fresh
title: Fresh
steps:
  - {id: page-a, kind: notify, route: new, message: First}
  - {id: page-b, kind: notify, route: new, message: Second}
  - {id: close, title: Close}
"""


@pytest.fixture
def old() -> Iterator[LoopbackServer]:
    yield from loopback_server()


@pytest.fixture
def new() -> Iterator[LoopbackServer]:
    yield from loopback_server()


def ops(tmp_path: Path, old_pages: int) -> Path:
    root = make_ops(tmp_path, "pages")
    (root / "notifiers" / "routes.yaml").write_text(ROUTES, encoding="utf-8")
    (root / "playbooks" / "fresh.yaml").write_text(FRESH, encoding="utf-8")
    with Store(store_path(tmp_path)) as store:
        pb = load_playbook(root / "playbooks" / "pages.yaml", root)
        session = RunSession(store, open_run(store, pb, {}, actor="a", now=utcnow()), "a")
        for n in range(old_pages):
            session.page("old", f"old page {n}")
    return root


def deliveries(tmp_path: Path, route: str) -> list[tuple[int, str, int, str | None, str | None]]:
    with sqlite3.connect(store_path(tmp_path)) as db:
        return db.execute(
            "SELECT id, status, attempts, first_attempt_at, last_error FROM deliveries"
            " WHERE route = ? ORDER BY id",
            (route,),
        ).fetchall()


@pytest.mark.parametrize("trial", range(6))
def test_a_runs_own_pages_go_out_however_many_older_ones_wait(
    tmp_path: Path, old: LoopbackServer, new: LoopbackServer, trial: int
) -> None:
    """300 older pages due to a slow, failing endpoint (more than a reconcile batch and every
    sender): before the fix the run's two pages were never attempted in 3 trials of 3."""
    root = ops(tmp_path, 300)
    old.script(*[Reply(500, delay=0.5)] * 400)
    new.script(Reply(200), Reply(200))
    env = {**cslir_env(tmp_path, root), "OLD_URL": old.url + "/o", "NEW_URL": new.url + "/n"}
    done = cslir("run", "playbooks/fresh.yaml", "--auto", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    assert len(new.requests) == 2
    assert [row[1:3] for row in deliveries(tmp_path, "new")] == [("delivered", 1)] * 2


def test_an_attempt_under_way_when_the_process_ends_is_counted(
    tmp_path: Path, old: LoopbackServer, new: LoopbackServer
) -> None:
    root = ops(tmp_path, 0)
    new.script(Reply(200, delay=30))  # hangs past the exit grace
    env = {**cslir_env(tmp_path, root), "OLD_URL": old.url, "NEW_URL": new.url + "/n"}
    (root / "playbooks" / "fresh.yaml").write_text(FRESH.replace("  - {id: page-b", "  #"), "utf-8")
    done = cslir("run", "playbooks/fresh.yaml", "--auto", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    ((_, status, attempts, first, error),) = deliveries(tmp_path, "new")
    assert (status, attempts, first is not None) == ("pending", 1, True)
    assert error == (
        "attempt 1 was under way when its cslir process ended; its outcome is unknown, so it"
        " is sent again (same idempotency key)"
    )
    assert done.stdout.splitlines()[-1] == (
        "pages NOT delivered: 1 still pending (cslir notify flush sends them)"
    )


def test_a_failed_page_is_shown_exits_1_and_notify_retry_sends_it_again(
    tmp_path: Path, old: LoopbackServer, new: LoopbackServer
) -> None:
    root = ops(tmp_path, 0)
    env = {**cslir_env(tmp_path, root), "OLD_URL": old.url}  # NEW_URL unset: the page fails
    done = cslir("run", "playbooks/fresh.yaml", "--auto", env=env, cwd=root)
    with Store(store_path(tmp_path)) as store:
        rid = store.runs()[-1].id
    why = "route 'new': environment variable(s) not set: NEW_URL"
    assert (done.returncode, done.stdout.splitlines()[-1]) == (
        1,
        f"pages NOT delivered: #1 to new FAILED: {why}; #2 to new FAILED: {why};"
        f" cslir notify retry --run {rid} sends the failed again",
    )
    status = cslir("status", rid, env=env, cwd=root).stdout
    requested = [e.seq for e in stored_events(tmp_path, rid) if e.type == "notify.requested"]
    assert (
        f"pages NOT delivered (cslir notify retry --run {rid} sends them again):\n"
        f"  failed   event {requested[0]} to new (step page-a): {why}\n"
        f"  failed   event {requested[1]} to new (step page-b): {why}\nclocks:\n"
    ) in status
    assert page_statuses(root, env, rid) == ["failed", "failed"]
    new.script(Reply(200), Reply(200))
    env["NEW_URL"] = new.url + "/n"
    again = cslir("notify", "retry", "--run", rid, env=env, cwd=root)
    assert (again.returncode, again.stdout.splitlines()[0], again.stdout.splitlines()[-1]) == (
        0, "sending again: #1, #2", "2 delivered, 0 failed, 0 still pending"
    )  # fmt: skip
    assert len(new.requests) == 2
    assert "pages NOT delivered" not in cslir("status", rid, env=env, cwd=root).stdout
    assert page_statuses(root, env, rid) == ["delivered", "delivered"]
    retried = [e for e in stored_events(tmp_path, rid) if e.type == "notify.retried"]
    assert [(e.actor, e.data["request_seq"]) for e in retried] == [
        ("alice", requested[0]), ("alice", requested[1])
    ]  # fmt: skip


def page_statuses(root: Path, env: dict[str, str], rid: str) -> list[str]:
    """The delivery status the JSON report gives each page."""
    report = json.loads(cslir("report", rid, "--format", "json", env=env, cwd=root).stdout)
    return [row["status"] for row in report["notifications"]]


def test_notify_retry_of_no_such_failed_delivery_says_so(tmp_path: Path) -> None:
    root = ops(tmp_path, 0)
    done = cslir("notify", "retry", "7", env=cslir_env(tmp_path, root), cwd=root)
    assert (done.returncode, done.stderr) == (
        1, "cslir: error: no failed delivery #7 (cslir notify status lists them)\n"
    )  # fmt: skip


def test_notify_flush_says_what_it_waits_on_while_an_endpoint_hangs(
    tmp_path: Path, old: LoopbackServer
) -> None:
    root = ops(tmp_path, 1)
    old.script(Reply(200, delay=30))
    env = {**cslir_env(tmp_path, root), "OLD_URL": old.url + "/o"}
    proc = subprocess.Popen(cslir_argv("notify", "flush"), env=env, cwd=root,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        started = time.monotonic()
        line = proc.stdout.readline()
        assert time.monotonic() - started < 9
        assert line.startswith("still sending: 1 attempt(s) under way (#1 to old for ")
        assert line.endswith(", 0 waiting\n")
    finally:
        proc.kill()
        proc.wait()
