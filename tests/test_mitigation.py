"""The mitigation file reads ``purpose:`` labels, claims only what was done, lists every report
and dealing with the authorities, counts earlier drills as preparedness, and flags a grade below
what the thresholds propose."""

from __future__ import annotations

import json
from pathlib import Path

from runkit import cslir, cslir_env, make_ops, stored_events

PLAYBOOK = """\
cslir: 1
id: mitigation
title: Mitigation fixture
inputs:
  crime: {type: bool}
  records: {type: int, required: false}
  grade: {type: choice, choices: [general, relatively_major, major]}
clocks:
  first-report: {from: start, due: 4h, basis: CAC Incident Reporting Measures Art 4,
                 recipient: Provincial CAC office}
steps:
  - {id: contain, title: Contain, needs: [], purpose: containment}
  - {id: block, title: Block the attacker, needs: [], purpose: containment}
  - {id: hold, title: Legal hold, needs: [], purpose: evidence}
  - id: grade
    kind: decision
    sets: grade
    needs: []
    purpose: report
    floor:
      - {when: "records >= 1000000", choice: relatively_major, indicator: PI of 1 M people}
  - {id: police, kind: decision, sets: crime, needs: [], purpose: cooperation,
     title: Decide on a police report}
  - {id: police-report, title: Report to the police, needs: [police], when: crime,
     purpose: report}
  - {id: report, title: First report, needs: [grade], purpose: report, stops: first-report}
  - {id: answer, title: Answer the inquiry, needs: [], purpose: cooperation}
"""


