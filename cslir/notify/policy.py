"""How hard the outbox tries: the retry budget, the backoff, the exit grace, the sender count.

notifiers.md §11: paging needs a total time budget, after which the message goes to the route's
fallback rather than being retried for hours. The environment can shorten every number, which
the tests do (``CSLIR_NOTIFY_BUDGET=3s``, ``CSLIR_NOTIFY_RETRY_BASE=0.05``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from cslir.base.errors import UsageError


@dataclass(frozen=True)
class Policy:
    budget: float = 300.0  # seconds from a delivery's first attempt until it fails over
    base: float = 1.0  # the first retry waits up to this long (full jitter), then doubling
    cap: float = 30.0  # no single wait is longer, unless the server's Retry-After says so
    exit_grace: float = 2.0  # how long a process waits at exit for what it can still send
    senders: int = 32  # concurrent attempts in all
    per_route: int = 4  # concurrent attempts per route: a hanging one ties up only these
    poll: float = 1.0  # how often the store is looked at for work from other processes
    gather: float = 0.05  # after news, wait this long for more, so a burst is one round
    lease_margin: float = 30.0  # a claim lasts the longest route timeout plus this
    max_age: float = 24 * 3600.0  # a request older than this when first seen is not sent


ENV = {
    "CSLIR_NOTIFY_BUDGET": "budget",
    "CSLIR_NOTIFY_RETRY_BASE": "base",
    "CSLIR_NOTIFY_RETRY_CAP": "cap",
    "CSLIR_NOTIFY_EXIT_WAIT": "exit_grace",
}


def _seconds(name: str, text: str) -> float:
    from cslir.engine.durations import DurationError, parse_duration

    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(parse_duration(text).seconds)
    except DurationError as e:
        raise UsageError(f"{name}={text!r}: {e}") from None


def policy_from_env(environ: Mapping[str, str], base: Policy | None = None) -> Policy:
    """``base`` (the defaults) with any of the ``CSLIR_NOTIFY_*`` variables applied."""
    values = asdict(base or Policy())
    for name, field in ENV.items():
        if name in environ:
            values[field] = _seconds(name, environ[name])
    return Policy(**values)
