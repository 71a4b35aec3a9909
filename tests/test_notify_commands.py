"""``cslir notify routes|test|status|flush``: exact output and exit codes, secrets redacted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import LoopbackServer, Reply, loopback_server
from notifykit import PD_KEY, WHSEC, deliveries, open_session, ops_root

from cslir.__main__ import main

ROUTES = """\
  ding:
    channel: dingtalk
    url: ${env:DING_URL}
    secret: ${env:DING_SECRET}
    fallback: hook
    drill_route: hook
  hook:
    channel: webhook
    url: ${env:HOOK_URL}
    secret: ${env:HOOK_SECRET}
  pd:
    channel: pagerduty
    url: ${env:PD_URL}
    routing_key: ${env:PD_KEY}
"""


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


@pytest.fixture
def root(tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DING_URL", "DING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOOK_URL", f"{server.url}/hook")
    monkeypatch.setenv("HOOK_SECRET", WHSEC)
    monkeypatch.setenv("PD_URL", f"{server.url}/v2/enqueue")
    monkeypatch.setenv("PD_KEY", PD_KEY)
    monkeypatch.setenv("CSLIR_NOTIFY_BUDGET", "0.5")
    monkeypatch.setenv("CSLIR_NOTIFY_RETRY_BASE", "0.05")
    return ops_root(tmp_path, ROUTES)


def cslir(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    rc = main(["--root", str(root), *args])
    out, err = capsys.readouterr()
    return rc, out.splitlines() + err.splitlines()


def test_routes_lists_each_route_and_names_missing_variables(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cslir(root, "notify", "routes", capsys=capsys) == (
        0,
        [
            "ding  dingtalk   missing DING_URL, DING_SECRET; fallback hook; drill route hook",
            "hook  webhook    ready",
            "pd    pagerduty  ready",
        ],
    )


def test_test_sends_now_and_shows_the_status_and_answer(
    root: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(Reply(200, body=b'{"ok":true}'))
    assert cslir(root, "notify", "test", "hook", capsys=capsys) == (
        0,
        [
            "route hook (webhook)",
            "  trigger: HTTP 200",
            '  answer: {"ok":true}',
            "  delivered: HTTP 200",
        ],
    )
    [row] = deliveries(root)
    assert (row["run"], row["route"], row["status"]) == (None, "hook", "delivered")


def test_test_of_pagerduty_resolves_what_it_triggered(
    root: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(
        Reply(202, body=b'{"status":"success"}'), Reply(202, body=b'{"status":"success"}')
    )
    assert cslir(root, "notify", "test", "pd", capsys=capsys) == (
        0,
        [
            "route pd (pagerduty)",
            "  trigger: HTTP 202",
            '  answer: {"status":"success"}',
            '  delivered: HTTP 202: {"status":"success"}',
            "  resolve: HTTP 202",
            '  answer: {"status":"success"}',
            '  delivered: HTTP 202: {"status":"success"}',
        ],
    )
    trigger, resolve = (json.loads(r.body) for r in server.requests)
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"]


def test_a_failed_test_exits_1_with_the_answer_redacted(
    root: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.script(Reply(500, body=f"unknown routing key {PD_KEY}".encode()))
    assert cslir(root, "notify", "test", "pd", capsys=capsys) == (
        1,
        [
            "route pd (pagerduty)",
            "  trigger: HTTP 500",
            "  answer: unknown routing key [redacted]",
            "  FAILED: HTTP 500: unknown routing key [redacted]"
            " (a queued message would be retried)",
        ],
    )


def test_a_test_of_a_route_without_its_variables_says_which(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cslir(root, "notify", "test", "ding", capsys=capsys) == (
        1,
        [
            "route ding (dingtalk)",
            "  trigger: no HTTP answer",
            "  FAILED: route 'ding': environment variable(s) not set: DING_URL, DING_SECRET",
        ],
    )


def test_flush_delivers_what_is_pending_and_status_shows_it(
    root: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    session = open_session(root, route="hook")
    session.page("hook", "Leak found")
    run = session.run_id
    server.script(Reply(503), Reply(200))
    assert cslir(root, "notify", "flush", capsys=capsys) == (
        0,
        [
            f"delivered #1 hook (run {run}) after 2 attempts: HTTP 200",
            "1 delivered, 0 failed, 0 still pending",
        ],
    )
    assert cslir(root, "notify", "status", run, capsys=capsys) == (
        0,
        [f"#1  {run}  hook  delivered  2 attempts"],
    )


def test_flush_exits_1_when_a_page_fails_and_names_the_fallback(
    root: Path,
    server: LoopbackServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DING_URL", f"{server.url}/robot/send?access_token=0f1e2d3c4b5a6978")
    monkeypatch.setenv("DING_SECRET", "SEC0123456789abcdef")
    session = open_session(root, route="ding")
    session.page("ding", "Leak found")
    run = session.run_id
    server.script(Reply(200, body=b'{"errcode":300001,"errmsg":"token is not exist"}'), Reply(200))
    rc, lines = cslir(root, "notify", "flush", capsys=capsys)
    assert (rc, lines) == (
        1,
        [
            f"failed #1 ding (run {run}) after 1 attempt: HTTP 200 errcode 300001:"
            " token is not exist; fell back to hook",
            f"delivered #2 hook (run {run}) after 1 attempt: HTTP 200",
            "1 delivered, 1 failed, 0 still pending",
        ],
    )
    assert cslir(root, "notify", "status", capsys=capsys)[1] == [
        f"#1  {run}  ding  failed  1 attempt"
        "  last error: HTTP 200 errcode 300001: token is not exist",
        f"#2  {run}  hook  delivered  1 attempt",
    ]