def ops(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = make_ops(tmp_path)
    (root / "playbooks" / "mitigation.yaml").write_text(PLAYBOOK, encoding="utf-8")
    return root, cslir_env(tmp_path, root)


def run(root: Path, env: dict[str, str], answers: str, *flags: str) -> str:
    (root / "answers.yaml").write_text(answers, encoding="utf-8")
    done = cslir("run", "playbooks/mitigation.yaml", "--answers", "answers.yaml", *flags,
                 env=env, cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()[-1].split()[1]  # "run ID closed"


ANSWERS = """\
inputs: {records: 1200000}
steps:
  contain: {}
  block: {}
  hold: {outcome: skip, reason: no time}
  grade: {choice: general, rationale: the records were synthetic test data}
  police: {choice: "false", rationale: no sign of a crime}
  report: {}
  answer: {}
"""


def report_json(root: Path, env: dict[str, str], rid: str) -> dict:  # type: ignore[type-arg]
    done = cslir("report", rid, "--format", "json", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_only_done_steps_are_claimed_and_a_decision_not_to_report_is_no_cooperation(
    tmp_path: Path,
) -> None:
    root, env = ops(tmp_path)
    skipped = "  block: {outcome: skip, reason: the firewall API was down}\n"
    answers = ANSWERS.replace("  block: {}\n", skipped)
    rid = run(root, env, answers)
    lenient = report_json(root, env, rid)["leniency"]
    assert [x["step"] for x in lenient["measures"]] == ["contain"]  # not the skipped block
    assert [x["step"] for x in lenient["cooperation"]] == ["answer"]  # not the police decision
    assert lenient["evidence"] == []  # the legal hold was skipped
    assert [(x["step"], x["status"]) for x in lenient["reports"]] == [("report", "done")]
    assert [x["step"] for x in lenient["plan"]["skipped"]] == ["block", "hold"]


def test_dealings_logged_with_the_regulator_are_structured_and_reported(tmp_path: Path) -> None:
    root, env = ops(tmp_path)
    answers = ANSWERS.replace("  block: {}\n", "")
    (root / "answers.yaml").write_text(answers, encoding="utf-8")
    paused = cslir("run", "playbooks/mitigation.yaml", "--answers", "answers.yaml", env=env,
                   cwd=root)  # fmt: skip
    assert paused.returncode == 2  # 'block' has no answer
    rid = json.loads(cslir("runs", "--json", env=env, cwd=root).stdout)[0]["id"]
    asked = cslir("regulator", rid, "request", "Supplementary report by 18:00",
                  "--authority", "Shanghai CAC", "--due", "2026-03-02T18:00+08:00",
                  "--ref", "沪网信 17", env=env, cwd=root)  # fmt: skip
    seq = len(stored_events(tmp_path, rid))
    assert (asked.returncode, asked.stdout) == (0, f"{rid}: request (in) recorded as event {seq}\n")
    told = cslir("regulator", rid, "report", "Supplementary report sent", "--authority",
                 "Shanghai CAC", "--ref", "12387-55", env=env, cwd=root)  # fmt: skip
    assert told.returncode == 0, told.stderr
    bad = cslir("regulator", rid, "gossip", "x", "--authority", "CAC", env=env, cwd=root)
    assert bad.returncode == 2
    event = next(e for e in stored_events(tmp_path, rid) if e.type == "regulator.dealing")
    assert event.data == {"kind": "request", "direction": "in", "authority": "Shanghai CAC",
                          "summary": "Supplementary report by 18:00",
                          "due": "2026-03-02T10:00:00Z", "ref": "沪网信 17"}  # fmt: skip
    report = report_json(root, env, rid)
    logged = [(d["kind"], d["direction"], d["due"]) for d in report["dealings"]
              if d["source"] == "logged"]  # fmt: skip
    assert logged == [("request", "in", "2026-03-02T10:00:00.000000Z"), ("report", "out", None)]
    reports = [x["title"] for x in report["leniency"]["reports"]]
    assert reports[-1] == "Supplementary report sent"


def test_earlier_drills_of_the_playbook_are_evidence_of_preparedness(tmp_path: Path) -> None:
    root, env = ops(tmp_path)
    answers = ANSWERS
    drill = run(root, env, answers, "--drill")
    live = run(root, env, answers)
    prepared = report_json(root, env, live)["leniency"]["preparedness"]
    assert [d["run"] for d in prepared] == [drill]
    assert report_json(root, env, drill)["leniency"]["preparedness"] == []


def test_a_grade_below_the_thresholds_is_flagged_with_its_indicator(tmp_path: Path) -> None:
    root, env = ops(tmp_path)
    answers = ANSWERS
    rid = run(root, env, answers)
    report = report_json(root, env, rid)
    assert report["flags"] == [{
        "step": "grade", "title": "grade", "value": "general", "minimum": "relatively_major",
        "indicators": ["PI of 1 M people"], "rationale": "the records were synthetic test data",
        "when": "at", "at": report["flags"][0]["at"],
    }]  # fmt: skip
    decided = next(d for d in report["decisions"] if d["step"] == "grade")
    assert decided["floor"] == {"minimum": "relatively_major",
                                "indicators": ["PI of 1 M people"], "below": True}  # fmt: skip
    md = cslir("report", rid, env=env, cwd=root).stdout
    assert "## Needs attention" in md
    assert "grade: general was chosen below relatively_major, the least the grading" in md


def test_facts_recorded_after_grading_that_raise_the_minimum_are_flagged(tmp_path: Path) -> None:
    root, env = ops(tmp_path)
    answers = ANSWERS
    answers = answers.replace("inputs: {records: 1200000}", "inputs: {records: 300000}")
    rid = run(root, env, answers)
    from cslir.engine.events import NewEvent
    from cslir.store.sqlite import Store

    with Store(tmp_path / "store" / "cslir.db") as store:  # a later count, as an inject sets it
        events = store.events(rid)
        new = NewEvent("alice", "input.set", {"name": "records", "value": 1500000,
                                             "source": "inject"}, events[-1].at)  # fmt: skip
        store.append_many(rid, [new], expect_seq=events[-1].seq + 1)
    (flag,) = report_json(root, env, rid)["flags"]
    assert (flag["when"], flag["minimum"], flag["value"]) == (
        "since",
        "relatively_major",
        "general",
    )
