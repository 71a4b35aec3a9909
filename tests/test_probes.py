"""Probes against real servers on loopback: HTTP, TCP and DNS, and trying until it holds."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator

import pytest
from dnsstub import DnsStub
from httpserver import LoopbackServer, Reply, loopback_server

from cslir.probes.dns import Answer, check_dns, server_resolver, split_server
from cslir.probes.http import check_http
from cslir.probes.model import DnsTarget, HttpTarget, Observation, TcpTarget
from cslir.probes.runner import checker, keep_trying
from cslir.probes.tcp import check_tcp


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


def free_port() -> int:
    """A port nothing listens on: bound and released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- trying until it holds ----------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_keep_trying_stops_at_the_first_attempt_that_holds() -> None:
    answers = iter([False, False, True, True])
    clock, seen = FakeTime(), []
    held, count, _ = keep_trying(
        lambda: Observation(next(answers), "x"), within=60, every=10,
        on_attempt=lambda n, o: seen.append((n, o.held)), monotonic=clock.monotonic,
        sleep=clock.sleep,
    )  # fmt: skip
    assert (held, count, seen, clock.slept) == (True, 3, [(1, False), (2, False), (3, True)],
                                                [10, 10])  # fmt: skip


def test_keep_trying_gives_up_when_the_next_attempt_would_start_after_within() -> None:
    clock = FakeTime()
    held, count, last = keep_trying(
        lambda: Observation(False, "still up"), within=60, every=25, on_attempt=lambda n, o: None,
        monotonic=clock.monotonic, sleep=clock.sleep,
    )  # fmt: skip
    # attempts at 0, 25 and 50 s; one at 75 s would start after the 60 s allowed
    assert (held, count, last.summary, clock.now) == (False, 3, "still up", 50)


# -- HTTP -------------------------------------------------------------------------------------


def test_http_holds_when_the_status_is_expected_and_records_address_and_body_hash(
    server: LoopbackServer,
) -> None:
    server.script(Reply(451, body=b"Unavailable for legal reasons"))
    seen = check_http(HttpTarget(server.url + "/app?x=1", expect_status=(404, 451)), timeout=5)
    assert seen.held
    assert seen.summary == "HTTP 451 from 127.0.0.1"
    facts = dict(seen.facts)
    assert facts.pop("elapsed_ms") >= 0
    assert facts == {
        "status": 451,
        "address": "127.0.0.1",
        "body_sha256": hashlib.sha256(b"Unavailable for legal reasons").hexdigest(),
        "body_bytes": 29,
    }
    assert server.requests[0].target == "/app?x=1"
    assert server.requests[0].headers["user-agent"] == "cslir-probe/1"


def test_http_does_not_hold_while_the_body_still_shows_the_live_site(
    server: LoopbackServer,
) -> None:
    server.script(Reply(200, body="<form>登录 Sign in</form>".encode()))
    target = HttpTarget(server.url + "/", absent=("Sign in", "登录"))
    seen = check_http(target, timeout=5)
    assert not seen.held
    assert seen.summary == "HTTP 200 from 127.0.0.1: the body still shows 'Sign in'"


def test_http_present_text_proves_a_restore(server: LoopbackServer) -> None:
    server.script(Reply(200, body=b"Welcome back"), Reply(200, body=b"Maintenance"))
    target = HttpTarget(server.url + "/", expect_status=(200,), present=("Welcome",))
    assert check_http(target, timeout=5).held
    assert check_http(target, timeout=5).summary == (
        "HTTP 200 from 127.0.0.1: the body does not show 'Welcome'"
    )


def test_http_refused_counts_as_down_only_when_the_probe_says_so() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    down = check_http(HttpTarget(url, expect_status=(503,), unreachable_ok=True), timeout=5)
    strict = check_http(HttpTarget(url, expect_status=(503,)), timeout=5)
    assert (down.held, down.summary) == (True, "connection refused (counts as down)")
    assert (strict.held, strict.summary) == (False, "connection refused (no answer)")
    assert down.facts["error"] == "connection refused"


