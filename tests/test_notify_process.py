"""cslir as real processes: a page survives its process being killed, and no secret escapes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from httpserver import LoopbackServer, Reply
from notifykit import (
    DING_SECRET,
    DING_TOKEN,
    PD_KEY,
    WHSEC,
    cslir_argv,
    cslir_env,
    deliveries,
    notify_events,
    open_session,
    ops_root,
    store_path,
)

from cslir.notify.background import write_redacted_crash_log
from cslir.notify.outbox import Outbox
from cslir.notify.routes import RouteBook
from cslir.store.sqlite import Store

HOOK = "  hook:\n    channel: webhook\n    url: ${env:HOOK_URL}\n    secret: ${env:HOOK_SECRET}\n"
TWO_PAGES = """\
cslir: 1
id: leak
title: Leak
steps:
  - {id: page-a, kind: notify, route: hook, message: First page}
  - {id: page-b, kind: notify, route: hook, message: Second page}
"""


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def attempted_twice(root: Path) -> Callable[[], bool]:
    def check() -> bool:
        if not store_path(root).exists():
            return False
        rows = deliveries(root)
        return len(rows) == 2 and all(r["attempts"] >= 1 for r in rows)

    return check


@pytest.mark.parametrize("endpoint", ["hanging", "refusing"])
def test_pages_pending_when_a_process_is_killed_are_sent_once_each_by_the_next(
    tmp_path: Path, endpoint: str
) -> None:
    root = ops_root(tmp_path, HOOK, playbook=TWO_PAGES)
    with LoopbackServer() as first, LoopbackServer() as second:
        first.script(Reply(200, delay=60), Reply(200, delay=60))
        url = f"{first.url}/hook" if endpoint == "hanging" else f"http://127.0.0.1:{closed_port()}/"
        # a long exit wait keeps the process alive while it tries, so the kill is what ends it
        env = cslir_env(
            tmp_path, root, HOOK_URL=url, HOOK_SECRET=WHSEC, CSLIR_NOTIFY_EXIT_WAIT="60"
        )
        argv = cslir_argv("run", str(root / "playbooks" / "leak.yaml"), "--auto")
        proc = subprocess.Popen(
            argv, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            if endpoint == "hanging":
                wait_for(lambda: len(first.requests) == 2)
            else:
                wait_for(attempted_twice(root))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert {r["status"] for r in deliveries(root)} <= {"pending", "delivering"}

        second.script(Reply(200), Reply(200))
        env["HOOK_URL"] = f"{second.url}/hook"
        done = subprocess.run(
            cslir_argv("notify", "flush"), env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        ids = sorted(r.headers["webhook-id"] for r in second.requests)
    [run] = {r["run"] for r in deliveries(root)}
    assert ids == [f"cslir-{run}-3", f"cslir-{run}-6"]  # each page once
    assert [(r["status"]) for r in deliveries(root)] == ["delivered", "delivered"]
    delivered = [d for t, d in notify_events(root, run) if t == "notify.delivered"]
    assert sorted(d["delivery"] for d in delivered) == [1, 2]
    assert done.stdout.splitlines()[-1] == "2 delivered, 0 failed, 0 still pending"


SECRET_ROUTES = (
    "  ding:\n    channel: dingtalk\n    url: ${env:DING_URL}\n    secret: ${env:DING_SECRET}\n"
    "  pd:\n    channel: pagerduty\n    url: ${env:PD_URL}\n    routing_key: ${env:PD_KEY}\n" + HOOK
)
THREE_PAGES = """\
cslir: 1
id: leak
title: Leak
steps:
  - {id: page-ding, kind: notify, route: ding, message: To DingTalk}
  - {id: page-pd, kind: notify, route: pd, message: To PagerDuty}
  - {id: page-hook, kind: notify, route: hook, message: To the audit hook}
