"""send(): bytes out as they are, answers back, and transport failures without the URL."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from httpserver import LoopbackServer, Reply, guard_loopback, loopback_server

from cslir.notify.channels import HttpRequest
from cslir.notify.channels.send import MAX_ANSWER, TransportError, _transport_error, send


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    guard_loopback(monkeypatch)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def post(url: str, body: bytes = b"{}") -> HttpRequest:
    return HttpRequest("POST", url, {"Content-Type": "application/json; charset=utf-8"}, body)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens here any more: a connect is refused


def test_the_body_goes_out_byte_for_byte(server: LoopbackServer, session: requests.Session) -> None:
    body = '{"text":  "告警\\u544a"}'.encode()  # odd spacing and an escape: nothing re-encodes
    server.script(Reply(200))
    send(post(f"{server.url}/hook", body), session=session, timeout=5.0)
    assert server.requests[0].body == body


def test_the_answer_comes_back_as_status_headers_and_bytes(
    server: LoopbackServer, session: requests.Session
) -> None:
    server.script(Reply(429, {"Retry-After": "30"}, b"slow down"))
    status, headers, body = send(post(f"{server.url}/hook"), session=session, timeout=5.0)
    assert (status, headers["Retry-After"], body) == (429, "30", b"slow down")


def test_a_redirect_is_returned_not_followed(
    server: LoopbackServer, session: requests.Session
) -> None:
    server.script(Reply(302, {"Location": f"{server.url}/elsewhere"}))
    status, _, _ = send(post(f"{server.url}/hook"), session=session, timeout=5.0)
    assert status == 302
    assert [r.path for r in server.requests] == ["/hook"]


def test_a_runaway_answer_is_cut_short(server: LoopbackServer, session: requests.Session) -> None:
    server.script(Reply(200, body=b"x" * (MAX_ANSWER * 3)))
    _, _, body = send(post(f"{server.url}/hook"), session=session, timeout=5.0)
    assert len(body) == MAX_ANSWER


def test_connection_refused_is_a_transport_error_without_the_url(
    session: requests.Session,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/robot/send?access_token=SECRET-TOKEN"
    with pytest.raises(TransportError) as caught:
        send(post(url), session=session, timeout=5.0)
    assert str(caught.value) == "connection refused"
    assert caught.value.maybe_delivered is False
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_hanging_endpoint_is_a_timeout_without_the_url(
    server: LoopbackServer, session: requests.Session
) -> None:
    server.script(Reply(200, delay=10.0))
    with pytest.raises(TransportError) as caught:
        send(post(f"{server.url}/hook?key=SECRET-KEY"), session=session, timeout=0.2)
    assert str(caught.value) == "no answer within 0.2s"
    assert caught.value.maybe_delivered is True  # the request did arrive: a retry may duplicate
    assert len(server.requests) == 1


def test_a_dropped_connection_may_have_delivered(
    server: LoopbackServer, session: requests.Session
) -> None:
    server.script(Reply(drop=True))
    with pytest.raises(TransportError) as caught:
        send(post(f"{server.url}/hook?key=SECRET-KEY"), session=session, timeout=5.0)
    assert str(caught.value) == "connection failed"
    assert caught.value.maybe_delivered is True


def test_a_tls_failure_is_a_transport_error_without_the_url(
    server: LoopbackServer, session: requests.Session
) -> None:
    https_url = server.url.replace("http://", "https://") + "/hook?key=SECRET-KEY"
    with pytest.raises(TransportError) as caught:
        send(post(https_url), session=session, timeout=5.0)
    assert str(caught.value) == "TLS handshake failed"


def test_an_unusable_url_is_a_transport_error_without_the_url(session: requests.Session) -> None:
    with pytest.raises(TransportError) as caught:
        send(post("http://[SECRET-KEY/hook"), session=session, timeout=5.0)
    assert str(caught.value) == "request failed (InvalidURL)"


def test_a_connect_timeout_names_the_timeout() -> None:
    # A connect timeout cannot be provoked reliably on loopback; the classifier is pure.
    error = _transport_error(requests.ConnectTimeout("to http://x/?key=SECRET"), 3.0)
    assert (str(error), error.maybe_delivered) == ("connection timed out after 3s", False)


def test_an_unknown_host_is_a_dns_transport_error(session: requests.Session) -> None:
    # guard_loopback fails every non-loopback lookup the way a resolver would, locally.
    with pytest.raises(TransportError) as caught:
        send(post("http://oapi.invalid/robot/send?access_token=T"), session=session, timeout=1.0)
    assert str(caught.value) == "DNS lookup failed"


def test_importing_the_channel_layer_does_not_import_requests() -> None:
    code = "import sys, cslir.notify.channels; sys.exit('requests' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
