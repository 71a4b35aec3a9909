"""Faults between cslir and a server on 127.0.0.1: retried, waited out or failed over; none lost."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from httpserver import LoopbackServer, Reply, loopback_server
from notifykit import (
    DING_SECRET,
    DING_TOKEN,
    FAST,
    WHSEC,
    deliver,
    deliveries,
    notify_events,
    open_session,
    ops_root,
)
from standardwebhooks.webhooks import Webhook

HOOK = "  hook:\n    channel: webhook\n    url: ${env:HOOK_URL}\n    secret: ${env:HOOK_SECRET}\n"
DING = "  ding:\n    channel: dingtalk\n    url: ${env:DING_URL}\n    secret: ${env:DING_SECRET}\n"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens here any more: a connect is refused


def hook_env(server: LoopbackServer) -> dict[str, str]:
    return {"HOOK_URL": f"{server.url}/hook", "HOOK_SECRET": WHSEC}


def ding_env(server: LoopbackServer) -> dict[str, str]:
    url = f"{server.url}/robot/send?access_token={DING_TOKEN}"
    return {"DING_URL": url, "DING_SECRET": DING_SECRET}


def test_two_server_errors_then_success_deliver_once_under_one_idempotency_key(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = ops_root(tmp_path, HOOK)
    session = open_session(root, route="hook")
    session.page("hook", "Leak found")
    server.script(Reply(500, body=b"boom"), Reply(503), Reply(200))
    deliver(root, hook_env(server))

    requests = server.requests
    assert len(requests) == 3
    assert {r.headers["webhook-id"] for r in requests} == {f"cslir-{session.run_id}-2"}
    for r in requests:  # each attempt re-signed, each signature valid
        Webhook(WHSEC).verify(r.body, r.headers)
    [row] = deliveries(root)
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 3, None)
    assert notify_events(root, session.run_id)[1:] == [
        (
            "notify.delivered",
            {"delivery": 1, "route": "hook", "attempts": 3, "detail": "HTTP 200", "request_seq": 2},
        )
    ]


def test_429_with_retry_after_is_waited_out_as_told(tmp_path: Path, server: LoopbackServer) -> None:
    root = ops_root(tmp_path, HOOK)
    open_session(root, route="hook").page("hook", "Leak found")
    server.script(Reply(429, {"Retry-After": "1"}, b"slow down"), Reply(200))
    deliver(root, hook_env(server))

    first, second = server.requests
    assert second.at - first.at >= 1.0
    assert deliveries(root)[0]["status"] == "delivered"


def test_http_200_with_a_dingtalk_error_code_is_a_failure_retried_when_retryable(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = ops_root(tmp_path, DING)
    session = open_session(root, route="ding")
    session.page("ding", "Leak found")
    busy = b'{"errcode":-1,"errmsg":"system busy"}'
    server.script(Reply(200, body=busy), Reply(200, body=b'{"errcode":0,"errmsg":"ok"}'))
    deliver(root, ding_env(server))

    assert len(server.requests) == 2
    [row] = deliveries(root)
    assert (row["status"], row["attempts"]) == ("delivered", 2)


def test_http_200_with_a_permanent_dingtalk_error_code_fails_at_once(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = ops_root(tmp_path, DING)
    session = open_session(root, route="ding")
    session.page("ding", "Leak found")
    server.script(Reply(200, body=b'{"errcode":310000,"errmsg":"sign not match"}'))
    deliver(root, ding_env(server))

    assert len(server.requests) == 1
    assert notify_events(root, session.run_id)[1:] == [
        (
            "notify.failed",
            {
                "delivery": 1,
                "request_seq": 2,
                "route": "ding",
                "attempts": 1,
                "detail": "HTTP 200 errcode 310000: sign not match",
            },
        )
    ]
    [row] = deliveries(root)
    assert (row["status"], row["last_error"]) == (
        "failed",
        "HTTP 200 errcode 310000: sign not match",
    )


def test_connection_refused_is_retried_within_the_budget_then_fails_over(
    tmp_path: Path, server: LoopbackServer
) -> None:
    routes = (
        "  primary:\n    channel: webhook\n    url: ${env:DOWN_URL}\n"
        "    secret: ${env:HOOK_SECRET}\n    fallback: hook\n" + HOOK
    )
    root = ops_root(tmp_path, routes)
    session = open_session(root, route="hook")
    session.page("primary", "Leak found")
    server.script(Reply(200))
    env = {**hook_env(server), "DOWN_URL": f"http://127.0.0.1:{closed_port()}/hook"}
    results = deliver(root, env, policy=replace(FAST, budget=0.5))

    assert [(r.route, r.status, r.fallback) for r in results] == [
        ("primary", "failed", "hook"),
        ("hook", "delivered", None),
    ]
    assert results[0].attempts > 1
    assert results[0].detail.startswith("connection refused (gave up after")
    events = notify_events(root, session.run_id)
    assert [t for t, _ in events] == [
        "notify.requested",
        "notify.failed",
        "notify.requested",
        "notify.delivered",
    ]
    assert events[2][1] == {
        "route": "hook",
        "message": "Leak found",
        "reason": "page",
        "fallback_of": 1,
        "tried": ["primary"],
    }
    [request] = server.requests
    assert request.headers["webhook-id"] == f"cslir-{session.run_id}-4"  # the fallback's event


def test_a_hanging_endpoint_times_out_and_the_message_fails_over(
    tmp_path: Path, server: LoopbackServer
) -> None:
    routes = (
        "  slow:\n    channel: webhook\n    url: ${env:SLOW_URL}\n    secret: ${env:HOOK_SECRET}\n"
        "    timeout: 1s\n    fallback: hook\n" + HOOK
    )
    root = ops_root(tmp_path, routes)
    session = open_session(root, route="slow")
    session.page("slow", "Leak found")
    server.script(Reply(200, delay=30), Reply(200))
    env = {**hook_env(server), "SLOW_URL": f"{server.url}/slow"}
    results = deliver(root, env, policy=replace(FAST, budget=1.0))

    assert [(r.route, r.status) for r in results] == [("slow", "failed"), ("hook", "delivered")]
    assert [r.path for r in server.requests] == ["/slow", "/hook"]
    failed = notify_events(root, session.run_id)[1]
    assert failed == (
        "notify.failed",
        {
            "delivery": 1,
            "route": "slow",
            "attempts": 1,
            "detail": "no answer within 1s; it may have arrived (gave up after 1 attempt(s) in 1s)",
            "fallback": "hook",
            "request_seq": 2,
        },
    )


def test_a_rate_limit_delays_messages_and_drops_none(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = ops_root(tmp_path, HOOK + "    rate_limit: 2/1s\n")
    session = open_session(root, route="hook")
    for i in range(4):
        session.page("hook", f"update {i}")
    server.script(*[Reply(200)] * 4)
    deliver(root, hook_env(server))

    arrivals = [r.at for r in server.requests]
    assert len(arrivals) == 4
    assert arrivals[2] - arrivals[0] >= 0.9  # the third waited for the window to move on
    assert [(d["status"], d["attempts"]) for d in deliveries(root)] == [("delivered", 1)] * 4


def test_in_a_drill_every_message_is_marked_and_goes_to_the_drill_route(
    tmp_path: Path, server: LoopbackServer
) -> None:
    routes = (
        HOOK.replace("hook:", "ic:") + "    drill_route: room\n" + HOOK.replace("hook:", "room:")
    )
    root = ops_root(tmp_path, routes)
    session = open_session(root, route="ic", mode="drill")
    session.notify_step("page-ic")
    server.script(Reply(200))
    env = hook_env(server)
    deliver(root, env)

    [request] = server.requests
    data = Webhook(WHSEC).verify(request.body, request.headers)["data"]
    assert (data["drill"], data["title"]) == (
        True,
        "【演练】[DRILL] Leak graded major; CAC report due soon",
    )
    assert data["text"].startswith("DRILL (演练): this is an exercise, not a real incident.")
    [row] = deliveries(root)
    assert (row["route"], row["payload"]["requested"]) == ("room", "ic")
    assert notify_events(root, session.run_id)[-1][1]["route"] == "room"


def test_in_a_drill_a_route_without_a_drill_route_is_withheld_and_says_so(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = ops_root(tmp_path, HOOK)
    session = open_session(root, route="hook", mode="drill")
    session.notify_step("page-ic")
    deliver(root, hook_env(server))

    assert server.requests == []  # a drill never pages a real on-call route
    [row] = deliveries(root)
    reason = (
        "withheld in a drill: route 'hook' has no drill_route and is not among the drill's "
        "participants"
    )
    assert (row["status"], row["attempts"], row["last_error"]) == ("superseded", 0, reason)
    assert notify_events(root, session.run_id)[-1] == (
        "notify.withheld",
        {"delivery": row["id"], "route": "hook", "request_seq": 3, "detail": reason},
    )
