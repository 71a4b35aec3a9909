"""Who gets paged when: approvals page the role's route, clocks their escalation route, and
PagerDuty alerts are resolved when their step, clock or run closes; failures reach the screen."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from httpserver import LoopbackServer, Reply, loopback_server
from notifykit import PD_KEY, WHSEC, deliver, notify_events, open_session, ops_root

from cslir.base.timefmt import utcnow
from cslir.engine import actions
from cslir.runs.effects import RunSession
from cslir.terminal.console import Term
from cslir.terminal.walkthrough import Walkthrough

PD = "  pd:\n    channel: pagerduty\n    url: ${env:PD_URL}\n    routing_key: ${env:PD_KEY}\n"
ESCALATION = """\
cslir: 1
id: esc
title: Escalation
roles: {legal: Legal}
clocks:
  report:
    title: First report
    from: start
    due: 1h
    escalate: pd
    basis: CAC Incident Reporting Measures Art 4
steps:
  - id: sign
    kind: approval
    by: legal
  - id: file-report
    title: File the report
    stops: report
  - id: wrap-up
    title: Wrap up
"""
ACCEPTED = b'{"status":"success","message":"Event processed"}'


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


def pd_env(server: LoopbackServer) -> dict[str, str]:
    return {"PD_URL": f"{server.url}/v2/enqueue", "PD_KEY": PD_KEY}


def sent(server: LoopbackServer) -> list[tuple[str, str, str | None]]:
    """(event_action, dedup_key, severity) of each request PagerDuty received."""
    out = []
    for r in server.requests:
        body = json.loads(r.body)
        severity = body.get("payload", {}).get("severity")
        out.append((body["event_action"], body["dedup_key"], severity))
    return out


def test_an_approval_request_pages_the_roles_route_and_resolves_when_signed(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = ops_root(tmp_path, PD, playbook=ESCALATION)
    session = open_session(root)
    session.role_routes = {"legal": "pd"}
    session.request_approval("sign")
    server.script(Reply(202, body=ACCEPTED), Reply(202, body=ACCEPTED))
    deliver(root, pd_env(server))
    assert sent(server) == [("trigger", f"cslir:{session.run_id}:step:sign", "warning")]

    approver = RunSession(session.store, session.run_id, "li.legal")
    approver.record(lambda s: actions.approve(s, "sign", "li.legal", ["legal"]))
    deliver(root, pd_env(server))
    assert sent(server)[1] == ("resolve", f"cslir:{session.run_id}:step:sign", None)
    assert not session.state().closed  # resolved because its step closed, not the run


def test_an_approval_request_pages_its_step_title_rendered(tmp_path: Path) -> None:
    title = "    title: Sign off {{ playbook.title }}\n"
    titled = ESCALATION.replace("by: legal\n", "by: legal\n" + title)
    root = ops_root(tmp_path, PD, playbook=titled)
    session = open_session(root)
    session.role_routes = {"legal": "pd"}
    session.request_approval("sign")
    [(_, page)] = notify_events(root, session.run_id)
    assert page["message"].startswith("Approval needed from the legal role: Sign off Escalation (")


def test_a_missed_clock_pages_its_escalation_route_and_resolves_when_stopped(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = ops_root(tmp_path, PD, playbook=ESCALATION)
    opened = open_session(root)
    later = utcnow() + timedelta(hours=2)
    session = RunSession(opened.store, opened.run_id, "alice", now=lambda: later)
    session.watch()
    server.script(Reply(202, body=ACCEPTED), Reply(202, body=ACCEPTED))
    deliver(root, pd_env(server))
    key = f"cslir:{session.run_id}:clock:report"
    assert sent(server) == [("trigger", key, "critical")]

    session.record(lambda s: actions.skip(s, "sign", "not needed in this test"))
    session.record(lambda s: actions.done(s, "file-report"))
    deliver(root, pd_env(server))
    assert sent(server)[1:] == [("resolve", key, None)]


def test_an_approval_without_a_role_route_pages_nobody(tmp_path: Path) -> None:
    root = ops_root(tmp_path, PD, playbook=ESCALATION)
    session = open_session(root)
    session.role_routes = {"pipo": "pd"}
    session.request_approval("sign")
    assert notify_events(root, session.run_id) == []


def test_the_walkthrough_shows_a_failed_page_and_its_fallback(
    tmp_path: Path, server: LoopbackServer
) -> None:
    routes = (
        PD + "    fallback: hook\n"
        "  hook:\n    channel: webhook\n    url: ${env:HOOK_URL}\n    secret: ${env:HOOK_SECRET}\n"
    )
    root = ops_root(tmp_path, routes)
    session = open_session(root)
    out = io.StringIO()
    walk = Walkthrough(
        session, Term(stdin=io.StringIO(), stdout=out, environ={}), root=root, environ={}
    )
    session.page("pd", "Leak found")
    walk.seen_seq = session.state().last_seq
    server.script(Reply(400, body=b'{"status":"invalid event"}'), Reply(200))
    deliver(root, {**pd_env(server), "HOOK_URL": f"{server.url}/hook", "HOOK_SECRET": WHSEC})
    walk.show_others(session.state())
    assert out.getvalue().splitlines() == [
        '⚠ paging pd failed: HTTP 400: {"status":"invalid event"}; fell back to hook'
    ]
