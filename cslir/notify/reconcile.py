"""Which deliveries exist and whose they are: every ``notify.requested`` event given a delivery
row, PagerDuty alerts resolved once their step, clock or run has closed, and what this process
owes (the pages it asked for, their fallbacks and resolves), which it sends first and, when it
ends, waits for alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from cslir.engine.durations import format_span
from cslir.engine.events import Event, parse_at
from cslir.notify.plan import plan_request, resolve_payload
from cslir.notify.routes import RouteBook
from cslir.notify.runfacts import RunFacts
from cslir.store.outbox import OutboxQueries

RECONCILE_BATCH = 200


@dataclass
class Owed:
    """What this process asked for. ``only`` is set when the process is ending: from then on
    only these count, so a short command never waits on someone else's dead endpoint."""

    events: set[tuple[str, int]] = field(default_factory=set)  # (run, seq) it recorded
    unqueued: dict[tuple[str, int], Event] = field(default_factory=dict)  # no delivery yet
    deliveries: set[int] = field(default_factory=set)
    open: set[int] = field(default_factory=set)  # of those, the ones not settled yet
    only: bool = False

    def asked(self, event: Event) -> None:
        self.events.add((event.run, event.seq))
        self.unqueued[(event.run, event.seq)] = event

    def owe(self, delivery: int) -> None:
        self.deliveries.add(delivery)
        self.open.add(delivery)

    def counts(self, delivery: int) -> bool:
        """Whether a delivery matters now: any does, but at the end only what is owed."""
        return not self.only or delivery in self.deliveries

    def inherits(self, event: Event) -> bool:
        """Whether a request is this process's: its own, or the fallback of a page it owes."""
        return (event.run, event.seq) in self.events or (
            event.data.get("fallback_of") in self.deliveries
        )


def reconcile(
    queue: OutboxQueries,
    facts: RunFacts,
    routes: RouteBook,
    owed: Owed,
    *,
    now: datetime,
    max_age: float,
) -> bool:
    """Give each request without a delivery one (the key is the run id and event seq, so two
    workers reconciling at once make one row); True if more wait for the next round.

    This process's own requests go first: however many older ones wait in the store, what it
    asked for is queued (and so sent) before it ends. A request older than ``max_age`` seconds
    when first seen is recorded as superseded, not sent.
    """
    ours = [owed.unqueued.pop(k) for k in list(owed.unqueued)]
    batch = queue.unqueued_events("notify.requested", RECONCILE_BATCH)
    mine = {(e.run, e.seq) for e in ours}
    events, items = [], []
    for e in [*ours, *(e for e in batch if (e.run, e.seq) not in mine)]:
        p = plan_request(e, routes=routes.current(), drill=facts.drill(e.run),
                         stoppers=partial(facts.stoppers, e.run),
                         participants=facts.participants(e.run))  # fmt: skip
        if p.withheld is not None:  # a drill's page to a real on-call route: recorded, not sent
            queue.withhold_delivery(e.run, e.seq, p.route, p.payload, p.key, now, p.withheld)
            continue
        events.append(e)
        items.append((e.run, e.seq, p.route, p.payload, p.key, now))
    rows = queue.enqueue_deliveries(items)
    for event, row in zip(events, rows, strict=True):
        if owed.inherits(event):
            owed.owe(row)
        age = (now - parse_at(event.at)).total_seconds()
        if age > max_age:
            note = f"requested {format_span(age)} before any worker saw it; not sent"
            queue.finish_delivery(row, "superseded", 0, now, note)
    return len(batch) == RECONCILE_BATCH


def resolve_closed(queue: OutboxQueries, facts: RunFacts, owed: Owed, *, now: datetime) -> None:
    """Queue a resolve for each delivered PagerDuty trigger whose step or run has closed."""
    for trigger in queue.delivered_triggers("pagerduty"):
        run, seq = trigger["run"], trigger["event_seq"]
        if run is None or seq is None:
            continue
        steps = list(trigger["payload"].get("resolve_steps") or [])
        closed = facts.closing_seq(run, steps, after=seq)
        if closed is not None:
            key = trigger["idempotency_key"] + "-resolve"
            payload = resolve_payload(trigger["payload"])
            row = queue.enqueue_delivery(run, closed, trigger["route"], payload, key, now)
            if trigger["id"] in owed.deliveries:
                owed.owe(row)
