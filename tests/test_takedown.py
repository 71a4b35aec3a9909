"""The takedown playbook against a site on loopback: the shutdown sequence runs in order, probes
prove from outside that the site is down and then back, and the same playbook runs as a drill
against a staging target without touching the live one."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dnsstub import DnsStub
from runkit import cslir, finish_as_people, only_run, stored_events
from test_library import ops

# The ops team's own script, as the playbook expects it: ACTION HOST. Here it appends the
# action to a file that the test's "site" watches, and waits until the site has acted on it, as
# a real script waits for DNS, CDN and load balancer to apply a change.
SCRIPT = """#!/bin/sh
echo "$1 $2" >> "$TAKEDOWN_LOG"
n=$(wc -l < "$TAKEDOWN_LOG")
while [ "$(cat "$TAKEDOWN_LOG.done" 2>/dev/null | wc -l)" -lt "$n" ]; do sleep 0.05; done
"""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<button>Sign in</button>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Site:
    """A website on 127.0.0.1 that goes away when the load balancer is shut and comes back
    when it is restored, as the takedown script's log says."""

    def __init__(self, log: Path) -> None:
        self.log = log
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.server: ThreadingHTTPServer | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self._up()
        self.thread.start()

    def _up(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()  # fmt: skip

    def _down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def _follow(self) -> None:
        seen = 0
        while not self.stop.wait(0.05):
            lines = self.log.read_text().splitlines() if self.log.exists() else []
            for line in lines[seen:]:
                action = line.split()[0]
                if action == "lb":
                    self._down()
                elif action == "restore-lb":
                    self._up()
                with open(f"{self.log}.done", "a", encoding="utf-8") as done:
                    done.write(line + "\n")
            seen = len(lines)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self._down()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path / "takedown.log")
    yield s
    s.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def takedown_inputs(url: str, port: int, dns: str) -> list[str]:
    pairs = {"order_kind": "close_website", "legal_basis": "csl_61", "site_url": url,
             "site_host": "127.0.0.1", "site_port": port, "site_marker": "Sign in",
             "dns_server": dns}  # fmt: skip
    return [arg for k, v in pairs.items() for arg in ("--var", f"{k}={v}")]


@pytest.mark.slow
def test_a_live_takedown_runs_the_sequence_in_order_and_proves_down_then_up(
    tmp_path: Path, site: Site
) -> None:
    root, env = ops(tmp_path)
    script = root / "scripts" / "takedown.sh"
    script.parent.mkdir()
    script.write_text(SCRIPT, encoding="utf-8")
    script.chmod(0o755)
    env = {**env, "TAKEDOWN_LOG": str(site.log)}
    with DnsStub({}) as dns:
        done = cslir("run", "playbooks/takedown.yaml", "--auto",
                     *takedown_inputs(f"http://127.0.0.1:{site.port}/", site.port, dns.address),
                     env=env, cwd=root, timeout=180)  # fmt: skip
        done = finish_as_people(done, env=env, cwd=root)  # the order is logged by a person
    assert done.returncode == 0, done.stdout + done.stderr
    assert site.log.read_text().splitlines() == [
        "dns 127.0.0.1", "cdn 127.0.0.1", "lb 127.0.0.1",
        "restore-lb 127.0.0.1", "restore-cdn 127.0.0.1", "restore-dns 127.0.0.1",
    ]  # fmt: skip
    events = stored_events(tmp_path, only_run(tmp_path))
    verdicts = {e.data["step"]: e.data["summary"] for e in events if e.type == "probe.finished"}
    assert verdicts["probe-web-down"].endswith("connection refused (counts as down)")
    assert verdicts["probe-port-closed"].endswith(f"127.0.0.1:{site.port}: connection refused")
    assert verdicts["probe-dns-gone"].endswith("127.0.0.1: no address")
    assert verdicts["probe-web-up"].endswith("HTTP 200 from 127.0.0.1")
    assert verdicts["probe-port-open"].endswith("open at 127.0.0.1")
    report = cslir("report", only_run(tmp_path), "--format", "json", env=env, cwd=root)
    clocks = {c["id"]: c["state"] for c in json.loads(report.stdout)["clocks"]}
    assert clocks["shutdown"] == "met"


@pytest.mark.slow
def test_a_drill_probes_staging_and_never_runs_the_shutdown(tmp_path: Path, site: Site) -> None:
    root, env = ops(tmp_path)
    env = {**env, "TAKEDOWN_LOG": str(site.log)}
    staging = closed_port()  # the participants have taken staging down by hand
    answers = root / "answers.yaml"
    answers.write_text("steps: {restore-allowed: {choice: 'false'}}\n", encoding="utf-8")
    with DnsStub({}) as dns:
        done = cslir("run", "playbooks/takedown.yaml", "--drill", "--auto", "--answers",
                     "answers.yaml",
                     *takedown_inputs(f"http://127.0.0.1:{site.port}/", staging, dns.address),
                     "--var", f"staging_url=http://127.0.0.1:{staging}/",
                     "--var", "staging_host=127.0.0.1", env=env, cwd=root, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert not site.log.exists()  # no shutdown command ran in the drill
    events = stored_events(tmp_path, only_run(tmp_path))
    targets = {e.data["step"]: e.data["target"] for e in events if e.type == "probe.attempt"}
    assert targets["probe-web-down"] == f"GET http://127.0.0.1:{staging}/"
    simulated = [e.data["step"] for e in events if e.type == "command.finished"]
    assert simulated == ["shutdown-dns", "shutdown-cdn", "shutdown-lb"]
