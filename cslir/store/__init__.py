"""Where runs live: the append-only, hash-chained event log and the delivery outbox.

``sqlite`` is the embedded store (the default); the outbox queries are a collaborator
(``store.outbox``) that a store hands out. It may import ``cslir.base`` and ``cslir.engine``.
"""
