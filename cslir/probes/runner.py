"""Trying a probe until it holds or its time is up; the clock and the pause are parameters."""

from __future__ import annotations

import time
from collections.abc import Callable

from cslir.probes.dns import Resolver, check_dns, system_resolver
from cslir.probes.http import check_http
from cslir.probes.model import DnsTarget, HttpTarget, Observation, Target
from cslir.probes.tcp import check_tcp

Check = Callable[[], Observation]


def checker(target: Target, *, timeout: float, resolver: Resolver | None = None) -> Check:
    """One attempt at ``target``, as a function of nothing."""
    if isinstance(target, HttpTarget):
        return lambda: check_http(target, timeout=timeout)
    if isinstance(target, DnsTarget):
        if resolver is None and target.server:
            from cslir.probes.dns import server_resolver

            resolver = server_resolver(target.server)
        chosen = resolver or system_resolver
        return lambda: check_dns(target, timeout=timeout, resolver=chosen)
    return lambda: check_tcp(target, timeout=timeout)


def keep_trying(
    check: Check,
    *,
    within: float,
    every: float,
    on_attempt: Callable[[int, Observation], None],
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, int, Observation]:
    """Attempt, report each attempt, and pause ``every`` seconds until one holds or another
    could not start within ``within`` seconds. Returns (held, attempts, the last one)."""
    began = monotonic()
    n = 0
    while True:
        n += 1
        seen = check()
        on_attempt(n, seen)
        if seen.held or monotonic() - began + every > within:
            return seen.held, n, seen
        sleep(every)
