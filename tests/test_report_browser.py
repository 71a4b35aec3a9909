"""The HTML report in a real browser: headless Chromium, driven over the DevTools protocol.

Chromium is driven through ``--remote-debugging-pipe`` (JSON messages on file descriptors 3 and
4), so the test needs no websocket package and opens no port. The page must load with no console
error, no CSP violation and no request but its own file, and must draw the steps as SVG bars.
On a laptop without Chromium the tests skip and say how to install it; ``.ci/run`` installs it
and sets ``CSLIR_REQUIRE_TOOLS=1``, so in CI a missing browser fails instead (``tests/tools.py``).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import reportrun
from tools import missing

from cslir.report.model import build_report
from cslir.report.render import write_file

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--remote-debugging-pipe",
]  # fmt: skip
TIMEOUT = 60.0


class Browser:
    """A headless Chromium and a minimal DevTools client over its debugging pipe."""

    def __init__(self, binary: str, profile: Path, log: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes() -> None:  # in the child: the protocol reads fd 3 and writes fd 4
            inbound = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            outbound = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(inbound, 3)
            os.dup2(outbound, 4)

        self._log = open(log, "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            preexec_fn=wire_pipes, close_fds=False,
        )  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None
             ) -> dict[str, Any]:  # fmt: skip
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        for reply in self._messages():
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise AssertionError(f"{method} failed: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)
        raise AssertionError("unreachable")

    def wait_for(self, method: str) -> dict[str, Any]:
        seen = next((e for e in self.events if e.get("method") == method), None)
        if seen:
            return seen
        for message in self._messages():
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise AssertionError("unreachable")

    def _messages(self) -> Iterator[dict[str, Any]]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                yield json.loads(raw)
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(0.0, left))
            if not ready:
                raise AssertionError(f"Chromium did not answer within {TIMEOUT:g} s")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise AssertionError(f"Chromium exited (code {self.proc.poll()})")
            self._buffer += chunk

    def close(self) -> None:
        with contextlib.suppress(OSError):  # it may have gone already
            os.write(self._to_browser, b'{"id": 0, "method": "Browser.close"}\0')
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        self._log.close()


def chromium() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        missing(
            "headless Chromium is needed to check the HTML report and was not found on PATH;"
            " install it with `apt-get install -y chromium` (CI's .ci/run does this)"
        )
    return found


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    b = Browser(chromium(), tmp_path / "profile", tmp_path / "chromium.log")
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def page(tmp_path: Path) -> Path:
    run = reportrun.build(tmp_path / "run")
    path = tmp_path / "report.html"
    report = build_report(run.source(), lang="en", clock=lambda: reportrun.DETECTED)
    write_file(report, "html", path)
    return path


def open_page(browser: Browser, path: Path) -> str:
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})
    sid: str = session["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable", session=sid)
    browser.call("Page.navigate", {"url": path.as_uri()}, session=sid)
    browser.wait_for("Page.loadEventFired")
    return sid


def evaluate(browser: Browser, sid: str, expression: str) -> Any:
    got = browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                       session=sid)  # fmt: skip
    assert "exceptionDetails" not in got, got
    return got["result"]["value"]


def problems(browser: Browser) -> list[Any]:
    """Console errors, uncaught exceptions and logged errors (CSP violations among them)."""
    return [
        e["params"] for e in browser.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]  # fmt: skip


def requests(browser: Browser) -> list[str]:
    return [
        e["params"]["request"]["url"] for e in browser.events
        if e.get("method") == "Network.requestWillBeSent"
    ]  # fmt: skip


def test_the_harness_sees_console_errors_and_requests(browser: Browser, tmp_path: Path) -> None:
    # Port 9 is one Chromium refuses to connect to: the request is seen, nothing leaves.
    bad = tmp_path / "bad.html"
    bad.write_text("<img src='http://127.0.0.1:9/x.png'><script>console.error('boom')</script>")
    sid = open_page(browser, bad)
    browser.call("Runtime.evaluate", {"expression": "1"}, session=sid)
    assert "http://127.0.0.1:9/x.png" in requests(browser)
    assert any(p.get("type") == "error" for p in problems(browser))


def test_html_report_loads_with_no_errors_no_requests_and_draws_the_timeline(
    browser: Browser, page: Path
) -> None:
    sid = open_page(browser, page)
    steps = evaluate(browser, sid, """
        [...document.querySelectorAll('svg.chart rect.step')]
            .map(r => ({w: r.getBBox().width, h: r.getBBox().height}))
    """)  # fmt: skip
    deadlines = evaluate(
        browser, sid, "document.querySelectorAll('svg.chart line.deadline').length"
    )
    title = evaluate(browser, sid, "document.title")
    browser.call("Runtime.evaluate", {"expression": "1"}, session=sid)  # flush pending events
    assert problems(browser) == []
    assert requests(browser) == [page.as_uri()]  # the page itself and nothing else
    assert title == f"Incident record: Customer data leak — {reportrun.RUN_ID}"
    assert len(steps) == 12 and all(s["w"] > 0 and s["h"] > 0 for s in steps)
    assert deadlines == 4


def test_html_report_prints_to_several_pages_without_errors(browser: Browser, page: Path) -> None:
    sid = open_page(browser, page)
    printed = browser.call("Page.printToPDF", {"printBackground": True}, session=sid)
    pdf = base64.b64decode(printed["data"])
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 3
    assert problems(browser) == []
