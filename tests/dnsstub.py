"""A DNS server on 127.0.0.1 for tests: answers A and AAAA queries from a table.

    with DnsStub({"www.example.test": ["192.0.2.10"]}) as dns:
        ...ask dns.address (127.0.0.1:PORT)...
        dns.records["www.example.test"] = []      # from now on: NXDOMAIN

A name missing from the table, or listed without addresses, gets NXDOMAIN. Every question is
kept in ``questions`` (name, type), so a test sees what was asked on the wire.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from types import TracebackType


class DnsStub:
    def __init__(self, records: dict[str, list[str]]) -> None:
        self.records = records
        self.questions: list[tuple[str, int]] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(512)
            except TimeoutError:
                continue
            self._sock.sendto(self._answer(data), peer)

    def _answer(self, query: bytes) -> bytes:
        ident = query[:2]
        at, labels = 12, []
        while query[at]:
            labels.append(query[at + 1 : at + 1 + query[at]].decode("ascii"))
            at += 1 + query[at]
        question = query[12 : at + 5]
        qtype = struct.unpack("!H", query[at + 1 : at + 3])[0]
        name = ".".join(labels)
        self.questions.append((name, qtype))
        addresses = self.records.get(name) or []
        if not addresses:  # NXDOMAIN: response, recursion available, rcode 3
            return ident + struct.pack("!HHHHH", 0x8183, 1, 0, 0, 0) + question
        family = 4 if qtype == 1 else 6
        rdatas = [
            ipaddress.ip_address(a).packed
            for a in addresses
            if ipaddress.ip_address(a).version == family
        ]
        answers = b"".join(struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(r)) + r for r in rdatas)
        return ident + struct.pack("!HHHHH", 0x8180, 1, len(rdatas), 0, 0) + question + answers

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def __enter__(self) -> DnsStub:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
