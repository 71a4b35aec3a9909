"""TCP connect probes: is anything accepting connections on host:port?"""

from __future__ import annotations

import socket
import time

from cslir.probes.model import Observation, TcpTarget, describe_error, elapsed_ms


def check_tcp(target: TcpTarget, *, timeout: float) -> Observation:
    """``expect: refused`` holds when no connection is accepted (refused, timed out, no route,
    no such name); the record keeps which. ``expect: open`` holds when one is."""
    began = time.monotonic()
    where = f"{target.host}:{target.port}"
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout) as sock:
            address = str(sock.getpeername()[0])
    except OSError as e:
        error = describe_error(e)
        facts = {"state": "closed", "error": error, "elapsed_ms": elapsed_ms(began)}
        return Observation(target.expect == "refused", f"{where}: {error}", facts)
    facts = {"state": "open", "address": address, "elapsed_ms": elapsed_ms(began)}
    return Observation(target.expect == "open", f"{where}: open at {address}", facts)
