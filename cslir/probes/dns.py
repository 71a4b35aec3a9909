"""DNS probes: does a name still resolve, and to what?

The resolver is a parameter. By default it is the system's (``socket.getaddrinfo``); a probe
that names ``server:`` asks that resolver directly over UDP (A and AAAA), which is how a
takedown is proved "from outside" rather than from this machine's cache; tests pass a resolver
or run a stub server on loopback.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from cslir.probes.model import DnsTarget, Observation, describe_error, elapsed_ms

_NO_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
_RCODES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


@dataclass(frozen=True)
class Answer:
    """What a resolver said: ``found`` addresses, ``nxdomain`` (no address at all), or an
    ``error`` (the question went unanswered, which proves nothing either way)."""

    outcome: str  # found | nxdomain | error
    addresses: tuple[str, ...] = ()
    detail: str = ""


Resolver = Callable[[str, float], Answer]


def system_resolver(name: str, timeout: float) -> Answer:
    """The machine's own resolver. getaddrinfo has no timeout of its own; the OS's applies."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        if e.errno in _NO_NAME:
            return Answer("nxdomain", detail=str(e.strerror))
        return Answer("error", detail=describe_error(e))
    return Answer("found", tuple(sorted({str(info[4][0]) for info in infos})))


def server_resolver(server: str) -> Resolver:
    """Ask ``server`` (``HOST``, ``HOST:PORT`` or ``[V6]:PORT``) for A and AAAA records."""
    host, port = split_server(server)

    def resolve(name: str, timeout: float) -> Answer:
        found: list[str] = []
        for qtype in (1, 28):  # A, AAAA
            try:
                code, addresses = _ask(host, port, name, qtype, timeout)
            except (OSError, ValueError, IndexError, struct.error) as e:
                return Answer("error", detail=f"{server}: {describe_error(e)}")
            if code == 3:
                return Answer("nxdomain", detail=f"{server}: NXDOMAIN")
            if code:
                return Answer("error", detail=f"{server}: {_RCODES.get(code, f'rcode {code}')}")
            found += addresses
        if not found:
            return Answer("nxdomain", detail=f"{server}: no address records")
        return Answer("found", tuple(sorted(set(found))))

    return resolve


def check_dns(target: DnsTarget, *, timeout: float, resolver: Resolver) -> Observation:
    """``nxdomain`` holds when the name has no address (NXDOMAIN, or no A/AAAA records); a
    list of addresses holds when the answer is exactly that set."""
    began = time.monotonic()
    answer = resolver(target.name, timeout)
    facts = {"outcome": answer.outcome, "addresses": list(answer.addresses),
             "elapsed_ms": elapsed_ms(began)}  # fmt: skip
    if answer.detail:
        facts["detail"] = answer.detail
    if answer.outcome == "error":
        return Observation(False, f"{target.name}: no answer ({answer.detail})", facts)
    if target.wants_nothing:
        held = answer.outcome == "nxdomain"
    else:
        held = set(answer.addresses) == {_normal(a) for a in target.expect}
    shown = ", ".join(answer.addresses) or "no address"
    return Observation(held, f"{target.name}: {shown}", facts)


def split_server(server: str) -> tuple[str, int]:
    text = server.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or 53)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 53


def _normal(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return address.strip()


def _ask(host: str, port: int, name: str, qtype: int, timeout: float) -> tuple[int, list[str]]:
    ident = secrets.randbelow(0x10000)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, port))
        sock.send(_question(ident, name, qtype))
        while True:
            data = sock.recv(4096)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == ident:
                return _answers(data, qtype)


def _question(ident: int, name: str, qtype: int) -> bytes:
    labels = [part.encode("idna") for part in name.rstrip(".").split(".") if part]
    qname = b"".join(bytes([len(label)]) + label for label in labels) + b"\0"
    # header: id, flags (recursion desired), one question, no answers
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", qtype, 1)


def _answers(data: bytes, qtype: int) -> tuple[int, list[str]]:
    flags, questions, answers = struct.unpack("!HHH", data[2:8])
    at = 12
    for _ in range(questions):
        at = _skip_name(data, at) + 4
    found = []
    for _ in range(answers):
        at = _skip_name(data, at)
        rtype, _cls, _ttl, length = struct.unpack("!HHIH", data[at : at + 10])
        at += 10
        rdata = data[at : at + length]
        at += length
        if rtype == qtype == 1 and length == 4:
            found.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == qtype == 28 and length == 16:
            found.append(str(ipaddress.ip_address(rdata)))
    return flags & 0xF, found


def _skip_name(data: bytes, at: int) -> int:
    while True:
        length = data[at]
        if length == 0:
            return at + 1
        if length & 0xC0 == 0xC0:  # a compression pointer ends the name
            return at + 2
        at += 1 + length
