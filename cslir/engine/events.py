"""Events and the hash chain that makes a run's record tamper-evident.

A run is an append-only log. Each event's ``hash`` covers its own contents and the previous
event's hash, so editing, dropping or reordering any recorded event breaks every hash after
it, and ``verify_chain`` names the first event that no longer matches.

This module is pure: no storage, no clock, no I/O. Times come in as values; the store and the
services decide where they come from.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from cslir.base.errors import InvalidInput

GENESIS = "0" * 64
"""The ``prev_hash`` of every run's first event."""

# One spelling per instant: the ``at`` text is hashed as written, so two spellings of the same
# time would be two different records. Fixed width also makes text order equal time order,
# which the store relies on when it compares times in SQL.
_AT_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_HEX64_RE = re.compile(r"[0-9a-f]{64}")


def canonical_json(obj: Any) -> bytes:
    """The one byte form of a JSON value that hashes are computed over.

    Sorted keys and no whitespace make it independent of dict order; ``ensure_ascii=False``
    keeps Chinese text readable in exports; NaN and infinities are refused because JSON has no
    spelling for them that every reader agrees on.
    """
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def format_at(moment: datetime) -> str:
    """Spell an aware datetime as the canonical UTC ``at`` text, e.g. ``...T03:04:05.123456Z``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"event times must carry a time zone, got naive {moment.isoformat()}")
    # isoformat pads the year to four digits where strftime("%Y") may not.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_at(text: str) -> datetime:
    """Read canonical ``at`` text back into an aware UTC datetime; other spellings are refused."""
    if not isinstance(text, str) or not _AT_RE.fullmatch(text):
        raise ValueError(f"not a canonical event time (YYYY-MM-DDTHH:MM:SS.ffffffZ): {text!r}")
    return datetime.strptime(text, _AT_FORMAT).replace(tzinfo=UTC)


def compute_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """Hex sha256 of the previous hash followed by the canonical JSON of this event's body."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(dict(body))).hexdigest()


@dataclass(frozen=True)
class Event:
    """One recorded fact of a run. ``hash`` seals ``body()`` onto ``prev_hash``."""

    run: str
    seq: int
    at: str
    actor: str
    type: str
    # Excluded from __hash__ because a mapping is unhashable; ``hash`` already covers it.
    data: Mapping[str, Any] = field(hash=False)
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """The fields the hash covers, as plain JSON values."""
        return {
            "run": self.run,
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "type": self.type,
            "data": dict(self.data),
        }

    def to_json(self) -> dict[str, Any]:
        """Every field, as plain JSON values (for exports and bundles)."""
        return {**self.body(), "prev_hash": self.prev_hash, "hash": self.hash}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Event:
        """Rebuild an event from ``to_json`` output, refusing missing or mistyped fields.

        Nothing is recomputed here: a tampered event must load so that ``verify_chain`` can
        name it.
        """
        missing = [name for name in _FIELD_TYPES if name not in d]
        if missing:
            raise InvalidInput(f"event is missing {', '.join(missing)}")
        for name, kind in _FIELD_TYPES.items():
            value = d[name]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise InvalidInput(f"event field '{name}' must be {_KIND_NAMES[kind]}")
        return cls(
            run=d["run"],
            seq=d["seq"],
            at=d["at"],
            actor=d["actor"],
            type=d["type"],
            data=_frozen(d["data"]),
            prev_hash=d["prev_hash"],
            hash=d["hash"],
        )


_FIELD_TYPES: dict[str, type] = {
    "run": str,
    "seq": int,
    "at": str,
    "actor": str,
    "type": str,
    "data": dict,
    "prev_hash": str,
    "hash": str,
}
_KIND_NAMES: dict[type, str] = {str: "a string", int: "an integer", dict: "an object"}


def _frozen(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only view of a private copy, so a recorded event cannot be changed in memory."""
    return MappingProxyType(dict(data))


def seal(
    run: str,
    seq: int,
    at: str,
    actor: str,
    type: str,
    data: Mapping[str, Any],
    prev_hash: str,
) -> Event:
    """Make the event that follows ``prev_hash``, with its hash computed.

    ``data`` is normalised through canonical JSON first (tuples become lists, and anything
    JSON cannot carry is refused here rather than at write time), so the event returned equals
    the one read back from the store later.
    """
    parse_at(at)  # refuse a non-canonical time before it is sealed into the record
    if seq < 1:
        raise ValueError(f"event seq starts at 1, got {seq}")
    if not _HEX64_RE.fullmatch(prev_hash):
        raise ValueError(f"prev_hash must be 64 lowercase hex digits, got {prev_hash!r}")
    plain = json.loads(canonical_json(dict(data)))
    body = {"run": run, "seq": seq, "at": at, "actor": actor, "type": type, "data": plain}
    return Event(
        run=run,
        seq=seq,
        at=at,
        actor=actor,
        type=type,
        data=_frozen(plain),
        prev_hash=prev_hash,
        hash=compute_hash(prev_hash, body),
    )


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found.

    ``head`` is the hash of the last event that verified (GENESIS if none did), so a report on
    a broken chain still says how far the record can be trusted.
    """

    ok: bool
    count: int
    head: str
    first_bad_seq: int | None
    reason: str | None


def verify_chain(events: Iterable[Event]) -> ChainReport:
    """Recompute a run's chain in order and stop at the first event that does not match.

    ``count`` is the number of events that verified. Events are consumed one at a time, so a
    generator over a very large run is checked in constant memory.
    """
    head = GENESIS
    count = 0
    run: str | None = None
    for expected, event in enumerate(events, start=1):
        reason = _fault(event, expected, head, run)
        if reason is not None:
            return ChainReport(False, count, head, event.seq, f"event {event.seq}: {reason}")
        run = event.run
        head = event.hash
        count = expected
    return ChainReport(True, count, head, None, None)


def _fault(event: Event, expected: int, head: str, run: str | None) -> str | None:
    """Why ``event`` cannot follow ``head`` as number ``expected`` of ``run``, or None."""
    if event.seq != expected:
        return f"expected seq {expected} (a gap or reordering)"
    if run is not None and event.run != run:
        return f"belongs to run '{event.run}', not '{run}'"
    if event.prev_hash != head:
        if expected == 1:
            return "prev_hash is not the genesis hash"
        return f"prev_hash does not match event {expected - 1}"
    try:
        recomputed = compute_hash(event.prev_hash, event.body())
    except (TypeError, ValueError):  # data JSON cannot carry (e.g. NaN) was never sealed by us
        recomputed = None
    if recomputed != event.hash:
        return "hash does not match its contents"
    return None


class NewEvent(NamedTuple):
    """An event to append: what the store seals with a seq and hashes (``Store.append_many``)."""

    actor: str
    type: str
    data: Mapping[str, Any]
    at: str | datetime


def as_at(value: str | datetime) -> str:
    """An event time as stored: already formatted text, or an aware datetime to format."""
    return format_at(value) if isinstance(value, datetime) else value
