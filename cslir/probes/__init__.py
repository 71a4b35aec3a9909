"""Probes: proof from outside that a site, a port or a name is down (or up again).

Adapter rank (beside notify): this package does the network I/O of ``probe`` steps. Each check
makes one attempt and returns an ``Observation`` (held or not, and the facts: status, resolved
address, a hash of the body, the error); ``keep_trying`` repeats it until it holds or time runs
out. DNS goes through an injectable resolver (``socket.getaddrinfo`` by default, or a named
server asked directly), so tests answer from a stub on loopback.
"""
