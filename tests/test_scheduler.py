"""``cslir scheduler`` as real processes on an injected clock (``CSLIR_SCHEDULER_CLOCK``): fires,
reminders, misses found after a restart, one scheduler per store, a broken drill file, the watch
over every open run, unattended drills, a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from drillkit import add_drill, drill_env, drill_ops, events_of, wait_until
from drillkit import pages as all_pages
from httpserver import LoopbackServer, Reply, loopback_server
from pgkit import shown
from runkit import cslir, cslir_argv, store_of, store_path

from cslir.store import open_store

TUESDAY_10 = "2026-03-03T10:00:00+08:00"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


def once(tmp_path: Path, root: Path, clock: str, *args: str, server: LoopbackServer | None = None,
         store: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = drill_env(tmp_path, root, server, CSLIR_SCHEDULER_CLOCK=clock,
                    CSLIR_STORE=store_of(tmp_path, store))  # fmt: skip
    return cslir("scheduler", "--once", *args, env=env, cwd=root)


def pages(server: LoopbackServer) -> list[tuple[str, dict[str, object]]]:
    """What the server received, less the audit route's witnesses of each record's milestones."""
    return [(p, d) for p, d in all_pages(server) if "cslir record witness" not in str(d["text"])]


def told(stdout: str) -> list[str]:
    """The scheduler's lines, less the deliveries of witnesses to the audit route."""
    return [line for line in stdout.splitlines() if "route=audit-hook" not in line]


def fires(tmp_path: Path, store: str | None = None) -> list[tuple[str, str, str, str, str | None]]:
    with open_store(store_of(tmp_path, store)) as opened:
        rows = opened.schedule.fires()
    return [(r["drill"], r["slot"], r["kind"], r["status"], r["run"]) for r in rows]


def fired(tmp_path: Path) -> int:
    """How many slots were fired (not coalesced, missed or reminded)."""
    return sum(status == "fired" and kind == "fire" for _, _, kind, status, _ in fires(tmp_path))


def runs(tmp_path: Path, store: str | None = None) -> list[str]:
    if store is None and not store_path(tmp_path).exists():
        return []
    with open_store(store_of(tmp_path, store)) as opened:
        return [r.id for r in opened.runs()]


def test_a_due_drill_is_fired_once_and_its_participants_paged(
    tmp_path: Path, server: LoopbackServer, store_url: str
) -> None:
    server.script(*[Reply(200)] * 10)
    root = drill_ops(tmp_path, "monthly")
    at = "2026-03-03T10:00:20+08:00"
    done = once(tmp_path, root, at, "--remind", "0", server=server, store=store_url)
    rid = runs(tmp_path, store_url)[0]
    assert (done.returncode, done.stderr) == (0, "")
    assert told(done.stdout) == [
        "loaded drill=tabletop-monthly",
        f"fired drill=tabletop-monthly slot=2026-03-03 10:00 CST (+08:00) run={rid}",
        f"delivered route=drill-room run={rid} attempts=1",
    ]
    assert rid.startswith("20260303-020000-")  # the slot's time, in UTC
    [(path, page)] = pages(server)
    assert (path, page["drill"]) == ("/drill-room", True)
    assert f"Join it with: cslir join {rid} --role ROLE" in page["text"]
    assert fires(tmp_path, store_url) == [
        ("tabletop-monthly", "2026-03-03T02:00:00.000000Z", "fire", "fired", rid)
    ]

    later = "2026-03-03T10:00:50+08:00"
    again = once(tmp_path, root, later, "--remind", "0", server=server, store=store_url)
    assert (again.returncode, again.stdout) == (0, "loaded drill=tabletop-monthly\n")
    assert runs(tmp_path, store_url) == [rid]


