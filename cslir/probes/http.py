"""HTTP(S) probes through the standard library: one request, no redirects followed.

A redirect is an answer like any other (a takedown often sends the site to a notice page), so
the status is judged as it comes. The body is read up to ``MAX_BODY`` bytes; its sha256 and the
address that answered go into the record.
"""

from __future__ import annotations

import hashlib
import http.client
import ssl
import time
from urllib.parse import urlsplit

from cslir.probes.model import HttpTarget, Observation, describe_error, elapsed_ms

MAX_BODY = 1 << 20
USER_AGENT = "cslir-probe/1"


def check_http(target: HttpTarget, *, timeout: float) -> Observation:
    began = time.monotonic()
    try:
        status, address, body = _request(target, timeout)
    except (OSError, http.client.HTTPException) as e:
        error = describe_error(e)
        facts = {"error": error, "elapsed_ms": elapsed_ms(began)}
        verdict = "counts as down" if target.unreachable_ok else "no answer"
        return Observation(target.unreachable_ok, f"{error} ({verdict})", facts)
    text = body.decode("utf-8", "replace")
    facts = {
        "status": status,
        "address": address,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_bytes": len(body),
        "elapsed_ms": elapsed_ms(began),
    }
    problems = []
    if target.expect_status and status not in target.expect_status:
        problems.append(
            f"status {status} is not one of {', '.join(map(str, target.expect_status))}"
        )
    found = [t for t in target.absent if t and t in text]
    if found:
        problems.append(f"the body still shows {found[0]!r}")
    if target.present and not any(t in text for t in target.present if t):
        problems.append(f"the body does not show {target.present[0]!r}")
    if problems:
        facts["problems"] = problems
    summary = f"HTTP {status} from {address}" + (f": {'; '.join(problems)}" if problems else "")
    return Observation(not problems, summary, facts)


def _request(target: HttpTarget, timeout: float) -> tuple[int, str, bytes]:
    parts = urlsplit(target.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise http.client.InvalidURL(f"{target.url!r} is not an http:// or https:// URL")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=context)  # fmt: skip
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"User-Agent": USER_AGENT, "Cache-Control": "no-cache", "Connection": "close"}
    try:
        conn.request(target.method, path, headers=headers)
        address = conn.sock.getpeername()[0] if conn.sock is not None else ""
        response = conn.getresponse()
        body = response.read(MAX_BODY) if target.method != "HEAD" else b""
        return response.status, str(address), body
    finally:
        conn.close()
