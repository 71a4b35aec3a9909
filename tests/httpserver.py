"""A real HTTP server on 127.0.0.1 for tests: records every request, answers from a script.

    from httpserver import LoopbackServer, Reply, loopback_server

    @pytest.fixture
    def server() -> Iterator[LoopbackServer]:
        yield from loopback_server()

    def test_x(server: LoopbackServer) -> None:
        server.script(Reply(429, {"Retry-After": "3"}), Reply(200, body=b"ok"))
        ...post to server.url + "/hook"...
        assert server.requests[0].body == b"..."

When the script runs out, the server answers 599 ``no scripted reply`` so a test that sends
more than it planned fails loudly. A reply with a ``delay`` holds the answer that many seconds
to imitate a hanging endpoint (closing the server cuts such a wait short); one with ``drop``
closes the connection without answering. ``guard_loopback`` keeps a test on 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit

UNSCRIPTED = 599


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering
    drop: bool = False  # close the connection without any answer (after the delay)


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived on the wire."""

    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # names lower-cased; HTTP header names are case-insensitive
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins handler threads: nothing outlives a test
    request_queue_size = 128  # a burst of senders connects at once; 5 would drop SYNs
    block_on_close = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies: deque[Reply] = deque()
        self.recorded: list[Recorded] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        with self.server.lock:
            self.server.recorded.append(Recorded(self.command, self.path, headers, body))
            reply = (
                self.server.replies.popleft()
                if self.server.replies
                else Reply(UNSCRIPTED, body=b"no scripted reply")
            )
        if reply.delay and self.server.stopping.wait(reply.delay):
            return  # the server is closing: drop the connection without an answer
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


class LoopbackServer:
    """Runs the server in a background thread until ``close()``."""

    def __init__(self) -> None:
        self._server = _Server()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def script(self, *replies: Reply) -> None:
        """Queue answers, given in the order requests will get them."""
        with self._server.lock:
            self._server.replies.extend(replies)

    @property
    def requests(self) -> list[Recorded]:
        with self._server.lock:
            return list(self._server.recorded)

    def close(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def loopback_server() -> Iterator[LoopbackServer]:
    """A fixture body: ``yield from loopback_server()``."""
    with LoopbackServer() as server:
        yield server


class _Patcher(Protocol):
    def setattr(self, target: Any, name: str, value: Any) -> None: ...


def guard_loopback(monkeypatch: _Patcher) -> None:
    """Make any connection or name lookup that would leave 127.0.0.1 fail the test.

    Call it from an autouse fixture with pytest's ``monkeypatch``. A lookup of another host
    raises ``socket.gaierror`` (as a real DNS failure would) without sending a query.
    """
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        if not (isinstance(address, tuple) and address[0] == "127.0.0.1"):
            raise AssertionError(f"test tried to connect to {address!r}, not 127.0.0.1")
        real_connect(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", b"127.0.0.1"):
            raise socket.gaierror(socket.EAI_NONAME, "name lookups are blocked in tests")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
