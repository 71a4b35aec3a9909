"""Copying runs between stores (SQLite to PostgreSQL and back): ``cslir store copy``.

Each run is copied with its events exactly as they were sealed and the evidence they name; the
destination verifies the chain on arrival and the copy's head must equal the source's, so a run
moved to the team store proves the same record. The delivery queue and the drill scheduler's
fire records are not copied: what was delivered or fired is in the events already, and a new
scheduler keeps its schedules from the day it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cslir.base.errors import NotFound, StoreError
from cslir.engine.events import Event, verify_chain
from cslir.store.base import EventStore, RunRow


@dataclass(frozen=True)
class Copied:
    """One run's outcome: copied now, or found already there with the same head."""

    run: str
    events: int
    evidence: int
    head: str
    already: bool = False


def copy_runs(
    src: EventStore, dst: EventStore, run: str | None = None, *, on_run: Callable[[Copied], None]
) -> list[Copied]:
    """Copy every run of ``src`` (or the one ``run`` names) into ``dst``."""
    rows = src.runs()
    if run is not None:
        wanted = src.resolve_run(run)
        rows = [r for r in rows if r.id == wanted]
    there = {r.id for r in dst.runs()}
    done = []
    for row in rows:
        outcome = _copy_one(src, dst, row, row.id in there)
        on_run(outcome)
        done.append(outcome)
    return done


def _copy_one(src: EventStore, dst: EventStore, row: RunRow, exists: bool) -> Copied:
    events = src.events(row.id)
    source = verify_chain(events)
    if not source.ok:
        raise StoreError(
            f"run '{row.id}' does not verify in {src.where} ({source.reason}); nothing was"
            " copied for it. See `cslir verify`."
        )
    blobs = _evidence(events)
    if exists:
        copy = verify_chain(dst.iter_events(row.id))
        if copy.head != source.head or copy.count != source.count:
            raise StoreError(
                f"run '{row.id}' is already in {dst.where} with a different record (head"
                f" {copy.head[:16]}…, {copy.count} events; here {source.head[:16]}…,"
                f" {source.count}); nothing was copied for it"
            )
        return Copied(row.id, source.count, len(blobs), source.head, already=True)
    for sha in blobs:
        _copy_blob(src, dst, sha)
    dst.adopt_run(row, events)
    arrived = verify_chain(dst.iter_events(row.id))
    if arrived.head != source.head:  # adopt_run verified it; this reads it back as stored
        raise StoreError(f"run '{row.id}' arrived in {dst.where} altered ({arrived.reason})")
    return Copied(row.id, arrived.count, len(blobs), arrived.head)


def _evidence(events: list[Event]) -> list[str]:
    shas = (e.data.get("sha256") for e in events if e.type == "evidence.added")
    return sorted({sha for sha in shas if isinstance(sha, str)})


def _copy_blob(src: EventStore, dst: EventStore, sha: str) -> None:
    blob = src.open_evidence(sha)
    if blob is None:
        raise NotFound(f"evidence {sha} is missing from {src.evidence_where}; nothing copied")
    with blob:
        kept, _ = dst.put_evidence(iter(lambda: blob.read(1 << 20), b""))
    if kept != sha:
        raise StoreError(f"evidence {sha} in {src.evidence_where} no longer matches its sha256")
