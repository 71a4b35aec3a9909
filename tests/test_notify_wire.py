"""The whole path, byte for byte: route file -> run -> outbox -> worker -> a server on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, quote_plus

import pytest
from httpserver import LoopbackServer, Reply, loopback_server
from notifykit import (
    DING_SECRET,
    DING_TOKEN,
    PD_KEY,
    PLAYBOOK,
    WHSEC,
    deliver,
    notify_events,
    open_session,
    ops_root,
    wire_json,
)
from standardwebhooks.webhooks import Webhook

from cslir.engine import actions

MESSAGE = "Leak graded major; CAC report due soon"
TRANSPORT_HEADERS = ("host", "accept", "accept-encoding", "connection")  # requests' own


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


@pytest.fixture
def now() -> datetime:
    """A frozen clock for the worker, at the real time (receivers check timestamps)."""
    return datetime.now(UTC).replace(microsecond=123000)


def common_headers(body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json; charset=utf-8",
        "user-agent": "cslir/0.1.0",
        "content-length": str(len(body)),
    }


def test_a_webhook_page_goes_out_signed_per_standard_webhooks(
    tmp_path: Path, server: LoopbackServer, now: datetime
) -> None:
    root = ops_root(
        tmp_path,
        "  audit:\n    channel: webhook\n    url: ${env:AUDIT_URL}\n"
        "    secret: ${env:AUDIT_SECRET}\n",
    )
    session = open_session(root, route="audit")
    [event] = session.page("audit", "Leak found in crm")
    server.script(Reply(204))
    env = {"AUDIT_URL": f"{server.url}/cslir/hook", "AUDIT_SECRET": WHSEC}
    deliver(root, env, clock=lambda: now)

    [request] = server.requests
    run = session.run_id
    body = wire_json(
        {
            "type": "incident.triggered",
            "timestamp": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "data": {
                "run_id": run,
                "event": "trigger",
                "severity": "error",
                "drill": False,
                "title": "Leak found in crm",
                "text": "Leak found in crm",
                "link": None,
                "dedup_key": f"cslir:{run}",
                "mentions": {"mobiles": [], "user_ids": [], "all": False},
            },
        }
    )
    assert (request.method, request.target, request.body) == ("POST", "/cslir/hook", body)
    ours = {k: v for k, v in request.headers.items() if k not in TRANSPORT_HEADERS}
    assert ours.pop("webhook-signature").startswith("v1,")
    assert ours == {
        **common_headers(body),
        "webhook-id": f"cslir-{run}-{event.seq}",
        "webhook-timestamp": str(int(now.timestamp())),
    }
    verified = Webhook(WHSEC).verify(body, request.headers)  # raises unless the signature holds
    assert verified["data"]["title"] == "Leak found in crm"
    assert notify_events(root, run)[1:] == [
        (
            "notify.delivered",
            {
                "delivery": 1,
                "route": "audit",
                "attempts": 1,
                "detail": "HTTP 204",
                "request_seq": 2,
            },
        )
    ]


def ding_sign(timestamp_ms: int) -> str:
    """DingTalk's documented signature, computed here independently of cslir."""
    digest = hmac.new(
        DING_SECRET.encode(), f"{timestamp_ms}\n{DING_SECRET}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def test_a_dingtalk_notify_step_goes_out_signed_with_its_mentions(
    tmp_path: Path, server: LoopbackServer, now: datetime
) -> None:
    root = ops_root(
        tmp_path,
        "  ding:\n    channel: dingtalk\n    url: ${env:DING_URL}\n    secret: ${env:DING_SECRET}\n"
        '    mention: {mobiles: ["13800000000"]}\n',
    )
    session = open_session(root, route="ding")
    session.notify_step("page-ic")
    server.script(Reply(200, body=b'{"errcode":0,"errmsg":"ok"}'))
    env = {
        "DING_URL": f"{server.url}/robot/send?access_token={DING_TOKEN}",
        "DING_SECRET": DING_SECRET,
    }
    deliver(root, env, clock=lambda: now)

    [request] = server.requests
    run = session.run_id
    millis = int(now.timestamp() * 1000)
    assert request.path == "/robot/send"
    assert request.query == (
        f"access_token={DING_TOKEN}&timestamp={millis}&sign={quote_plus(ding_sign(millis))}"
    )
    assert parse_qs(request.query)["sign"] == [ding_sign(millis)]
    text = f"#### {MESSAGE}\n\n{MESSAGE}\n\ncslir run {run}\n\n@13800000000"
    assert request.body == wire_json(
        {
            "msgtype": "markdown",
            "markdown": {"title": MESSAGE, "text": text},
            "at": {"atMobiles": ["13800000000"], "atUserIds": [], "isAtAll": False},
        }
    )
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    delivered = notify_events(root, run)[-1]
    assert delivered == (
        "notify.delivered",
        {
            "delivery": 1,
            "route": "ding",
            "attempts": 1,
            "detail": "HTTP 200 errcode 0: ok",
            "request_seq": 3,
        },
    )


