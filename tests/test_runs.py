"""Reading and addressing runs from the command line: ``runs --json``, ``status --json``, run id
prefixes, who is acting (``--as``, ``$CSLIR_RESPONDER``), a resumed run whose playbook file
changed, and ``verify`` naming the event that was edited behind cslir's back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pgkit import query, shown
from runkit import cslir, cslir_env, make_ops, only_run, store_of, store_path, stored_events

from cslir.engine import actions
from cslir.opsrepo.validate import load_playbook
from cslir.runs.effects import RunSession
from cslir.runs.session import open_run
from cslir.store import open_store
from cslir.store.sqlite import Store

ASKS = {"detected_at": "2026-11-28T01:00:00Z", "records": 3, "operator": "other", "pi": True}
A, B = "20261128-090000-aaa111", "20261128-090000-bbb222"


def open_runs(
    tmp_path: Path, root: Path, *ids: str, name: str = "asks", store_url: str | None = None
) -> None:
    pb = load_playbook(root / "playbooks" / f"{name}.yaml", root)
    inputs = ASKS if name == "asks" else {**ASKS, "system": "crm"}
    with open_store(store_of(tmp_path, store_url)) as store:
        for i, rid in enumerate(ids):
            now = datetime(2026, 11, 28, 1, 0, tzinfo=UTC) + timedelta(minutes=i)
            open_run(store, pb, inputs, actor="alice", now=now, run_id=rid,
                     timezone="Asia/Shanghai")  # fmt: skip


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_ops(tmp_path, "asks", "walk")


def test_runs_json_lists_every_run_newest_first(tmp_path: Path, root: Path) -> None:
    open_runs(tmp_path, root, A, B)
    done = cslir("runs", "--json", env=cslir_env(tmp_path, root), cwd=root)
    assert done.returncode == 0
    assert json.loads(done.stdout) == [
        {"id": rid, "playbook_id": "asks", "title": "Asking fixture", "mode": "live",
         "created_at": at, "last_seq": 1, "last_at": at, "drill": None}
        for rid, at in [(B, "2026-11-28T01:01:00.000000Z"), (A, "2026-11-28T01:00:00.000000Z")]
    ]  # fmt: skip


def test_status_json_has_every_step_and_clock_with_exact_keys(tmp_path: Path, root: Path) -> None:
    open_runs(tmp_path, root, A, name="walk")
    done = cslir("status", A, "--json", env=cslir_env(tmp_path, root), cwd=root)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert list(status) == [
        "run", "playbook", "title", "mode", "opened_at", "closed_at", "closed", "paused",
        "last_seq", "head", "inputs", "steps", "clocks", "pages",
    ]  # fmt: skip
    assert (status["run"], status["playbook"], status["closed"], status["opened_at"]) == (
        A, "walk", False, "2026-11-28T01:00:00.000000Z")  # fmt: skip
    assert [list(s) for s in status["steps"]] == [
        ["id", "status", "actor", "reason", "waiting_for", "started_at", "ended_at"]
    ] * 7
    assert [(s["id"], s["status"]) for s in status["steps"][:3]] == [
        ("contain", "ready"), ("grade", "pending"), ("sign-off", "pending")]  # fmt: skip
    (clock,) = status["clocks"]
    assert list(clock) == ["id", "title", "state", "applies", "started_at", "due", "due_local",
                           "stopped_at", "stopped_by", "left_seconds", "basis", "confidence",
                           "provisional"]  # fmt: skip
    assert (clock["id"], clock["applies"], clock["started_at"], clock["due"]) == (
        "report", None, "2026-11-28T01:00:00.000000Z", "2026-11-28T05:00:00.000000Z")  # fmt: skip
    assert clock["state"] in ("running", "overdue")  # the wall clock decides which


@pytest.mark.parametrize(("prefix", "code", "said"), [
    ("20261128-090000-b", 0, f"{B}: 1 events, chain intact"),
    (A, 0, f"{A}: 1 events, chain intact"),
    ("20261128", 2, f"cslir: error: run prefix '20261128' is ambiguous: {A}, {B}"),
    ("2099", 1, "cslir: error: no run matches '2099'"),
])  # fmt: skip
def test_a_run_is_named_by_any_unambiguous_prefix_of_its_id(
    tmp_path: Path, root: Path, prefix: str, code: int, said: str
) -> None:
    open_runs(tmp_path, root, A, B)
    done = cslir("verify", prefix, env=cslir_env(tmp_path, root), cwd=root)
    assert done.returncode == code
    assert (done.stdout + done.stderr).startswith(said)


@pytest.mark.parametrize(("flag", "responder", "actor"), [
    (["--as", "carol"], "dave", "carol"),
    ([], "dave", "dave"),
])  # fmt: skip
def test_the_actor_is_as_else_cslir_responder(
    tmp_path: Path, root: Path, flag: list[str], responder: str, actor: str
) -> None:
    open_runs(tmp_path, root, A)
    env = cslir_env(tmp_path, root, actor=responder)
    done = cslir("note", A[:12], "CAC duty officer called", *flag, env=env, cwd=root)
    assert (done.returncode, done.stdout) == (0, f"{A}: note recorded as event 2\n")
    note = stored_events(tmp_path, A)[-1]
    assert (note.actor, note.data["text"]) == (actor, "CAC duty officer called")


def test_a_resumed_run_whose_playbook_changed_says_so_and_keeps_its_snapshot(
    tmp_path: Path, root: Path
) -> None:
    env = cslir_env(tmp_path, root)
    (root / "answers.yaml").write_text(
        "inputs: {detected_at: 30m ago, records: 3, operator: other, pi: true}\n"
        "steps: {contain: {}}\n",
        encoding="utf-8",
    )
    started = cslir("run", "playbooks/asks.yaml", "--answers", "answers.yaml", env=env, cwd=root)
    assert started.returncode == 2  # paused at 'grade', which the file does not answer
    rid = only_run(tmp_path)
    path = root / "playbooks" / "asks.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "  - {id: extra, title: Added after the run began}\n", "utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = cslir("resume", rid, "--auto", env=env, cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[0] == (
        "note: playbooks/asks.yaml has changed since this run started; the run keeps the "
        "playbook it started with"
    )
    events = stored_events(tmp_path, rid)
    assert events[0].data["playbook"]["text"] == original
    assert "extra" not in {e.data.get("step") for e in events}
    assert "run.closed" in [e.type for e in events]


def tampered_run(tmp_path: Path, root: Path, store_url: str) -> tuple[str, str]:
    """A run of four events; returns its id and head."""
    open_runs(tmp_path, root, A, store_url=store_url)
    with open_store(store_url) as store:
        s = RunSession(store, A, "alice")
        for text in ("first call", "second call"):
            s.record(lambda st, text=text: actions.note(st, text))
        s.record(lambda st: actions.done(st, "contain"))
        return A, s.state().head


def test_verify_passes_an_untouched_run_and_prints_its_head(
    tmp_path: Path, root: Path, store_url: str
) -> None:
    rid, head = tampered_run(tmp_path, root, store_url)
    done = cslir("verify", rid, env=cslir_env(tmp_path, root, store=store_url), cwd=root)
    assert (done.returncode, done.stdout) == (
        0,
        f"{rid}: 4 events, chain intact; head {head}\nno verify key (--key, or verify_key in"
        " cslir.yaml), and it has no signed checkpoint: this shows the events agree with each"
        " other, not that none was cut off the end or that the whole chain was not rewritten\n",
    )


@pytest.mark.parametrize(("sql", "reason"), [
    ("UPDATE events SET data = '{\"text\":\"nobody called\"}' WHERE run = ? AND seq = 3",
     "event 3: hash does not match its contents"),
    ("UPDATE events SET actor = 'mallory' WHERE run = ? AND seq = 2",
     "event 2: hash does not match its contents"),
    ("DELETE FROM events WHERE run = ? AND seq = 3",
     "event 4: expected seq 3 (a gap or reordering)"),
], ids=["data", "actor", "deleted"])  # fmt: skip
def test_verify_names_the_first_event_edited_in_the_store(
    tmp_path: Path, root: Path, store_url: str, sql: str, reason: str
) -> None:
    rid, _ = tampered_run(tmp_path, root, store_url)
    query(store_url, sql, (rid,))
    done = cslir("verify", rid, env=cslir_env(tmp_path, root, store=store_url), cwd=root)
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", f"{rid}: {reason}\n{rid}: verification FAILED (1 problem)\n")  # fmt: skip


def test_verify_names_an_event_whose_data_is_no_longer_json(
    tmp_path: Path, root: Path, store_url: str
) -> None:
    rid, _ = tampered_run(tmp_path, root, store_url)
    query(store_url, "UPDATE events SET data = 'oops' WHERE run = ? AND seq = 3", (rid,))
    done = cslir("verify", rid, env=cslir_env(tmp_path, root, store=store_url), cwd=root)
    assert (done.returncode, done.stderr) == (1, (
        f"cslir: error: the store {shown(store_url)} holds unreadable data for event 3 of "
        f"run '{rid}'; the record was altered outside cslir\n"))  # fmt: skip


def test_status_times_are_canonical_utc(tmp_path: Path, root: Path) -> None:
    open_runs(tmp_path, root, A)
    with Store(store_path(tmp_path)) as store:
        s = RunSession(store, A, "alice", now=lambda: datetime(2026, 11, 28, 2, tzinfo=UTC))
        s.record(lambda st: actions.done(st, "contain"))
    done = cslir("status", A, "--json", env=cslir_env(tmp_path, root), cwd=root)
    contain = json.loads(done.stdout)["steps"][0]
    assert (contain["ended_at"], contain["actor"]) == ("2026-11-28T02:00:00.000000Z", "alice")


def test_the_watch_records_each_warning_and_the_miss_once_and_pages_the_escalation(
    tmp_path: Path, root: Path
) -> None:
    open_runs(tmp_path, root, A, name="walk")  # detected 01:00Z, due 4h later; warn 1h before
    now = [datetime(2026, 11, 28, 2, tzinfo=UTC)]
    with Store(store_path(tmp_path)) as store:
        s = RunSession(store, A, "alice", now=lambda: now[0])
        seen = []
        for hour, minute in [(2, 0), (4, 1), (4, 2), (5, 0), (5, 1), (6, 0)]:
            now[0] = datetime(2026, 11, 28, hour, minute, tzinfo=UTC)
            seen += [(e.type, e.actor, dict(e.data)) for e in s.watch()]
    # the clock applies only once graded, and nobody has graded yet: counted, and said so
    due = {"clock": "report", "due": "2026-11-28T05:00:00Z", "conditional": True}
    page = {"route": "legal-oncall", "clock": "report"}
    maybe = " if it applies (its condition waits on an input not given yet)"
    assert seen == [
        ("clock.warned", "cslir", {**due, "warn": "1h", "covers": ["1h"]}),
        ("notify.requested", "cslir", {**page, "reason": "clock.warned", "message":
            f"First report is due in under 1h{maybe} (due 2026-11-28 13:00 CST (+08:00)); "
            "basis: CAC Incident Reporting Measures Art 4"}),
        ("clock.missed", "cslir", due),
        ("notify.requested", "cslir", {**page, "reason": "clock.missed", "message":
            f"First report is missed{maybe} (due 2026-11-28 13:00 CST (+08:00)); "
            "basis: CAC Incident Reporting Measures Art 4"}),
    ]  # fmt: skip


def test_any_command_that_touches_a_run_records_a_miss_that_came_due_unwatched(
    tmp_path: Path, root: Path
) -> None:
    open_runs(tmp_path, root, A, name="walk")  # detected 2026-11-28 01:00Z, due 4 h later
    env = cslir_env(tmp_path, root)
    first = cslir("status", A, env=env, cwd=root)
    again = cslir("note", A, "still containing", env=env, cwd=root)
    assert (first.returncode, again.returncode) == (0, 0)
    types = [e.type for e in stored_events(tmp_path, A)]
    # recorded once, by the first command that looked, and paged to the escalation route
    assert types.count("clock.missed") == 1
    assert types[:3] == ["run.opened", "clock.missed", "notify.requested"]
    assert types[-1] == "note.added"
