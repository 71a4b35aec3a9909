"""Opening a store, whichever database holds it: a new connection's session settings, and
which numbered migrations it still needs (a store written by a newer cslir is refused)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from cslir.base.errors import StoreError
from cslir.store.base import Conn

C = TypeVar("C", bound="Closable")


class Closable(Conn, Protocol):
    def close(self) -> None: ...


def configured(conn: C, *statements: str) -> C:
    """``conn`` once ``statements`` (session settings) ran on it; closed if one fails."""
    try:
        for statement in statements:
            conn.execute(statement)
    except BaseException:
        conn.close()
        raise
    return conn


def pending(
    where: str, done: Iterable[int], migrations: Sequence[tuple[int, str]]
) -> list[tuple[int, str]]:
    """The migrations whose versions are not in ``done``, in order."""
    applied = set(done)
    newest = migrations[-1][0]
    if applied and max(applied) > newest:
        raise StoreError(
            f"the store {where} was written by a newer cslir (schema {max(applied)});"
            f" this one knows schema {newest}. Upgrade cslir to use it."
        )
    return [(version, ddl) for version, ddl in migrations if version not in applied]
