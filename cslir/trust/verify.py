"""What ``cslir verify`` proves about a run's events, with and without the public key.

Without a key: the chain is whole (every event agrees with the one before it), each checkpoint
names the event before it, the ``runs`` row agrees with the opening event, and every head a
witness holds is still in the chain. That rules out an edited or dropped event in the middle,
not a record cut short or rewritten whole (its hashes recomputed).
With the key: also every checkpoint's signature, and that the last event is signed. That rules
out a rewrite (the signed heads are gone and cannot be signed again without the private key) and
a cut anywhere but exactly at a checkpoint (a witnessed head rules that out too).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from cslir.engine.events import Event, verify_chain
from cslir.store.base import RunRow
from cslir.trust.checkpoints import Seals
from cslir.trust.keys import VerifyKey


@dataclass
class Verdict:
    """One run's verification: ``problems`` empty means every check held."""

    count: int = 0
    head: str = ""
    checkpoints: int = 0
    covered: int = 0
    key: VerifyKey | None = None
    witnessed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def proof(self) -> str:
        """The line that says what was and was not proven (only meaningful when ``ok``)."""
        if self.key is None:
            signed = (
                f"its {self.checkpoints} checkpoint(s) are unchecked"
                if self.checkpoints
                else "it has no signed checkpoint"
            )
            return (
                f"no verify key (--key, or verify_key in cslir.yaml), and {signed}: this shows"
                " the events agree with each other, not that none was cut off the end or that"
                " the whole chain was not rewritten"
            )
        witnessed = f"; {self.witnessed} witnessed head(s) found in it" if self.witnessed else ""
        return (
            f"signed: {self.checkpoints} checkpoint(s) by key {self.key.id}, the last on event"
            f" {self.covered}, the head{witnessed}: no event was changed, and none was cut off"
            " unless back to exactly an earlier checkpoint (a witnessed head, --head, rules"
            " that out)"
        )


def check_events(
    events: Iterable[Event], key: VerifyKey | None, heads: Sequence[str] = ()
) -> Verdict:
    """Verify a run's events (streamed once): chain, checkpoints, witnessed heads."""
    seals = Seals(key)
    found: set[str] = set()

    def tap(source: Iterable[Event]) -> Iterator[Event]:
        for e in seals.watch(source):
            if e.hash in heads:
                found.add(e.hash)
            yield e

    chain = verify_chain(tap(events))
    out = Verdict(chain.count, chain.head, seals.checkpoints, seals.covered, key, len(found))
    if not chain.ok:
        out.problems.append(str(chain.reason))
        out.problems += seals.problems
    else:
        out.problems += seals.finish()
    for head in heads:
        if head not in found:
            out.problems.append(
                f"witnessed head {head} is not in the chain: the record was cut back or"
                " rewritten after a witness received that head"
            )
    return out


def check_run_row(row: RunRow | None, opened: Event | None) -> list[str]:
    """The ``runs`` table row (what ``cslir runs`` lists) against the run's opening event."""
    if row is None or opened is None or opened.type != "run.opened":
        return ["the run has no runs row or no run.opened event"]
    pb = opened.data.get("playbook") or {}
    expected = {
        "playbook_id": pb.get("id"),
        "title": pb.get("title"),
        "mode": opened.data.get("mode", "live"),
        "created_at": opened.at,
    }
    return [
        f"runs table: {name} is {getattr(row, name)!r} but the opening event says {want!r}"
        for name, want in expected.items()
        if getattr(row, name) != want
    ]