def test_a_notify_steps_link_is_rendered_and_sent_as_its_details_link(
    tmp_path: Path, server: LoopbackServer, now: datetime
) -> None:
    link = '    link: "https://tickets.example/{{ run.id }}"\n'
    playbook = PLAYBOOK.replace("    message:", link + "    message:", 1)
    root = ops_root(
        tmp_path, "  sec:\n    channel: slack\n    url: ${env:SLACK_URL}\n", playbook=playbook
    )
    session = open_session(root, route="sec")
    session.notify_step("page-ic")
    server.script(Reply(200, body=b"ok"))
    deliver(root, {"SLACK_URL": f"{server.url}/services/T0/B0/X"}, clock=lambda: now)

    [request] = server.requests
    run = session.run_id
    text = f"*{MESSAGE}*\n{MESSAGE}\n<https://tickets.example/{run}|Details>\ncslir run {run}"
    assert request.body == wire_json({"text": text})
    requested = notify_events(root, run)[0]
    assert requested[1]["link"] == f"https://tickets.example/{run}"


def test_pagerduty_gets_a_trigger_then_a_resolve_when_the_run_closes(
    tmp_path: Path, server: LoopbackServer, now: datetime
) -> None:
    root = ops_root(
        tmp_path,
        "  pd:\n    channel: pagerduty\n    url: ${env:PD_URL}\n    routing_key: ${env:PD_KEY}\n"
        "    severity: critical\n",
    )
    session = open_session(root, route="pd")
    session.notify_step("page-ic")
    session.record(lambda s: actions.done(s, "contain"))  # the last step: the run closes
    accepted = b'{"status":"success","message":"Event processed","dedup_key":"k"}'
    server.script(Reply(202, body=accepted), Reply(202, body=accepted))
    deliver(root, {"PD_URL": f"{server.url}/v2/enqueue", "PD_KEY": PD_KEY}, clock=lambda: now)

    run = session.run_id
    key = f"cslir:{run}:step:page-ic"
    trigger, resolve = server.requests
    assert trigger.target == resolve.target == "/v2/enqueue"
    assert trigger.body == wire_json(
        {
            "routing_key": PD_KEY,
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {
                "summary": MESSAGE,
                "source": "cslir",
                "severity": "critical",
                "timestamp": now.isoformat(timespec="milliseconds"),
                "custom_details": {"run_id": run, "drill": False, "text": MESSAGE},
            },
            "client": "cslir",
        }
    )
    assert resolve.body == wire_json(
        {"routing_key": PD_KEY, "dedup_key": key, "event_action": "resolve"}
    )
    events = notify_events(root, run)
    assert [(t, d.get("delivery"), d.get("event")) for t, d in events] == [
        ("notify.requested", None, None),
        ("notify.delivered", 1, None),
        ("notify.delivered", 2, "resolve"),
    ]
    assert events[1][1]["detail"] == "HTTP 202: " + accepted.decode()