"""


def test_no_secret_reaches_the_store_the_output_or_the_logs(tmp_path: Path) -> None:
    root = ops_root(tmp_path, SECRET_ROUTES, playbook=THREE_PAGES)
    with LoopbackServer() as ding, LoopbackServer() as pd, LoopbackServer() as hook:
        ding_url = f"{ding.url}/robot/send?access_token={DING_TOKEN}"
        hook_url = f"{hook.url}/hook?token=a1b2c3d4e5f6a7b8c9d0"
        secrets = [ding_url, DING_TOKEN, DING_SECRET, PD_KEY, WHSEC, WHSEC[6:], hook_url]
        # Misbehaving servers that echo what they were sent, secrets included.
        echo = f"token {DING_TOKEN} secret {DING_SECRET} key {PD_KEY} {WHSEC} {hook_url}"
        ding.script(Reply(200, body=json.dumps({"errcode": 310000, "errmsg": echo}).encode()))
        pd.script(*[Reply(400, body=echo.encode())] * 2)
        hook.script(*[Reply(500, body=echo.encode())] * 50)
        env = cslir_env(
            tmp_path,
            root,
            DING_URL=ding_url,
            DING_SECRET=DING_SECRET,
            PD_URL=f"{pd.url}/v2/enqueue",
            PD_KEY=PD_KEY,
            HOOK_URL=hook_url,
            HOOK_SECRET=WHSEC,
            CSLIR_NOTIFY_BUDGET="1",
            CSLIR_NOTIFY_EXIT_WAIT="10",
        )
        commands = [
            ["run", str(root / "playbooks" / "leak.yaml"), "--auto"],
            ["notify", "status"],
            ["notify", "flush"],
            ["notify", "routes"],
            ["notify", "test", "pd"],
        ]
        outputs = []
        for args in commands:
            done = subprocess.run(
                cslir_argv(*args), env=env, cwd=tmp_path, capture_output=True, text=True
            )
            outputs += [done.stdout, done.stderr]
        sent = ding.requests + pd.requests + hook.requests
    # per-request secrets too: each DingTalk sign and webhook signature that went out
    for r in sent:
        if "sign=" in r.query:
            secrets.append(r.query.rsplit("sign=", 1)[1])
        if "webhook-signature" in r.headers:
            secrets.append(r.headers["webhook-signature"].split(",", 1)[1])
    files = [p for p in (tmp_path / "crash").iterdir()]
    files += [p for p in store_path(root).parent.iterdir() if p.name.startswith("cslir.db")]
    blobs = {str(p): p.read_bytes() for p in files if p.is_file()}
    blobs.update({f"output {i}": text.encode() for i, text in enumerate(outputs)})
    leaks = [(where, s) for where, blob in blobs.items() for s in secrets if s.encode() in blob]
    assert leaks == []
    store_bytes = b"".join(v for k, v in blobs.items() if "cslir.db" in k)
    assert b"[redacted]" in store_bytes  # the echoes were recorded, redacted
    assert any("[redacted]" in text for text in outputs)


def test_a_crash_log_from_the_worker_is_redacted(tmp_path: Path) -> None:
    root = ops_root(tmp_path, HOOK)
    url = "http://127.0.0.1:9/hook?token=a1b2c3d4e5f6a7b8c9d0"
    outbox = Outbox(
        store_path(root), RouteBook(root), environ={"HOOK_URL": url, "HOOK_SECRET": WHSEC}
    )
    Store(store_path(root)).close()
    try:
        raise RuntimeError(f"could not post to {url} with {WHSEC}")
    except RuntimeError as e:
        path = Path(write_redacted_crash_log(e, outbox))
    text = path.read_text()
    assert url not in text and WHSEC not in text and WHSEC[6:] not in text
    assert "could not post to [redacted] with [redacted]" in text


def test_a_hanging_endpoint_holds_a_run_only_for_the_exit_grace(tmp_path: Path) -> None:
    routes = HOOK + "    timeout: 1m\n"
    root = ops_root(tmp_path, routes, playbook=TWO_PAGES)
    with LoopbackServer() as server:
        server.script(Reply(200, delay=120), Reply(200, delay=120))
        env = cslir_env(
            tmp_path, root, HOOK_URL=f"{server.url}/hook", HOOK_SECRET=WHSEC,
            CSLIR_NOTIFY_EXIT_WAIT="0.5",
        )  # fmt: skip
        argv = cslir_argv("run", str(root / "playbooks" / "leak.yaml"), "--auto")
        started = time.monotonic()
        done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True)
        took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert took < 30  # far below the route's 1 minute timeout: the grace, not the network
    assert {r["status"] for r in deliveries(root)} <= {"pending", "delivering"}


def test_cslir_run_pages_the_approving_roles_route_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cslir.__main__ import main

    playbook = (
        "cslir: 1\nid: sign\ntitle: Sign\nroles: {legal: Legal}\n"
        "steps:\n  - {id: approve-notice, kind: approval, by: legal}\n"
    )
    settings = "cslir: 1\nrole_routes: {legal: hook}\n"
    root = ops_root(tmp_path, HOOK, playbook=playbook, settings=settings)
    with LoopbackServer() as server:
        server.script(Reply(200))
        monkeypatch.setenv("HOOK_URL", f"{server.url}/hook")
        monkeypatch.setenv("HOOK_SECRET", WHSEC)
        rc = main(["--root", str(root), "run", str(root / "playbooks" / "leak.yaml"), "--auto"])
        [request] = server.requests  # sent within the command's exit grace
    out = capsys.readouterr().out
    [run] = {r["run"] for r in deliveries(root)}
    # --auto does not approve in a live run: the role is paged and the run waits for it
    assert rc == 1
    assert out.splitlines()[-2:] == [
        f"  approve-notice: approval by the legal role: cslir approve {run} approve-notice"
        " --as NAME",
        f"then the rest: cslir resume {run} --auto",
    ]
    requested = [d for t, d in notify_events(root, run) if t == "notify.requested"]
    assert requested == [
        {
            "route": "hook",
            "step": "approve-notice",
            "reason": "approval",
            "message": f"Approval needed from the legal role: approve-notice (run {run}, Sign)."
            f" Sign off with: cslir approve {run} approve-notice --as NAME",
        }
    ]
    assert json.loads(request.body)["data"]["text"] == requested[0]["message"]


def test_a_short_command_does_not_wait_on_pages_it_did_not_ask_for(tmp_path: Path) -> None:
    root = ops_root(tmp_path, HOOK + "    timeout: 1m\n", playbook=TWO_PAGES)
    session = open_session(root, route="hook")
    session.page("hook", "left pending by a process that died")
    with LoopbackServer() as server:
        server.script(Reply(200, delay=120))
        env = cslir_env(
            tmp_path, root, HOOK_URL=f"{server.url}/hook", HOOK_SECRET=WHSEC,
            CSLIR_NOTIFY_EXIT_WAIT="60",
        )  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(
            cslir_argv("note", session.run_id, "still here"),
            env=env, cwd=tmp_path, capture_output=True, text=True,
        )  # fmt: skip
        took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert took < 30  # the 60 s exit wait is for this process's own pages only
    assert [r["status"] for r in deliveries(root)] == ["pending"]
