"""Where runs live: the append-only, hash-chained event log, the delivery outbox and evidence.

``base`` is the interface and the logic every store shares (``EventStore``); ``sqlite`` is the
embedded store (the default) and ``postgres`` the team store that several machines share, chosen
by ``open_store`` from the store setting. The outbox queries are a collaborator
(``store.outbox``) that a store hands out. It may import ``cslir.base`` and ``cslir.engine``;
psycopg is imported only when a PostgreSQL store is opened.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from cslir.base import storeurl
from cslir.base.errors import StoreError

if TYPE_CHECKING:
    from cslir.store.base import EventStore

StoreTarget = str | os.PathLike[str]


def open_store(
    target: StoreTarget,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> EventStore:
    """The store at ``target``: a ``postgresql://`` URL, else a SQLite file path."""
    from cslir.base.timefmt import utcnow

    now = clock or utcnow
    if storeurl.is_url(target):
        try:
            from cslir.store.postgres import PostgresStore
        except ImportError:
            raise StoreError(
                f"the store {storeurl.display(str(target))} is PostgreSQL, which needs psycopg:"
                " pip install 'cslir[postgres]'"
            ) from None
        return PostgresStore(str(target), environ=environ, clock=now)
    from cslir.store.sqlite import Store

    return Store(target, clock=now)
