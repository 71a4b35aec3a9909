"""Probe steps in runs: cslir as a real process probing real servers on loopback; every attempt
recorded as it happens, the attempt log kept as evidence, the step done or failed by the verdict."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dnsstub import DnsStub
from httpserver import LoopbackServer, Reply, loopback_server
from runkit import cslir, cslir_env, make_ops, only_run, store_path, stored_events

from cslir.store.sqlite import Store


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


@pytest.fixture
def dns() -> Iterator[DnsStub]:
    with DnsStub({}) as stub:  # every name: NXDOMAIN
        yield stub


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_probes(tmp_path: Path, *flags: str, **inputs: object) -> tuple[int, str, str]:
    """Run the probe fixture with --auto, the inputs given as --var NAME=VALUE."""
    root = make_ops(tmp_path, "probes")
    env = cslir_env(tmp_path, root)
    given = [arg for name, value in inputs.items() for arg in ("--var", f"{name}={value}")]
    done = cslir("run", "playbooks/probes.yaml", "--auto", *flags, *given, env=env, cwd=root)
    return done.returncode, done.stdout, done.stderr


def attempts_of(tmp_path: Path, step: str) -> list[dict[str, object]]:
    events = stored_events(tmp_path, only_run(tmp_path))
    return [e.data for e in events if e.type == "probe.attempt" and e.data["step"] == step]


def test_a_site_proved_down_from_outside_closes_the_run_with_each_attempt_recorded(
    tmp_path: Path, server: LoopbackServer, dns: DnsStub
) -> None:
    server.script(Reply(200, body=b"<a>Sign in</a>"), Reply(451, body=b"Blocked by order"))
    rc, out, err = run_probes(tmp_path, site=f"{server.url}/app", port=closed_port(),
                              dns=dns.address)  # fmt: skip
    assert (rc, err) == (0, "")
    assert "  web-down: done" in out.splitlines()
    events = stored_events(tmp_path, only_run(tmp_path))
    attempts = attempts_of(tmp_path, "web-down")
    assert [(a["attempt"], a["held"], a["status"], a["address"]) for a in attempts] == [
        (1, False, 200, "127.0.0.1"), (2, True, 451, "127.0.0.1")
    ]  # fmt: skip
    assert attempts[1]["body_sha256"] == hashlib.sha256(b"Blocked by order").hexdigest()
    assert attempts[0]["problems"] == ["status 200 is not one of 404, 410, 451, 503",
                                       "the body still shows 'Sign in'"]  # fmt: skip
    finished = {e.data["step"]: e.data for e in events if e.type == "probe.finished"}
    assert finished["web-down"]["summary"] == "held after 2 attempts: HTTP 451 from 127.0.0.1"
    assert finished["port-closed"]["held"] and finished["name-gone"]["held"]
    log = next(e for e in events if e.type == "evidence.added" and e.data.get("step") == "web-down")
    with Store(store_path(tmp_path)) as store:
        blob = store.open_evidence(log.data["sha256"])
        assert blob is not None
        with blob:
            stored = json.loads(blob.read())
    assert [a["status"] for a in stored["attempts"]] == [200, 451]
    assert dns.questions[0] == ("www.example.test", 1)


def test_a_site_that_stays_up_fails_its_probe_and_the_run_cannot_go_on(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(*[Reply(200, body=b"Sign in")] * 5)
    rc, out, _ = run_probes(tmp_path, site=f"{server.url}/")
    assert rc == 1
    tries = len(server.requests)
    assert tries >= 2  # every 1s for up to 3s
    assert (
        f"  web-down: failed: did not hold within 3s ({tries} attempts); last: HTTP 200 from "
        "127.0.0.1: status 200 is not one of 404, 410, 451, 503; the body still shows 'Sign in'"
        in out.splitlines()
    )
    events = stored_events(tmp_path, only_run(tmp_path))
    assert [e.type for e in events].count("probe.attempt") == tries


def test_a_site_that_goes_down_mid_probe(tmp_path: Path, server: LoopbackServer) -> None:
    server.script(Reply(200, body=b"Sign in"))

    def take_down() -> None:
        deadline = time.monotonic() + 10
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        server.close()  # the ordered shutdown reaches the site after the first attempt

    threading.Thread(target=take_down, daemon=True).start()
    run_probes(tmp_path, site=f"{server.url}/", port=closed_port())
    attempts = attempts_of(tmp_path, "web-down")
    assert [(a["held"], a.get("status"), a.get("error")) for a in attempts] == [
        (False, 200, None), (True, None, "connection refused")
    ]  # fmt: skip


def test_a_drill_probes_its_drill_target_not_the_live_site(
    tmp_path: Path, server: LoopbackServer, dns: DnsStub
) -> None:
    with LoopbackServer() as staging:
        staging_url = f"{staging.url}/"
        staging.script(Reply(503, body=b"down for the drill"))
        rc, _, err = run_probes(tmp_path, "--drill", site=f"{server.url}/", staging=staging_url,
                                port=closed_port(), dns=dns.address)  # fmt: skip
        assert (rc, err) == (0, "")
        assert [r.path for r in staging.requests] == ["/"]
    assert server.requests == []
    events = stored_events(tmp_path, only_run(tmp_path))
    started = next(e for e in events if e.type == "step.started" and e.data["step"] == "web-down")
    assert started.data["target"] == f"GET {staging_url}"


def test_a_probe_step_cannot_be_marked_done_by_hand(tmp_path: Path, server: LoopbackServer) -> None:
    root = make_ops(tmp_path, "probes")
    env = cslir_env(tmp_path, root)
    answers = tmp_path / "answers.yaml"
    answers.write_text("steps: {}\n", encoding="utf-8")
    opened = cslir("run", "playbooks/probes.yaml", "--answers", str(answers), "--var",
                   f"site={server.url}/", env=env, cwd=root)  # fmt: skip
    assert opened.returncode == 2
    run_id = only_run(tmp_path)
    done = cslir("step", run_id, "web-down", "--done", env=env, cwd=root)
    assert done.returncode == 1
    assert "step 'web-down' is a probe: its result is the proof, so run it" in done.stderr
