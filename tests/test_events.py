from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from cslir.base.errors import InvalidInput
from cslir.engine.events import (
    GENESIS,
    ChainReport,
    Event,
    canonical_json,
    compute_hash,
    format_at,
    parse_at,
    seal,
    verify_chain,
)

T0 = datetime(2026, 11, 29, 3, 4, 5, 123456, tzinfo=UTC)


def make_chain(n: int, run: str = "r1") -> list[Event]:
    events: list[Event] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        at = format_at(T0 + timedelta(seconds=seq))
        event = seal(run, seq, at, "alice", "note", {"text": f"note {seq}"}, prev)
        events.append(event)
        prev = event.hash
    return events


def replace_at(events: list[Event], seq: int, **changes: Any) -> list[Event]:
    return [dataclasses.replace(e, **changes) if e.seq == seq else e for e in events]


def test_canonical_json_sorts_keys_drops_spaces_and_keeps_chinese() -> None:
    assert canonical_json({"b": 1, "a": [1, "系统"]}) == '{"a":[1,"系统"],"b":1}'.encode()


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_format_at_writes_utc_with_microseconds_and_z() -> None:
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 11, 29, 11, 4, 5, tzinfo=shanghai)
    assert format_at(moment) == "2026-11-29T03:04:05.000000Z"


def test_format_at_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError, match="must carry a time zone"):
        format_at(datetime(2026, 11, 29, 3, 4, 5))


def test_parse_at_round_trips_format_at() -> None:
    assert parse_at(format_at(T0)) == T0
    assert parse_at("2026-11-29T03:04:05.123456Z").tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["2026-11-29T03:04:05Z", "2026-11-29T03:04:05.123456+00:00", "2026-11-29 03:04:05.123456Z"],
)
def test_parse_at_refuses_other_spellings(text: str) -> None:
    with pytest.raises(ValueError, match="not a canonical event time"):
        parse_at(text)


def test_hash_is_sha256_of_prev_hash_then_canonical_body() -> None:
    """The hashed form is a format records are kept in; this pins it byte for byte."""
    event = seal(
        "r1", 1, "2026-11-29T03:04:05.123456Z", "alice", "run.opened", {"系统": "crm"}, GENESIS
    )
    hashed = (
        b"0" * 64
        + '{"actor":"alice","at":"2026-11-29T03:04:05.123456Z","data":{"系统":"crm"},'.encode()
        + b'"run":"r1","seq":1,"type":"run.opened"}'
    )
    assert event.hash == hashlib.sha256(hashed).hexdigest() == compute_hash(GENESIS, event.body())
    assert event.hash == "215197f75fc2a9dbfd52325dbdab8e1e621df96755e377b96dbf98350042ad39"


def test_body_holds_exactly_the_hashed_fields() -> None:
    event = make_chain(1)[0]
    assert event.body() == {
        "run": "r1",
        "seq": 1,
        "at": "2026-11-29T03:04:06.123456Z",
        "actor": "alice",
        "type": "note",
        "data": {"text": "note 1"},
    }


def test_to_json_from_json_round_trips() -> None:
    event = make_chain(2)[1]
    assert Event.from_json(event.to_json()) == event
    assert event.to_json()["prev_hash"] == make_chain(1)[0].hash


def test_from_json_names_missing_fields() -> None:
    d = make_chain(1)[0].to_json()
    del d["hash"], d["actor"]
    with pytest.raises(InvalidInput) as refused:
        Event.from_json(d)
    assert refused.value.message == "event is missing actor, hash"


def test_from_json_refuses_a_mistyped_field() -> None:
    d = {**make_chain(1)[0].to_json(), "seq": "1"}
    with pytest.raises(InvalidInput) as refused:
        Event.from_json(d)
    assert refused.value.message == "event field 'seq' must be an integer"


def test_seal_normalises_data_so_it_equals_what_is_read_back() -> None:
    event = seal("r1", 1, format_at(T0), "alice", "note", {"ids": (1, 2)}, GENESIS)
    assert event.data == {"ids": [1, 2]}
    assert Event.from_json(event.to_json()) == event


def test_recorded_event_data_cannot_be_changed_in_memory() -> None:
    event = make_chain(1)[0]
    with pytest.raises(TypeError):
        event.data["text"] = "rewritten"  # type: ignore[index]


def test_seal_refuses_a_non_canonical_time() -> None:
    with pytest.raises(ValueError, match="not a canonical event time"):
        seal("r1", 1, "2026-11-29T03:04:05Z", "alice", "note", {}, GENESIS)


def test_intact_chain_verifies_with_its_head() -> None:
    events = make_chain(5)
    assert verify_chain(events) == ChainReport(True, 5, events[-1].hash, None, None)


def test_empty_chain_verifies_at_genesis() -> None:
    assert verify_chain([]) == ChainReport(True, 0, GENESIS, None, None)


@pytest.mark.parametrize(
    "changes",
    [
        {"data": {"text": "something else"}},
        {"at": "2026-11-29T03:04:08.000000Z"},
        {"actor": "mallory"},
        {"type": "step.done"},
        {"hash": "f" * 64},
    ],
    ids=["data", "at", "actor", "type", "hash"],
)
def test_edited_event_is_named_by_hash_mismatch(changes: dict[str, Any]) -> None:
    events = make_chain(5)
    report = verify_chain(replace_at(events, 3, **changes))
    assert report == ChainReport(
        False, 2, events[1].hash, 3, "event 3: hash does not match its contents"
    )


def test_edited_prev_hash_is_named() -> None:
    events = make_chain(5)
    report = verify_chain(replace_at(events, 4, prev_hash="e" * 64))
    assert (report.ok, report.first_bad_seq, report.reason) == (
        False,
        4,
        "event 4: prev_hash does not match event 3",
    )


def test_first_event_must_follow_genesis() -> None:
    events = make_chain(2)
    report = verify_chain(replace_at(events, 1, prev_hash="e" * 64))
    assert (report.first_bad_seq, report.reason) == (
        1,
        "event 1: prev_hash is not the genesis hash",
    )


def test_resealed_edit_is_caught_at_the_next_event() -> None:
    """Rewriting an event and fixing its own hash still breaks the link from its successor."""
    events = make_chain(4)
    forged = seal("r1", 2, events[1].at, "mallory", "note", {}, events[0].hash)
    report = verify_chain([events[0], forged, *events[2:]])
    assert (report.first_bad_seq, report.reason) == (3, "event 3: prev_hash does not match event 2")


def test_gap_is_named() -> None:
    events = make_chain(5)
    report = verify_chain([e for e in events if e.seq != 3])
    assert report == ChainReport(
        False, 2, events[1].hash, 4, "event 4: expected seq 3 (a gap or reordering)"
    )


def test_reordering_is_named() -> None:
    events = make_chain(3)
    report = verify_chain([events[0], events[2], events[1]])
    assert report.reason == "event 3: expected seq 2 (a gap or reordering)"


def test_event_from_another_run_is_named() -> None:
    events = make_chain(3)
    spliced = dataclasses.replace(events[1], run="r2")
    report = verify_chain([events[0], spliced, events[2]])
    assert report.reason == "event 2: belongs to run 'r2', not 'r1'"


def test_data_json_cannot_carry_is_reported_not_raised() -> None:
    events = replace_at(make_chain(2), 2, data={"x": float("inf")})
    assert verify_chain(events).reason == "event 2: hash does not match its contents"
