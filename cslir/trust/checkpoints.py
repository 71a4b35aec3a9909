"""Signed checkpoints: the organisation key's signature on a run's head, recorded in the run.

A ``checkpoint.signed`` event at seq M signs the head of event M-1 (its ``prev_hash``) with the
organisation's Ed25519 key. The chain proves that every event agrees with the one before it;
a checkpoint proves that the organisation's cslir saw exactly that chain up to that event. So:

- rewriting any event before a checkpoint, even recomputing every hash after it, breaks that
  checkpoint's signature (the head it signs is gone), and nobody without the private key can
  sign the rewritten head;
- removing checkpoints leaves a run with none, or with events after the last one: both are
  reported. cslir signs at every milestone and when a process that wrote to the run ends, so a
  run at rest ends with a checkpoint; events after the last one are unproven (cut short, added
  afterwards, or written by a process without the key).

What no local check can see is a cut back to exactly an earlier checkpoint: that record was
once whole. The chain head each milestone sends to the ``audit`` route is the outside witness
for that (``cslir verify RUN --head HASH`` checks a witnessed head is still in the chain).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cslir.engine.events import Event, canonical_json
from cslir.trust.keys import SigningKey, VerifyKey

CHECKPOINT = "checkpoint.signed"


def message(run: str, seq: int, head: str) -> bytes:
    """The bytes a checkpoint signs: which run, how far, and the head there."""
    return canonical_json({"cslir": "checkpoint/1", "run": run, "seq": seq, "head": head})


def sign_head(key: SigningKey, run: str, seq: int, head: str, reason: str) -> dict[str, Any]:
    """The data of a ``checkpoint.signed`` event that signs ``head`` (the hash of event ``seq``)."""
    signature = key.sign(message(run, seq, head))
    return {"seq": seq, "head": head, "key": key.public.id, "signature": signature.hex(),
            "reason": reason}  # fmt: skip


@dataclass
class Seals:
    """What the checkpoints of a chain say, found while the chain streams past (``watch``).

    With a key each signature is checked; without one only that each checkpoint names the event
    before it, and ``proven`` stays False: nothing is proven without the public key.
    """

    key: VerifyKey | None
    checkpoints: int = 0
    covered: int = 0  # the last seq a valid checkpoint covers (its own)
    last_seq: int = 0
    problems: list[str] = field(default_factory=list)
    keys_seen: set[str] = field(default_factory=set)

    def watch(self, events: Iterable[Event]) -> Iterator[Event]:
        for e in events:
            if e.type == CHECKPOINT:
                self._check(e)
            self.last_seq = e.seq
            yield e

    def _check(self, e: Event) -> None:
        self.checkpoints += 1
        d = e.data
        key = d.get("key")
        self.keys_seen.add(str(key))
        if d.get("seq") != e.seq - 1 or d.get("head") != e.prev_hash:
            self.problems.append(
                f"event {e.seq}: checkpoint does not sign the event before it"
                f" (it names event {d.get('seq')!r})"
            )
            return
        if self.key is None:
            self.covered = e.seq
            return
        if key != self.key.id:
            self.problems.append(
                f"event {e.seq}: checkpoint signed by key {key},"
                f" not by the verify key {self.key.id}"
            )
            return
        try:
            signature = bytes.fromhex(str(d.get("signature")))
        except ValueError:
            signature = b""
        if not self.key.verify(message(e.run, e.seq - 1, e.prev_hash), signature):
            self.problems.append(
                f"event {e.seq}: checkpoint signature does not verify: the events it covers"
                " were rewritten, or it was forged"
            )
            return
        self.covered = e.seq

    def finish(self) -> list[str]:
        """Every problem, including a tail no checkpoint covers (only judged with a key)."""
        out = list(self.problems)
        if self.key is None:
            return out
        if self.checkpoints == 0:
            out.append(
                "no signed checkpoint: this run was never signed, or its checkpoints were"
                " removed (a rewritten record loses them)"
            )
        elif self.covered < self.last_seq:
            first = self.covered + 1
            one = first == self.last_seq
            span = f"event {first} is" if one else f"events {first}-{self.last_seq} are"
            since = f"event {self.covered}" if self.covered else "none verifies"
            out.append(
                f"{span} after the last signed checkpoint ({since}), not signed: the record"
                " may have been cut short and extended, or a process without the key wrote them"
                " (`cslir key sign RUN` signs the head once you have checked them)"
            )
        return out

    @property
    def proven(self) -> bool:
        return self.key is not None and self.checkpoints > 0 and not self.finish()
