"""Holding drills with real processes: the run, its participants called, its injects fired once,
its scenario time advanced, its objectives scored and rated, its pages marked and routed."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from drillkit import drill_env, drill_ops, events_of, pages, run_id_from
from httpserver import LoopbackServer, Reply, loopback_server
from runkit import cslir


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


def join_line(rid: str) -> str:
    return (
        f"  → calling ic-room: Drill 'Monthly tabletop' (tabletop-monthly) has started: run {rid}"
        f" of Tabletop leak. Join it with: cslir join {rid} --role ROLE (roles: ic, legal);"
        f" follow it with: cslir status {rid}"
    )


def test_an_unattended_drill_runs_to_the_end_and_scores_its_objectives(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(*[Reply(200)] * 20)  # the drill room and the audit route's witnesses
    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root, server)
    done = cslir("drill", "run", "drills/monthly.yaml", "--auto", env=env, cwd=root)
    rid = run_id_from(done.stdout)
    lines = re.sub(r"done \d+s into", "done Ns into", done.stdout).splitlines()
    assert (done.returncode, done.stderr) == (0, "")
    assert lines == [
        f"drill run {rid} started: Monthly tabletop [DRILL]",
        join_line(rid),
        "  contain: done",
        "  assess: done",
        "  page-legal: done",
        "  report: done",
        "  close: done",
        f"run {rid} closed",
        "objectives (scored; HSEEP P/S/M/U):",
        "  P report-fast: performed without challenges — step report done Ns into the scenario,"
        " within 2h",
        "  P cac-clock: performed without challenges — clock cac-report met",
    ]
    # what the delivery worker records (delivered, failed, withheld) comes whenever it does,
    # and the audit route witnesses each milestone
    settled = ("notify.delivered", "notify.failed", "notify.withheld")
    types = [e.type for e in events_of(tmp_path, rid)
             if e.type not in settled and e.data.get("reason") != "witness"]  # fmt: skip
    assert types == [
        "run.opened", "drill.called", "notify.requested", "step.done",
        "drill.inject", "input.set", "notify.requested",  # inject 2 fires after contain
        "step.done", "step.started", "notify.requested", "step.done", "step.done", "step.done",
        "run.closed", "drill.scored",
    ]  # fmt: skip


def test_the_drill_is_marked_in_the_record_and_its_scenario_recorded(tmp_path: Path) -> None:
    root = drill_ops(tmp_path, "monthly")
    done = cslir("drill", "run", "drills/monthly.yaml", "--auto", "--speed", "60",
                 env=drill_env(tmp_path, root), cwd=root)  # fmt: skip
    [opened] = events_of(tmp_path, run_id_from(done.stdout), "run.opened")
    assert opened.data["mode"] == "drill"
    assert opened.data["inputs"]["records"] == 50000
    assert opened.data["scenario"] == {"speed": 60.0}
    snapshot = opened.data["drill"]
    assert (snapshot["id"], snapshot["participants"], snapshot["path"]) == (
        "tabletop-monthly",
        ["ic-room"],
        "drills/monthly.yaml",
    )
    assert [i["at"] or i["after"] for i in snapshot["injects"]] == ["30m", "contain"]


def test_drill_pages_reach_the_drill_route_marked_and_real_on_call_is_not_paged(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(*[Reply(200)] * 20)
    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root, server)
    rid = run_id_from(cslir("drill", "run", "drills/monthly.yaml", "--auto", env=env,
                            cwd=root).stdout)  # fmt: skip
    flushed = cslir("notify", "flush", env=env, cwd=root)
    assert flushed.returncode == 0, flushed.stderr
    got = sorted((p for p in pages(server) if p[0] != "/audit-hook"), key=lambda p: p[1]["text"])
    assert [(path, d["drill"], d["title"].split(":")[0]) for path, d in got] == [
        (
            "/drill-room",
            True,
            "【演练】[DRILL] Drill 'Monthly tabletop' (tabletop-monthly) has started",
        ),
        ("/drill-room", True, "【演练】[DRILL] Inject 2 (after contain)"),
    ]
    assert all(d["text"].startswith("DRILL (演练): this is an exercise") for _, d in got)
    assert f"cslir join {rid} --role ROLE" in got[0][1]["text"]
    [withheld] = events_of(tmp_path, rid, "notify.withheld")
    assert withheld.data["route"] == "legal-pager"


def test_a_timed_inject_fires_when_the_facilitator_advances_scenario_time(tmp_path: Path) -> None:
    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root)
    answers = tmp_path / "answers.yaml"
    answers.write_text("steps: {contain: {outcome: done}}\n", encoding="utf-8")
    held = cslir("drill", "run", "drills/monthly.yaml", "--answers", str(answers), env=env,
                 cwd=root)  # fmt: skip
    rid = run_id_from(held.stdout)
    assert held.returncode == 2  # paused at assess: nobody answered it
    assert [e.data["inject"] for e in events_of(tmp_path, rid, "drill.inject")] == [2]

    moved = cslir("drill", "advance", rid, "45m", "--reason", "the call comes in", env=env,
                  cwd=root)  # fmt: skip
    lines = moved.stdout.splitlines()
    assert moved.returncode == 0, moved.stderr
    assert re.fullmatch(rf"{rid}: scenario time \+45m( \d+s)? \(.+\); wall clock \+\d+s", lines[0])
    assert lines[1:] == [
        "  drill.inject A journalist calls asking about ID numbers.",
        "  clock.warned cac-report",  # inject 2 made it apply at 1h: 15m are left
    ]
    [jump] = events_of(tmp_path, rid, "drill.advanced")
    assert dict(jump.data) == {"by": "45m", "seconds": 2700, "reason": "the call comes in"}
    status = cslir("status", rid, env=env, cwd=root).stdout.splitlines()
    assert re.fullmatch(r"scenario time \+45m( \d+s)? \(.+\); wall clock \+\d+s", status[1])


def test_an_injects_set_starts_a_clock_that_did_not_apply(tmp_path: Path) -> None:
    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root)
    answers = tmp_path / "answers.yaml"
    answers.write_text("steps: {contain: {outcome: skip, reason: later}}\n", encoding="utf-8")
    answers0 = tmp_path / "none.yaml"
    answers0.write_text("steps: {}\n", encoding="utf-8")
    rid = run_id_from(cslir("drill", "run", "drills/monthly.yaml", "--answers", str(answers0),
                            env=env, cwd=root).stdout)  # fmt: skip
    before = json.loads(cslir("status", rid, "--json", env=env, cwd=root).stdout)
    cslir("resume", rid, "--answers", str(answers), env=env, cwd=root)
    after = json.loads(cslir("status", rid, "--json", env=env, cwd=root).stdout)

    def clock(status: dict[str, object]) -> tuple[object, ...]:
        [c] = status["clocks"]  # type: ignore[misc]
        return c["state"], c["due"] is not None  # type: ignore[index]

    assert clock(before) == ("n/a", False)  # 50,000 records: the CAC clock does not apply
    assert clock(after) == ("running", True)  # the inject made it 1.5 M
    assert after["inputs"]["records"] == 1500000


def test_each_inject_is_recorded_once_however_many_processes_watch(tmp_path: Path) -> None:
    import subprocess
    import time
    from datetime import UTC, datetime, timedelta

    from runkit import cslir_argv

    from cslir.engine.events import parse_at

    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root)
    none = tmp_path / "none.yaml"
    none.write_text("steps: {}\n", encoding="utf-8")
    # at 900 times the wall clock, inject 1 (at 30m) falls due 2 s after the run opened: the
    # drill run has that long to pause at its first step without recording it, even loaded
    rid = run_id_from(cslir("drill", "run", "drills/monthly.yaml", "--answers", str(none),
                            "--speed", "900", env=env, cwd=root).stdout)  # fmt: skip
    [opened] = events_of(tmp_path, rid, "run.opened")
    due = parse_at(opened.at) + timedelta(minutes=36) / 900
    time.sleep(max((due - datetime.now(UTC)).total_seconds(), 0))  # inject 1 is due, unrecorded
    assert events_of(tmp_path, rid, "drill.inject") == []
    watchers = [
        subprocess.Popen(cslir_argv("status", rid), env=env, cwd=root,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(6)
    ]  # fmt: skip
    assert [p.wait(60) for p in watchers] == [0] * 6
    fired = events_of(tmp_path, rid, "drill.inject")
    assert [e.data["inject"] for e in fired] == [1]
    pages_for = Counter(e.data["reason"] for e in events_of(tmp_path, rid, "notify.requested"))
    del pages_for["witness"]  # the audit route witnesses the record's milestones
    assert pages_for == {"drill": 1, "inject": 1}


def test_injects_are_delivered_once_across_a_kill_and_a_resume(
    tmp_path: Path, server: LoopbackServer
) -> None:
    import os
    import signal
    import subprocess

    from drillkit import wait_until
    from runkit import cslir_argv, only_run

    # every page is answered: one to a dead endpoint fails once its retry budget is spent,
    # which may happen before or after resume ends, and a failed page makes resume exit 1
    server.script(*[Reply(200)] * 60)
    root = drill_ops(tmp_path, "paced-drill")
    env = drill_env(tmp_path, root, server)
    # 2 scenario hours of timer at 1800 times the wall clock: about four seconds. Inject 1
    # (at 30m) fires after one; the kill that follows has three more before the run would close
    held = subprocess.Popen(
        cslir_argv("drill", "run", "drills/paced-drill.yaml", "--auto", "--speed", "1800"),
        env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_until(lambda: len(_runs(tmp_path)) == 1)
    rid = only_run(tmp_path)
    wait_until(lambda: len(events_of(tmp_path, rid, "drill.inject")) >= 2)
    os.kill(held.pid, signal.SIGKILL)
    held.wait()
    assert events_of(tmp_path, rid, "run.closed") == []

    resumed = cslir("resume", rid, "--auto", env=env, cwd=root)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    numbers = [e.data["inject"] for e in events_of(tmp_path, rid, "drill.inject")]
    assert sorted(numbers) == [1, 2, 3]
    assert len(events_of(tmp_path, rid, "run.closed", "drill.scored")) == 2
    flushed = cslir("notify", "flush", env=env, cwd=root)  # what the killed process left
    assert flushed.returncode == 0, flushed.stdout + flushed.stderr
    # a page under way at the kill is sent again under the same idempotency key, never anew
    sent = {(r.headers["webhook-id"], json.loads(r.body)["data"]["title"])
            for r in server.requests if r.path == "/drill-room"}  # fmt: skip
    assert sorted(title.split(":")[0] for _, title in sent) == [
        "【演练】[DRILL] Drill 'Paced drill' (paced-drill) has started",
        "【演练】[DRILL] Inject 1 (at +30m)",
        "【演练】[DRILL] Inject 2 (after contain)",
        "【演练】[DRILL] Inject 3 (at +90m)",
    ]


def _runs(tmp_path: Path) -> list[object]:
    from runkit import store_path

    from cslir.store.sqlite import Store

    if not store_path(tmp_path).exists():
        return []
    with Store(store_path(tmp_path)) as store:
        return list(store.runs())


def test_objectives_are_rated_from_the_record_and_an_evaluator_overrides_them(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(*[Reply(200)] * 20)
    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root, server)
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "steps: {report: {outcome: skip, reason: the regulator line was busy}}\n", "utf-8"
    )
    held = cslir("drill", "run", "drills/monthly.yaml", "--auto", "--answers", str(answers),
                 env=env, cwd=root)  # fmt: skip
    rid = run_id_from(held.stdout)
    assert held.stdout.splitlines()[-3:] == [
        "objectives (scored; HSEEP P/S/M/U):",
        "  U report-fast: unable to be performed — step report was not done (skipped: the"
        " regulator line was busy)",
        "  S cac-clock: performed with some challenges — clock cac-report waived (its stopping"
        " step report was skipped)",
    ]
    rated = cslir("drill", "rate", rid, "cac-clock", "u", "--reason", "a CAC report is never "
                  "optional", "--as", "eve", env=env, cwd=root)  # fmt: skip
    assert (rated.returncode, rated.stdout) == (
        0,
        f"{rid}: cac-clock rated U (unable to be performed)\n",
    )
    [scored] = events_of(tmp_path, rid, "drill.scored")
    assert [(o["objective"], o["rating"]) for o in scored.data["objectives"]] == [
        ("report-fast", "U"),
        ("cac-clock", "S"),
    ]
    [override] = events_of(tmp_path, rid, "drill.rated")
    assert (override.actor, dict(override.data)) == (
        "eve",
        {"objective": "cac-clock", "rating": "U", "reason": "a CAC report is never optional"},
    )


def test_rating_an_unknown_objective_names_the_known_ones(tmp_path: Path) -> None:
    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root)
    rid = run_id_from(cslir("drill", "run", "drills/monthly.yaml", "--auto", env=env,
                            cwd=root).stdout)  # fmt: skip
    rated = cslir("drill", "rate", rid, "report-fats", "P", "--reason", "x", env=env, cwd=root)
    assert (rated.returncode, rated.stderr) == (1, (
        "cslir: error: the drill has no objective 'report-fats' (did you mean 'report-fast'?)"
        " (objectives: report-fast, cac-clock)\n"
    ))  # fmt: skip


def test_two_responders_join_a_drill_by_role_and_both_see_the_inject(tmp_path: Path) -> None:
    from test_walkthrough_pty import FILED_PROMPT, RECEIPT_PROMPT, TASK_PROMPT, Screen

    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root)
    none = tmp_path / "none.yaml"
    none.write_text("steps: {}\n", encoding="utf-8")
    rid = run_id_from(cslir("drill", "run", "drills/monthly.yaml", "--answers", str(none),
                            env=env, cwd=root).stdout)  # fmt: skip
    ic = Screen(["join", rid, "--role", "ic", "--as", "ivy"], env, root)
    legal = Screen(["join", rid, "--role", "legal", "--as", "leo"], env, root)
    legal.wait_for("waiting for: ")  # legal is following before contain is done
    ic.wait_for("▶ contain: contain")
    ic.answer(TASK_PROMPT, "d")
    inject = "▶▶ INJECT 2 (after contain): The leak is bigger than thought."
    legal.wait_for(inject)
    legal.wait_for("▶ assess: assess")
    legal.answer(TASK_PROMPT, "d")
    legal.wait_for("▶ report: report")
    legal.answer(TASK_PROMPT, "d")
    legal.answer(FILED_PROMPT, "")  # a report: when it was filed (now) and its receipt (none)
    legal.answer(RECEIPT_PROMPT, "")
    ic.wait_for("▶ close: close")
    ic.answer(TASK_PROMPT, "d")
    assert (ic.end(), legal.end()) == (0, 0)
    assert inject in ic.lines()
    actors = {e.data["step"]: e.actor for e in events_of(tmp_path, rid, "step.done")}
    del actors["page-legal"]  # a page goes out from whichever terminal sees it ready first
    assert actors == {"contain": "ivy", "assess": "leo", "report": "leo", "close": "ivy"}
    assert len(events_of(tmp_path, rid, "drill.scored")) == 1


def test_the_report_of_a_drill_run_is_an_hseep_after_action_report(tmp_path: Path) -> None:
    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root)
    first = run_id_from(cslir("drill", "run", "drills/monthly.yaml", "--auto", env=env,
                              cwd=root).stdout)  # fmt: skip
    skip = tmp_path / "skip.yaml"
    skip.write_text("steps: {report: {outcome: skip, reason: line busy}}\n", encoding="utf-8")
    rid = run_id_from(cslir("drill", "run", "drills/monthly.yaml", "--auto", "--answers",
                            str(skip), env=env, cwd=root).stdout)  # fmt: skip
    cslir("note", rid, "Legal knew the CAC form", "--strength", env=env, cwd=root)
    cslir("note", rid, "Nobody owned the regulator line", "--improve", env=env, cwd=root)
    cslir("drill", "rate", rid, "cac-clock", "U", "--reason", "no report was made", "--as", "eve",
          env=env, cwd=root)  # fmt: skip
    md = cslir("report", rid, env=env, cwd=root).stdout
    assert "## After-action report (HSEEP)" in md
    assert "| Participants called | ic-room |" in md
    assert (
        "| The CAC clock is met (cac-clock) | — | cac-report | — | U — unable to be performed"
        " (provisional rating S; rated by eve: no report was made) | clock cac-report waived"
        " (its stopping step report was skipped) |"
    ) in md
    assert "| 1 | at +30m | A journalist calls asking about ID numbers. | not reached | — |" in md
    assert "- Legal knew the CAC form (alice, " in md.split("### Strengths")[1]
    assert "- Nobody owned the regulator line (alice, " in md.split("### Areas for improvement")[1]
    comparison = md.split("### Compared with this drill's runs")[1].split("\n\n")[1]
    assert [line.split(" | ")[0] for line in comparison.splitlines()[2:]] == [
        f"| {first}",
        f"| {rid} (this run)",
    ]
    assert comparison.splitlines()[-1].endswith(" | U | U |")
    html = cslir("report", rid, "--format", "html", env=env, cwd=root).stdout
    assert html.count('<rect class="bar ') == 1  # only the first run measured report-fast
    data = json.loads(cslir("report", rid, "--format", "json", env=env, cwd=root).stdout)
    assert [h["ratings"] for h in data["drill"]["history"]] == [
        {"report-fast": "P", "cac-clock": "P"},
        {"report-fast": "U", "cac-clock": "U"},
    ]


def test_a_drill_whose_scenario_lacks_a_needed_input_says_which(tmp_path: Path) -> None:
    root = drill_ops(tmp_path, "monthly")
    path = root / "drills" / "monthly.yaml"
    path.write_text(path.read_text("utf-8").replace("inputs: {records: 50000}\n", ""), "utf-8")
    done = cslir("drill", "run", "drills/monthly.yaml", "--auto", env=drill_env(tmp_path, root),
                 cwd=root)  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "cslir: error: drills/monthly.yaml: the scenario does not give input(s) records that the"
        " playbook needs: add them under inputs:\n"
    )


REPO = Path(__file__).resolve().parents[1]


def test_every_shipped_playbook_is_rehearsed_by_a_drill_in_drills() -> None:
    from cslir.drills.catalog import Catalog

    catalog = Catalog(REPO)
    catalog.reload()
    assert catalog.broken == {}
    rehearsed = {Path(d.playbook.path).resolve() for d in catalog.drills()}
    shipped = {p.resolve() for p in (REPO / "playbooks").glob("*.yaml")}
    assert shipped - rehearsed == set()


def staging_on_loopback(tmp_path: Path, dns: str) -> list[str]:
    """The takedown drill probes its staging target: here a closed port and a resolver stub on
    127.0.0.1 (taken down, as the participants would), and no restore to prove."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    answers = tmp_path / "staging.yaml"
    answers.write_text(
        f"inputs: {{staging_url: 'http://127.0.0.1:{port}/', staging_host: 127.0.0.1, "
        f"site_port: {port}, dns_server: '{dns}'}}\n"
        "steps: {restore-allowed: {choice: 'false'}}\n",
        encoding="utf-8",
    )
    return ["--answers", str(answers)]


