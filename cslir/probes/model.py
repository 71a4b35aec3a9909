"""What one probe attempt saw, and the targets a probe step can name (already rendered)."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Observation:
    """One attempt: whether the expectation held, a line for people, the facts for the record."""

    held: bool
    summary: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpTarget:
    url: str
    method: str = "GET"
    expect_status: tuple[int, ...] = ()
    absent: tuple[str, ...] = ()  # none of these may appear in the body
    present: tuple[str, ...] = ()  # one of these must appear in the body
    unreachable_ok: bool = False  # a failed connection also proves the site down


@dataclass(frozen=True)
class TcpTarget:
    host: str
    port: int
    expect: str  # "refused" (the connection is not accepted) or "open"


@dataclass(frozen=True)
class DnsTarget:
    name: str
    expect: tuple[str, ...]  # ("nxdomain",) or the addresses the answer must be
    server: str | None = None  # ask this resolver directly

    @property
    def wants_nothing(self) -> bool:
        return self.expect == ("nxdomain",)


Target = HttpTarget | TcpTarget | DnsTarget


def describe(target: Target) -> str:
    """The target as one line: ``GET https://...``, ``tcp host:443``, ``dns name``."""
    if isinstance(target, HttpTarget):
        return f"{target.method} {target.url}"
    if isinstance(target, TcpTarget):
        return f"tcp {target.host}:{target.port}"
    return f"dns {target.name}" + (f" @{target.server}" if target.server else "")


def describe_error(e: BaseException) -> str:
    """A network error as the record says it: refused, timed out, no such name, TLS failed."""
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(e, socket.gaierror):
        return f"name does not resolve ({e.strerror})"
    if isinstance(e, ssl.SSLError):
        return f"TLS failed ({e.reason or e})"
    if isinstance(e, ConnectionResetError):
        return "connection reset"
    return f"{type(e).__name__}: {e}"


def elapsed_ms(began: float) -> int:
    """Milliseconds since ``began`` (a ``time.monotonic()`` reading)."""
    return round((time.monotonic() - began) * 1000)