def test_participants_are_reminded_ahead_once(tmp_path: Path, server: LoopbackServer) -> None:
    server.script(Reply(200))
    root = drill_ops(tmp_path, "monthly")
    first = once(tmp_path, root, "2026-03-02T11:00:00+08:00", server=server)
    assert first.stdout.splitlines()[1:] == [
        "reminded drill=tabletop-monthly slot=2026-03-03 10:00 CST (+08:00)",
        "delivered route=drill-room attempts=1",
    ]
    [(_, page)] = pages(server)
    assert page["title"].startswith("【演练】[DRILL] Reminder: drill 'Monthly tabletop'")
    assert page["text"] == (
        "DRILL (演练): this is an exercise, not a real incident.\n\n"
        "Reminder: drill 'Monthly tabletop' (tabletop-monthly) starts"
        " 2026-03-03 10:00 CST (+08:00), in 23h. You will be paged then with the command that"
        " joins it."
    )
    second = once(tmp_path, root, "2026-03-02T12:00:00+08:00", server=server)
    assert second.stdout.splitlines()[1:] == []
    assert runs(tmp_path) == []


def test_slots_that_fell_while_nothing_ran_are_recorded_missed_and_paged(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(*[Reply(200)] * 20)
    root = drill_ops(tmp_path, "monthly")
    once(tmp_path, root, "2026-03-01T09:00:00+08:00", "--remind", "0", server=server)
    back = once(tmp_path, root, "2026-03-04T10:20:00+08:00", "--remind", "0", server=server)
    lines = [line for line in back.stdout.splitlines() if not line.startswith("delivered ")]
    rid = runs(tmp_path)[0]
    late = "past the 1h grace"
    assert lines == [
        "loaded drill=tabletop-monthly",
        f"missed drill=tabletop-monthly slot=2026-03-01 10:00 CST (+08:00) (found 3d after"
        f" its time, {late})",
        f"missed drill=tabletop-monthly slot=2026-03-02 10:00 CST (+08:00) (found 2d after"
        f" its time, {late})",
        f"missed drill=tabletop-monthly slot=2026-03-03 10:00 CST (+08:00) (found 1d after"
        f" its time, {late})",
        f"fired drill=tabletop-monthly slot=2026-03-04 10:00 CST (+08:00) run={rid}",
    ]
    statuses = [(slot[:10], status) for _, slot, _, status, _ in fires(tmp_path)]
    assert statuses == [("2026-03-01", "missed"), ("2026-03-02", "missed"),
                        ("2026-03-03", "missed"), ("2026-03-04", "fired")]  # fmt: skip
    paths = Counter(path for path, _ in pages(server))
    assert paths == {"/ic-pager": 3, "/audit-hook": 3, "/drill-room": 1}
    missed = [d for path, d in pages(server) if path == "/ic-pager"]
    assert all(d["drill"] is False and "was not held" in d["text"] for d in missed)


def test_a_second_scheduler_on_the_same_store_is_refused_naming_the_holder(
    tmp_path: Path, store_url: str
) -> None:
    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root, CSLIR_SCHEDULER_CLOCK=TUESDAY_10, CSLIR_STORE=store_url)
    first = subprocess.Popen(cslir_argv("scheduler", "--tick", "1s"), env=env, cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert first.stdout is not None
        assert first.stdout.readline().startswith("started ")
        second = cslir("scheduler", "--once", env=env, cwd=root)
        assert second.returncode == 1
        assert second.stderr.startswith(
            f"cslir: error: another scheduler already keeps the store {shown(store_url)}:"
            f" cslir scheduler {first.pid}@"
        )
        assert "one scheduler per store (stop that one first)" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        out, _ = first.communicate(timeout=30)
    assert first.returncode == 0
    assert out.splitlines()[-1] == "stopped on SIGTERM"
    after = cslir("scheduler", "--once", "--remind", "0", env=env, cwd=root)
    assert after.stderr == ""  # the lock was let go (the pages it makes go nowhere: exit 1)


def test_a_killed_scheduler_that_restarts_skips_no_slot_and_fires_none_twice(
    tmp_path: Path,
) -> None:
    root = drill_ops(tmp_path, "minutely")
    env = drill_env(tmp_path, root, CSLIR_SCHEDULER_CLOCK="2026-03-03T09:58:30+08:00@60")
    argv = cslir_argv("scheduler", "--tick", "1s", "--remind", "0", "--grace", "2m")
    first = subprocess.Popen(argv, env=env, cwd=root, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    wait_until(lambda: sum(f[3] == "fired" for f in fires(tmp_path)) >= 2)
    os.kill(first.pid, signal.SIGKILL)  # no clean stop: the lock row stays behind
    first.wait()
    # far enough on that the first, however late it was killed, never reached 10:15
    env["CSLIR_SCHEDULER_CLOCK"] = "2026-03-03T10:20:30+08:00@60"
    second = subprocess.Popen(argv, env=env, cwd=root, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until(lambda: any(f[1] >= "2026-03-03T02:21" for f in fires(tmp_path)))
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    rows = fires(tmp_path)
    slots = [slot for _, slot, _, _, _ in rows]
    assert len(slots) == len(set(slots))  # no slot twice
    minutes = sorted(int(s[14:16]) + 60 * int(s[11:13]) for s in slots)
    assert minutes == list(range(minutes[0], minutes[-1] + 1))  # and none skipped
    missed = {slot[11:16] for _, slot, _, status, _ in rows if status == "missed"}
    assert {"02:15", "02:16", "02:17", "02:18"} <= missed  # past the 2m grace at 10:20:30 CST
    fired = [run for *_, status, run in rows if status == "fired"]
    assert sorted(fired) == sorted(runs(tmp_path))  # one run per fired slot, no other


def test_a_drill_file_broken_while_running_keeps_its_schedule_and_is_reported(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(*[Reply(200)] * 100)
    root = drill_ops(tmp_path, "minutely")
    env = drill_env(tmp_path, root, server, CSLIR_SCHEDULER_CLOCK="2026-03-03T09:58:30+08:00@30")
    daemon = subprocess.Popen(
        cslir_argv("scheduler", "--tick", "1s", "--remind", "0"), env=env, cwd=root,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: fired(tmp_path) >= 1)
        path = root / "drills" / "minutely.yaml"
        broken_text = path.read_text("utf-8").replace("[ic-room]", "[ic-rom]")
        staged = path.with_suffix(".tmp")  # replaced whole: a half-written file is another story
        staged.write_text(broken_text, "utf-8")
        os.replace(staged, path)
        wait_until(lambda: any(p == "/audit-hook" for p, _ in pages(server)))  # reported
        seen = fired(tmp_path)
        wait_until(lambda: fired(tmp_path) > seen)  # and a slot fired since: the schedule goes on
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert (daemon.returncode, err) == (0, "")
    lines = out.splitlines()
    [broken] = [line for line in lines if line.startswith("broken ")]
    assert broken == (
        f"broken file={path}; its previous version keeps its schedule: drills/minutely.yaml:9:"
        "16: error: unknown route 'ic-rom' (did you mean 'ic-room'?)"
    )
    assert any(line.startswith("fired ") for line in lines[lines.index(broken) :])
    # one page, however often it was sent (a resend keeps its idempotency key)
    witness = "cslir record witness"
    audits = {r.headers["webhook-id"]: json.loads(r.body)["data"] for r in server.requests
              if r.path == "/audit-hook" and witness not in r.body.decode()}  # fmt: skip
    [audit] = audits.values()
    assert "no longer validates; its previous version keeps its schedule" in audit["text"]


def test_the_watch_records_and_pages_a_live_incidents_missed_clock(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(*[Reply(200)] * 10)
    root = drill_ops(tmp_path)
    answers = tmp_path / "answers.yaml"
    answers.write_text("inputs: {records: 200000}\nsteps: {}\n", encoding="utf-8")
    env = drill_env(tmp_path, root)
    opened = cslir("run", "playbooks/tabletop.yaml", "--answers", str(answers), env=env, cwd=root)
    assert opened.returncode == 2  # paused at its first step: nobody is at a terminal
    rid = runs(tmp_path)[0]
    later = time.time() + 5 * 3600  # the 4h CAC clock is overdue five hours from now
    clock = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(later))
    done = once(tmp_path, root, clock, server=server)
    assert f"clock.missed run={rid} cac-report" in done.stdout.splitlines()
    [missed] = events_of(tmp_path, rid, "clock.missed")
    assert missed.actor == "cslir"
    [(path, page)] = pages(server)
    assert (path, page["drill"]) == ("/ic-room", False)  # a live run's escalation route
    assert page["title"].startswith("First report to the CAC is missed")


def test_an_unattended_drill_is_held_to_its_end_by_the_scheduler(tmp_path: Path) -> None:
    root = drill_ops(tmp_path, "scripted")
    done = once(tmp_path, root, "2026-03-03T09:30:05+08:00", "--remind", "0")
    [rid] = runs(tmp_path)
    assert f"fired drill=scripted slot=2026-03-03 09:30 CST (+08:00) run={rid} unattended" in (
        done.stdout.splitlines()
    )
    assert f"run.closed run={rid}" in done.stdout.splitlines()
    [scored] = events_of(tmp_path, rid, "drill.scored")
    assert [(o["objective"], o["rating"]) for o in scored.data["objectives"]] == [
        ("report-fast", "P")
    ]
    [note] = events_of(tmp_path, rid, "note.added")
    assert note.data["text"] == "scripted assessment"


def test_a_new_drill_file_is_picked_up_while_running(tmp_path: Path) -> None:
    root = drill_ops(tmp_path)
    env = drill_env(tmp_path, root, CSLIR_SCHEDULER_CLOCK="2026-03-03T09:58:30+08:00@30")
    daemon = subprocess.Popen(cslir_argv("scheduler", "--tick", "1s", "--remind", "0"), env=env,
                              cwd=root, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert daemon.stdout is not None
        assert daemon.stdout.readline().startswith("started ")
        add_drill(root, "minutely")
        wait_until(lambda: len(fires(tmp_path)) >= 1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=30)
    assert "loaded drill=minutely" in out.splitlines()


WAITER = """\
import pathlib, sys, time
pathlib.Path(sys.argv[1]).touch()
end = time.monotonic() + 30
while not pathlib.Path(sys.argv[2]).exists() and time.monotonic() < end:
    time.sleep(0.02)
"""


def test_a_stop_during_a_tick_lets_the_tick_finish_and_ends_cleanly(tmp_path: Path) -> None:
    import sys

    root = drill_ops(tmp_path)
    began, go = tmp_path / "began", tmp_path / "go"
    argv = json.dumps([sys.executable, "-c", WAITER, str(began), str(go)])
    (root / "playbooks" / "waits.yaml").write_text(
        "cslir: 1\nid: waits\ntitle: Waits for the test\nsteps:\n  - id: wait-for-go\n"
        f"    kind: command\n    run: {argv}\n    timeout: 1m\n    in_drill: execute\n",
        "utf-8",
    )
    add_drill(root, "waits", "cslir: 1\nid: waits\ntitle: Waits\nplaybook: waits.yaml\n"
              "schedule: {cron: '0 10 * * *', timezone: Asia/Shanghai}\n")  # fmt: skip
    env = drill_env(tmp_path, root, CSLIR_SCHEDULER_CLOCK="2026-03-03T10:00:05+08:00")
    daemon = subprocess.Popen(
        cslir_argv("scheduler", "--tick", "1s", "--remind", "0"), env=env, cwd=root,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(began.exists)  # the tick that fired the drill runs its command step
        daemon.send_signal(signal.SIGTERM)
    finally:
        go.touch()
        out, err = daemon.communicate(timeout=30)
    [rid] = runs(tmp_path)
    assert (daemon.returncode, err) == (0, "")
    lines = out.splitlines()
    assert f"run.closed run={rid}" in lines  # the tick under way was finished, not cut short
    assert lines[-1] == "stopped on SIGTERM"


@pytest.mark.parametrize(("watch", "sleep"), [(3600.0, 90.0), (10.0, 10.0), (-2.0, 0.0)])
def test_the_loop_sleeps_until_the_next_watch_or_the_next_drill_slot(
    watch: float, sleep: float
) -> None:
    from datetime import UTC, datetime

    from cslir.drills.daemon import until_next
    from cslir.opsrepo.cron import cron_trigger

    every_five = cron_trigger("*/5 * * * *", "Asia/Shanghai")
    now = datetime(2026, 3, 3, 1, 58, 30, tzinfo=UTC)  # 09:58:30 in Shanghai
    assert until_next([every_five], now, watch) == sleep
