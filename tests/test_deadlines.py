"""Clocks the outside world sets (due_at), reports owed to several recipients (stop: all), and
decision floors (a grading threshold proposes the least grade; lower needs a rationale)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from runkit import cslir, cslir_env, make_ops, only_run, stored_events
from test_engine import HOUR, MIN, T0, Log, playbook

from cslir.base.errors import ActionRefused
from cslir.engine import actions
from cslir.engine.clocks import due_alerts, view

NOTICE = """
cslir: 1
id: notice
title: Regulator notice
inputs:
  received_at: {type: datetime}
  response_due: {type: datetime}
clocks:
  response:
    from: received_at
    due_at: response_due
    warn: [1d]
    basis: the notice
steps:
  - {id: draft}
  - {id: submit, stops: response}
"""


def notice(due: datetime) -> Log:
    return Log(playbook(NOTICE), inputs={"received_at": "2026-03-02T01:00:00Z",
                                          "response_due": due.isoformat()})  # fmt: skip


def test_a_due_at_clock_falls_due_at_the_time_its_input_holds() -> None:
    due = T0 + timedelta(days=7)
    log = notice(due)
    v = view(log.state(), log.pb.clocks["response"], T0 + HOUR)
    assert (v.state, v.started_at, v.due_at, v.due_text) == ("running", T0, due, "at response_due")
    assert v.left == due - T0 - HOUR


def test_a_due_at_clock_warns_and_misses_like_any_other() -> None:
    due = T0 + timedelta(days=7)
    st = notice(due).state()
    assert due_alerts(st, due - timedelta(hours=23)) == [
        ("clock.warned", {"clock": "response", "due": "2026-03-09T01:00:00Z", "warn": "1d",
                          "covers": ["1d"]}),
    ]  # fmt: skip
    assert due_alerts(st, due + MIN) == [
        ("clock.missed", {"clock": "response", "due": "2026-03-09T01:00:00Z"})
    ]


def test_a_due_at_clock_is_met_when_its_step_finishes_in_time() -> None:
    log = notice(T0 + 2 * HOUR)
    log.act(lambda s: actions.done(s, "draft")).act(lambda s: actions.done(s, "submit"))
    assert view(log.state(), log.pb.clocks["response"], T0 + 3 * HOUR).state == "met"


def test_a_due_at_clock_without_its_deadline_has_not_started() -> None:
    log = Log(playbook(NOTICE), inputs={"received_at": "2026-03-02T01:00:00Z"})
    v = view(log.state(), log.pb.clocks["response"], T0)
    assert (v.state, v.due_at) == ("not-started", None)


RECIPIENTS = """
cslir: 1
id: recipients
title: Two recipients
clocks:
  first-report:
    from: start
    due: 1h
    stop: all
    basis: CAC Incident Reporting Measures Art 4
steps:
  - {id: protection, needs: [], stops: first-report}
  - {id: police, needs: [], stops: first-report}
  - {id: other, needs: [], stops: first-report, when: "false"}
"""


def test_stop_all_waits_for_every_recipient_and_is_met_by_the_last() -> None:
    log = Log(playbook(RECIPIENTS))
    clock = log.pb.clocks["first-report"]
    log.act(lambda s: actions.done(s, "protection"), at=T0 + 20 * MIN)
    assert view(log.state(), clock, T0 + 30 * MIN).state == "running"
    log.act(lambda s: actions.done(s, "police"), at=T0 + 70 * MIN)
    v = view(log.state(), clock, T0 + 2 * HOUR)
    assert (v.state, v.stopped_at, v.stopped_by) == ("missed", T0 + 70 * MIN, "police")


def test_stop_all_is_waived_only_when_every_report_was_skipped() -> None:
    log = Log(playbook(RECIPIENTS))
    clock = log.pb.clocks["first-report"]
    log.act(lambda s: actions.skip(s, "protection", "not CII after all"), at=T0 + 5 * MIN)
    log.act(lambda s: actions.done(s, "police"), at=T0 + 10 * MIN)
    assert view(log.state(), clock, T0 + HOUR).state == "met"
    log2 = Log(playbook(RECIPIENTS))
    log2.act(lambda s: actions.skip(s, "protection", "x")).act(
        lambda s: actions.skip(s, "police", "x")
    )
    assert view(log2.state(), clock, T0 + HOUR).state == "waived"


GRADING = """
cslir: 1
id: grading
title: Grading
inputs:
  records: {type: int, required: false}
  grade: {type: choice, choices: [general, relatively_major, major, particularly_major]}
steps:
  - id: grade
    kind: decision
    sets: grade
    floor:
      - {when: "records >= 1000000", choice: relatively_major, indicator: PI of 1 M people,
         basis: Grading guide, confidence: high}
      - {when: "records >= 10000000", choice: major, indicator: PI of 10 M people,
         basis: Grading guide, confidence: high}
"""


def test_a_grade_below_what_the_thresholds_propose_needs_a_rationale() -> None:
    log = Log(playbook(GRADING), inputs={"records": 1_200_000})
    with pytest.raises(ActionRefused) as refused:
        actions.decide(log.state(), "grade", "general")
    assert refused.value.message == (
        "'general' is below relatively_major, the least that the facts propose (PI of 1 M "
        "people); choosing lower needs a rationale, which the record keeps"
    )
    ((_, data),) = actions.decide(log.state(), "grade", "general", "records were test data")
    assert data["floor"] == {"minimum": "relatively_major", "indicators": ["PI of 1 M people"],
                             "basis": ["Grading guide"], "below": True}  # fmt: skip


def test_the_highest_threshold_met_sets_the_minimum_and_each_indicator_is_recorded() -> None:
    log = Log(playbook(GRADING), inputs={"records": 12_000_000})
    ((_, data),) = actions.decide(log.state(), "grade", "major")
    assert data["floor"]["minimum"] == "major"
    assert data["floor"]["indicators"] == ["PI of 1 M people", "PI of 10 M people"]
    assert data["floor"]["below"] is False


def test_no_threshold_is_met_when_the_count_is_unknown() -> None:
    ((_, data),) = actions.decide(Log(playbook(GRADING)).state(), "grade", "general")
    assert "floor" not in data


def test_auto_never_grades_below_the_floor(tmp_path: Path) -> None:
    root = make_ops(tmp_path)
    (root / "playbooks" / "grading.yaml").write_text(GRADING, encoding="utf-8")
    env = cslir_env(tmp_path, root)
    done = cslir("run", "playbooks/grading.yaml", "--auto", "--var", "records=1500000",
                 env=env, cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    decided = [e for e in stored_events(tmp_path, only_run(tmp_path)) if e.type == "decision.made"]
    assert decided[0].data["value"] == "relatively_major"


def test_a_stated_deadline_may_lie_ahead_but_other_times_may_not(tmp_path: Path) -> None:
    root = make_ops(tmp_path)
    text = NOTICE + "  - {id: noted, needs: [], stops: response}\n"
    (root / "playbooks" / "notice.yaml").write_text(text, encoding="utf-8")
    env = cslir_env(tmp_path, root)
    ahead = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M+00:00")
    future = cslir("run", "playbooks/notice.yaml", "--auto", "--var", f"received_at={ahead}",
                   "--var", f"response_due={ahead}", env=env, cwd=root)  # fmt: skip
    assert future.returncode == 2
    assert future.stderr == f"cslir: error: --var received_at: '{ahead}' lies in the future\n"
    done = cslir("run", "playbooks/notice.yaml", "--auto", "--var", "received_at=1h ago",
                 "--var", f"response_due={ahead}", env=env, cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
