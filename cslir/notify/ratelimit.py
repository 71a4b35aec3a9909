"""Per-route rate limits (``rate_limit: 20/1m``): a message over the limit waits, never drops.

The China robots mute a robot that sends too fast (DingTalk 130101 for 10 minutes, notifiers.md
§11), so holding a burst back costs far less than tripping the vendor's limit. A sliding window
of send times per route says when the next slot frees; the outbox moves the delivery's next
attempt to then. The window lives in the worker, so two cslir processes sending to one route at
the same moment each keep their own count.
"""

from __future__ import annotations

from collections import deque


class RateLimiter:
    """Sliding windows of send times, one per route. Times are seconds on any one clock."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}

    def reserve(self, route: str, limit: tuple[int, float] | None, now: float) -> float:
        """Take a slot and return 0.0, or return the seconds until one frees (nothing taken)."""
        if limit is None:
            return 0.0
        count, window = limit
        sent = self._sent.setdefault(route, deque())
        while sent and sent[0] <= now - window:
            sent.popleft()
        if len(sent) < count:
            sent.append(now)
            return 0.0
        return max(sent[len(sent) - count] + window - now, 0.001)
