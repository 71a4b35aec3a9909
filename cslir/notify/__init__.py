"""Notifications: routes, channels, the durable outbox and the worker that delivers it.

- ``channels/``: one pure builder and judge per channel (wire formats, signatures).
- ``routes``: ``notifiers/*.yaml`` read into ``Route`` values.
- ``plan``: what a ``notify.requested`` event becomes (a delivery payload) and what a payload
  says on the wire (a ``cslir.notify.channels.Message``).
- ``attempt``: one try at a delivery: build, send, judge, redact; and the sender threads.
- ``outbox``: the worker that reconciles, claims, sends, retries, fails over and records.
- ``reconcile``: requests given delivery rows, closed alerts resolved, and what this process
  owes (sent first, and at its end waited for alone).
- ``hook``: the process's background worker that a run session hands its pages to.
- ``service``: what the ``cslir notify`` commands do.

An adapter layer: it may import ``base``, ``engine``, ``opsrepo`` and ``store``. Only
``attempt`` imports requests, and only when a sender thread starts.
"""
