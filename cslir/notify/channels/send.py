"""The one place that touches the network: post a built request and hand back the answer.

The only module of the channel layer that imports requests, so that importing
``cslir.notify.channels`` (and so ``cslir --help``) stays light.
"""

from __future__ import annotations

import socket

import requests

from cslir.base.errors import CslirError
from cslir.notify.channels.model import HttpRequest

MAX_ANSWER = 64 * 1024  # bytes; every channel's answer is tiny, a runaway one is cut short


class TransportError(CslirError):
    """No HTTP answer came back. The message is a short reason and never holds the URL.

    ``maybe_delivered`` is true when the request may have reached the server before the
    connection failed (a read timeout): a retry can then duplicate the message.
    """

    def __init__(self, reason: str, *, maybe_delivered: bool = False) -> None:
        super().__init__(reason)
        self.maybe_delivered = maybe_delivered


def send(
    request: HttpRequest, *, session: requests.Session, timeout: float
) -> tuple[int, dict[str, str], bytes]:
    """POST ``request.body`` byte for byte; return (status, headers, body).

    Redirects are not followed: the signed body and the secret URL must not travel to another
    host, and Standard Webhooks counts a 3xx as a failure.
    """
    try:
        with session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            body = _read_capped(response)
            return response.status_code, dict(response.headers), body
    except requests.RequestException as exc:
        # `from None`: the exception chain repeats the URL, which is a secret.
        raise _transport_error(exc, timeout) from None


def _read_capped(response: requests.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(chunk_size=8192):
        body += chunk
        if len(body) >= MAX_ANSWER:
            break
    return bytes(body[:MAX_ANSWER])


def _transport_error(exc: requests.RequestException, timeout: float) -> TransportError:
    if isinstance(exc, requests.ConnectTimeout):
        return TransportError(f"connection timed out after {timeout:g}s")
    if isinstance(exc, requests.ReadTimeout):
        return TransportError(f"no answer within {timeout:g}s", maybe_delivered=True)
    causes = _causes(exc)
    if any(isinstance(c, socket.gaierror) for c in causes):
        return TransportError("DNS lookup failed")
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return TransportError("connection refused")
    if isinstance(exc, requests.exceptions.SSLError):
        return TransportError("TLS handshake failed")
    if isinstance(exc, requests.ConnectionError):
        return TransportError("connection failed", maybe_delivered=True)
    return TransportError(f"request failed ({type(exc).__name__})")


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps: requests and urllib3 nest the real error in args,
    ``reason``, ``__cause__`` and ``__context__``."""
    seen: list[BaseException] = []
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is s for s in seen):
            continue
        seen.append(current)
        pending += [*current.args, getattr(current, "reason", None)]
        pending += [current.__cause__, current.__context__]
    return seen
