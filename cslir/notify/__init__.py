"""Notifications: routes, the durable outbox and the worker that delivers it.

- ``routes``: ``notifiers/*.yaml`` read into ``Route`` values; secrets resolved at send time.
- ``plan``: what a ``notify.requested`` event becomes (a delivery payload) and what a payload
  says on the wire (a ``cslir.channels.Message``).
- ``attempt``: one try at a delivery: build, send, judge, redact; and the sender threads.
- ``outbox``: the worker that reconciles, claims, sends, retries, fails over and records.
- ``service``: what the ``cslir notify`` commands do.

Only ``attempt`` imports requests, and only when a sender thread starts.
"""