@pytest.mark.parametrize("drill", sorted(p.name for p in (REPO / "drills").glob("*.yaml")))
def test_each_shipped_drill_holds_to_its_end_unattended(tmp_path: Path, drill: str) -> None:
    from dnsstub import DnsStub

    # The run waits for its own pages before it exits (the default): with no secrets set, each
    # fails at its first attempt, so the verdict cannot depend on how busy the machine is.
    env = drill_env(tmp_path, REPO)
    with DnsStub({}) as dns:
        staging = staging_on_loopback(tmp_path, dns.address) if "takedown" in drill else []
        done = cslir("drill", "run", f"drills/{drill}", "--auto", *staging, env=env, cwd=REPO)
    # the repo's routes have no secrets here: its pages are not delivered, and it says so last
    assert done.stdout.splitlines()[-1].startswith("pages NOT delivered: "), done.stdout
    assert (done.returncode, done.stderr) == (1, "")
    rid = run_id_from(done.stdout)
    [scored] = events_of(tmp_path, rid, "drill.scored")
    assert scored.data["objectives"]


def held_in_process(tmp_path: Path, late: str | None, retried: bool) -> list[tuple[str, str]]:
    """Hold the monthly drill through the API with a clock that stands still but for the
    facilitator's jumps; the ratings recorded at its close."""
    from datetime import UTC, datetime

    from runkit import store_path

    from cslir.drills.holding import advance, attach, open_drill
    from cslir.drills.model import load_drill
    from cslir.engine import actions
    from cslir.runs.effects import RunSession
    from cslir.store.sqlite import Store

    root = drill_ops(tmp_path, "monthly")
    drill, playbook = load_drill(root / "drills" / "monthly.yaml", root)
    now = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    with Store(store_path(tmp_path)) as store:
        rid = open_drill(store, drill, playbook, actor="ann", now=now, timezone="Asia/Shanghai")
        session = attach(RunSession(store, rid, "ann", now=lambda: now))
        for step in ("contain", "assess"):
            session.record(lambda st, step=step: actions.done(st, step))
        session.notify_step("page-legal")
        if late:
            advance(session, late, "the report takes time")
        if retried:
            session.record(lambda st: actions.fail(st, "report", "portal down"))
            session.record(lambda st: actions.retry(st, "report"))
        for step in ("report", "close"):
            session.record(lambda st, step=step: actions.done(st, step))
        [scored] = [e for e in store.events(rid) if e.type == "drill.scored"]
    return [(o["objective"], o["rating"]) for o in scored.data["objectives"]]


@pytest.mark.parametrize(
    ("late", "retried", "ratings"),
    [
        (None, False, [("report-fast", "P"), ("cac-clock", "P")]),
        (None, True, [("report-fast", "S"), ("cac-clock", "P")]),  # done in time, second try
        ("90m", False, [("report-fast", "P"), ("cac-clock", "M")]),  # the 1h clock was missed
        ("3h", False, [("report-fast", "M"), ("cac-clock", "M")]),  # later than within: 2h
    ],
)
def test_provisional_ratings_follow_the_record_in_scenario_time(
    tmp_path: Path, late: str | None, retried: bool, ratings: list[tuple[str, str]]
) -> None:
    assert held_in_process(tmp_path, late, retried) == ratings
