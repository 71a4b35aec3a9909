"""Every test runs with a throw-away home, crash logs under its tmp_path, and only loopback."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pgkit import cluster, pg_database, pg_url, store_url  # noqa: F401 (fixtures for every module)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths and the like stay on this machine
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:  # a host name: resolving it is already a trip to the network
        return False


class NetworkLeft(RuntimeError):
    """Raised instead of leaving loopback; not an OSError, so that retry loops don't swallow it."""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CSLIR_CRASH_DIR", str(tmp_path))
    attempts: list[str] = []

    def guard(address: Any) -> None:
        if not _is_loopback(address):
            attempts.append(repr(address))
            raise NetworkLeft(f"test tried to connect to {address!r}; only loopback is allowed")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        _real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return _real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        guard(address)
        return _real_create_connection(address, *args, **kwargs)

    _real_create_connection = socket.create_connection
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield
    if attempts:  # fail even if the code under test caught the exception
        pytest.fail(f"test left the loopback network: {', '.join(attempts)}")
