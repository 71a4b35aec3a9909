"""When to try a failed delivery again: exponential backoff with full jitter (notifiers.md §11).

Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter") spreads the retries of
many senders hit by the same outage; a server's Retry-After is a floor that jitter must not
undercut. How many attempts to make, and when to fail over, is the outbox's budget.
"""

from __future__ import annotations

from collections.abc import Callable

_MAX_EXPONENT = 1000  # 2.0 ** 1024 overflows a float; the cap has long won by then


def next_delay(
    attempt: int,
    *,
    base: float = 2.0,
    cap: float = 300.0,
    retry_after: float | None,
    rand: Callable[[], float],
) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry).

    A uniform draw from ``0 .. min(cap, base * 2**attempt)`` (``rand`` returns a number in
    [0, 1)), but never less than ``retry_after`` when the server gave one.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    ceiling = min(cap, base * 2.0 ** min(attempt, _MAX_EXPONENT))
    delay = rand() * ceiling
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