def test_a_site_that_goes_down_mid_probe_is_proved_down(server: LoopbackServer) -> None:
    server.script(Reply(200, body=b"Sign in"), Reply(200, body=b"Sign in"))
    target = HttpTarget(server.url + "/", absent=("Sign in",), unreachable_ok=True)
    seen: list[Observation] = []

    def pause(seconds: float) -> None:
        if len(seen) == 2:
            server.close()  # the shutdown sequence reaches this host between attempts

    held, count, last = keep_trying(
        checker(target, timeout=5), within=60, every=1,
        on_attempt=lambda n, o: seen.append(o), sleep=pause,
    )  # fmt: skip
    assert (held, count) == (True, 3)
    assert [o.held for o in seen] == [False, False, True]
    assert last.summary == "connection refused (counts as down)"


def test_a_site_that_never_goes_down_fails_the_probe(server: LoopbackServer) -> None:
    server.script(*[Reply(200, body=b"Sign in")] * 3)
    clock = FakeTime()
    held, count, _ = keep_trying(
        checker(HttpTarget(server.url + "/", absent=("Sign in",)), timeout=5),
        within=2, every=1, on_attempt=lambda n, o: None, monotonic=clock.monotonic,
        sleep=clock.sleep,
    )  # fmt: skip
    assert (held, count) == (False, 3)
    assert len(server.requests) == 3


# -- TCP --------------------------------------------------------------------------------------


def test_tcp_open_and_refused() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        is_open = check_tcp(TcpTarget("127.0.0.1", port, "open"), timeout=5)
        not_refused = check_tcp(TcpTarget("127.0.0.1", port, "refused"), timeout=5)
    closed = free_port()
    refused = check_tcp(TcpTarget("127.0.0.1", closed, "refused"), timeout=5)
    assert (is_open.held, is_open.summary) == (True, f"127.0.0.1:{port}: open at 127.0.0.1")
    assert not not_refused.held
    assert (refused.held, refused.summary) == (True, f"127.0.0.1:{closed}: connection refused")
    assert refused.facts["state"] == "closed"


# -- DNS --------------------------------------------------------------------------------------


def test_dns_through_an_injected_resolver() -> None:
    answers = {"gone.example": Answer("nxdomain"), "up.example": Answer("found", ("192.0.2.1",))}

    def resolver(name: str, timeout: float) -> Answer:
        return answers[name]

    assert check_dns(DnsTarget("gone.example", ("nxdomain",)), timeout=1, resolver=resolver).held
    up = check_dns(DnsTarget("up.example", ("nxdomain",)), timeout=1, resolver=resolver)
    assert (up.held, up.summary) == (False, "up.example: 192.0.2.1")
    assert check_dns(DnsTarget("up.example", ("192.0.2.1",)), timeout=1, resolver=resolver).held


def test_dns_asks_the_named_server_over_udp() -> None:
    with DnsStub({"www.example.test": ["192.0.2.10", "2001:db8::1"]}) as dns:
        resolve = server_resolver(dns.address)
        both = ("192.0.2.10", "2001:db8:0:0:0:0:0:1")  # written long; compared as addresses
        up = check_dns(DnsTarget("www.example.test", both), timeout=2, resolver=resolve)
        assert (up.held, up.facts["addresses"]) == (True, ["192.0.2.10", "2001:db8::1"])
        dns.records["www.example.test"] = []
        gone = check_dns(DnsTarget("www.example.test", ("nxdomain",)), timeout=2, resolver=resolve)
        assert (gone.held, gone.facts["detail"]) == (True, f"{dns.address}: NXDOMAIN")
        assert dns.questions[:2] == [("www.example.test", 1), ("www.example.test", 28)]


def test_dns_without_an_answer_proves_nothing() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        server = f"127.0.0.1:{silent.getsockname()[1]}"
        seen = check_dns(DnsTarget("x.test", ("nxdomain",)), timeout=0.2,
                         resolver=server_resolver(server))  # fmt: skip
    assert (seen.held, seen.summary) == (False, f"x.test: no answer ({server}: timed out)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("223.5.5.5", ("223.5.5.5", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)),
     ("[::1]:53", ("::1", 53)), ("::1", ("::1", 53))],
)  # fmt: skip
def test_a_server_is_host_and_optional_port(text: str, expected: tuple[str, int]) -> None:
    assert split_server(text) == expected
