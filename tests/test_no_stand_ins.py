"""Automation never stands in for a person in a live run, and what it does is marked as its own.

``--auto`` and ``--answers`` give no approval in a live run but one cslir.yaml's ``responders:``
vouches for (never the requester, names compared without case), and finish no step that needs
evidence without evidence: they leave both for people and end saying which command does each.
In a drill automation may stand in, recorded and reported as automated. Placeholder "evidence"
that older versions recorded never counts in the mitigation file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import LoopbackServer, Reply, loopback_server
from runkit import cslir, cslir_env, make_ops, only_run, outcomes, stored_events

RESPONDERS = "responders:\n  Li.Legal: {roles: [legal]}\n  carol: {roles: [ic]}\n"
VARS = ["--var", "system=crm", "--var", "records=5"]


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    for server in loopback_server():
        server.script(Reply(200))  # the walk pages once, at its notify step
        yield server


def waits_on_people(rid: str, *lines: str) -> list[str]:
    return [
        f"run {rid} waits on people (automation gives no approval and no evidence in a live run):",
        *lines,
        f"then the rest: cslir resume {rid} --auto",
    ]


def test_auto_in_a_live_run_leaves_the_approval_and_the_evidence_to_people(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = make_ops(tmp_path, "walk", settings=RESPONDERS)
    env = cslir_env(tmp_path, root, hook=server.url + "/hook")
    first = cslir("run", "playbooks/walk.yaml", "--auto", *VARS, env=env, cwd=root)
    rid = only_run(tmp_path)
    assert first.returncode == 1, first.stderr
    assert first.stdout.splitlines()[1:] == [
        "  contain: done",
        "  grade: done",
        *waits_on_people(rid, f"  sign-off: approval by the legal role: cslir approve {rid}"
                              " sign-off --as NAME"),
    ]  # fmt: skip
    events = stored_events(tmp_path, rid)
    assert "approval.granted" not in [e.type for e in events]
    assert [e.data for e in events if e.type == "step.done"] == [
        {"step": "contain", "automated": True}  # finished by --auto, and marked so
    ]
    assert [e.data.get("automated") for e in events if e.type == "decision.made"] == [True]

    approved = cslir("approve", rid, "sign-off", "--as", "li.legal", env=env, cwd=root)
    assert (approved.returncode, approved.stdout) == (0, f"{rid}: sign-off approved by li.legal\n")
    second = cslir("resume", rid, "--auto", env=env, cwd=root)
    assert second.returncode == 1, second.stderr
    assert second.stdout.splitlines() == waits_on_people(
        rid, f"  receipt: needs evidence: cslir evidence {rid} FILE --step receipt, then"
             f" cslir step {rid} receipt --done"
    )  # fmt: skip
    assert "receipt" not in outcomes(stored_events(tmp_path, rid))
    assert not [e for e in stored_events(tmp_path, rid) if e.type == "evidence.added"]

    (root / "receipt.pdf").write_bytes(b"%PDF receipt 12387-991")
    added = cslir("evidence", rid, "receipt.pdf", "--step", "receipt", env=env, cwd=root)
    assert added.returncode == 0, added.stderr
    done = cslir("step", rid, "receipt", "--done", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    last = cslir("resume", rid, "--auto", env=env, cwd=root)
    assert (last.returncode, last.stdout.splitlines()[-1]) == (0, f"run {rid} closed")


@pytest.mark.parametrize(
    ("who", "refused"),
    [("ALICE", "ALICE requested this approval and cannot approve it; someone holding the legal"
               " role must"),
     ("carol", "carol does not hold the legal role"),
     ("bob", "bob is not named under responders: in cslir.yaml, so nothing shows that they hold"
             " the legal role; a live run's approval needs someone listed with it"
             " (e.g. bob: {roles: [legal]})")],
)  # fmt: skip
def test_cslir_approve_takes_only_a_person_holding_the_role_who_did_not_ask(
    tmp_path: Path, server: LoopbackServer, who: str, refused: str
) -> None:
    root = make_ops(tmp_path, "walk", settings=RESPONDERS)
    env = cslir_env(tmp_path, root, hook=server.url + "/hook")  # alice runs it
    cslir("run", "playbooks/walk.yaml", "--auto", *VARS, env=env, cwd=root)
    rid = only_run(tmp_path)
    done = cslir("approve", rid, "sign-off", "--as", who, env=env, cwd=root)
    assert (done.returncode, done.stderr) == (1, f"cslir: error: {refused}\n")
    assert "approval.granted" not in [e.type for e in stored_events(tmp_path, rid)]


def test_auto_in_a_drill_stands_in_for_people_and_the_record_says_so(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = make_ops(tmp_path, "walk")
    env = cslir_env(tmp_path, root, hook=server.url + "/hook")
    done = cslir("run", "playbooks/walk.yaml", "--auto", "--drill", *VARS, env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    rid = only_run(tmp_path)
    events = stored_events(tmp_path, rid)
    [granted] = [e for e in events if e.type == "approval.granted"]
    assert (granted.actor, granted.data) == ("cslir --auto", {
        "step": "sign-off", "role": "legal", "rationale": "approved by automation in a drill",
        "automated": True})  # fmt: skip
    [receipt] = [e for e in events if e.type == "step.done" and e.data["step"] == "receipt"]
    why = "finished by automation in a drill without evidence"
    assert receipt.data == {"step": "receipt", "automated": True, "reason": why}
    assert not [e for e in events if e.type == "evidence.added"]  # nothing made up

    report = json.loads(cslir("report", rid, "--format", "json", env=env, cwd=root).stdout)
    steps = {s["id"]: s for s in report["steps"]}
    assert (steps["receipt"]["automated"], steps["receipt"]["evidence"]) == (True, 0)
    assert steps["contain"]["automated"] is True
    [approval] = report["approvals"]
    assert (approval["granted_by"], approval["automated"]) == ("cslir --auto", True)
    md = cslir("report", rid, env=env, cwd=root).stdout
    assert "| done (automated) |" in md
    assert "| cslir --auto (automated), " in md


ANSWERED = """\
inputs: {system: crm, records: 5}
steps:
  contain: {outcome: done}
  grade: {choice: major}
  sign-off: {approved_by: LI.LEGAL, rationale: notice text checked}
  receipt: {outcome: done}
"""


def test_answers_in_a_live_run_record_who_entered_an_approval_and_leave_evidence_to_people(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root = make_ops(tmp_path, "walk", settings=RESPONDERS)
    (root / "answers.yaml").write_text(ANSWERED, encoding="utf-8")
    env = cslir_env(tmp_path, root, hook=server.url + "/hook")
    done = cslir("run", "playbooks/walk.yaml", "--answers", "answers.yaml", env=env, cwd=root)
    rid = only_run(tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-4:] == [
        "  sign-off: done",
        *waits_on_people(rid, f"  receipt: needs evidence: cslir evidence {rid} FILE --step"
                              f" receipt, then cslir step {rid} receipt --done"),
    ]  # fmt: skip
    events = stored_events(tmp_path, rid)
    [granted] = [e for e in events if e.type == "approval.granted"]
    assert (granted.actor, granted.data["recorded_by"]) == ("LI.LEGAL", "alice")
    assert [e.data for e in events if e.type == "step.done"] == [{"step": "contain"}]
    md = cslir("report", rid, env=env, cwd=root).stdout
    assert "| LI.LEGAL (entered by alice), " in md


@pytest.mark.parametrize(
    ("answer", "error"),
    [("sign-off: {approved_by: Alice}",
      "answers.yaml:2:27: error: Alice requested this approval and cannot approve it; someone"
      " holding the legal role must"),
     ("sign-off: {approved_by: carol}",
      "answers.yaml:2:27: error: carol does not hold the legal role"),
     ("sign-off: {approved_by: auto-approver}",
      "answers.yaml:2:27: error: auto-approver is not named under responders: in cslir.yaml, so"
      " nothing shows that they hold the legal role; a live run's approval needs someone listed"
      " with it (e.g. auto-approver: {roles: [legal]})"),
     ("contain: {approved_by: li.legal}",
      "answers.yaml:2:26: error: approved_by answers an approval step; 'contain' is a task"
      " step"),
     ("sign-off: {approved_by: [li.legal]}",
      "answers.yaml:2:27: error: approved_by must name the person who approved")],
)  # fmt: skip
def test_an_answers_files_approver_is_checked_as_cslir_approve_checks_one(
    tmp_path: Path, answer: str, error: str
) -> None:
    root = make_ops(tmp_path, "walk", settings=RESPONDERS)
    (root / "answers.yaml").write_text(f"steps:\n  {answer}\n", encoding="utf-8")
    env = cslir_env(tmp_path, root)
    done = cslir("run", "playbooks/walk.yaml", "--answers", "answers.yaml", *VARS, env=env,
                 cwd=root)  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")  # refused before any run was opened
    assert error in done.stderr.splitlines(), done.stderr


def test_placeholder_evidence_an_older_cslir_recorded_never_counts(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from cslir.engine import actions
    from cslir.opsrepo.validate import load_playbook
    from cslir.report.model import build_report
    from cslir.report.sections import materialize
    from cslir.runs.effects import RunSession
    from cslir.runs.session import open_run
    from cslir.store.sqlite import Store

    root = make_ops(tmp_path, "walk")
    store = Store(tmp_path / "cslir.db")
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    pb = load_playbook(root / "playbooks" / "walk.yaml", root)
    inputs = {"detected_at": "2026-03-02T00:30:00Z", "system": "crm", "records": 5,
              "grade": "major"}  # fmt: skip
    open_run(store, pb, inputs, actor="alice", now=now, run_id="r", timezone="UTC")
    s = RunSession(store, "r", "alice", now=lambda: now)
    s.record(lambda st: actions.done(st, "contain"))
    s.record(lambda st: actions.decide(st, "grade", "major"))
    s.record(lambda st: actions.skip(st, "sign-off", "not needed here"))
    placeholder = ("no evidence was supplied: the step was finished non-interactively"
                   " (--auto/--answers)")  # fmt: skip
    s.add_evidence(text=placeholder, step_id="receipt")  # as cslir 0.x's --auto did
    s.record(lambda st: actions.done(st, "receipt"))
    report = materialize(build_report(lambda: store.iter_events("r")))
    [cac] = report["leniency"]["reports"]
    assert (cac["step"], cac["evidence"]) == ("receipt", 0)
    assert {x["id"]: x["evidence"] for x in report["steps"]}["receipt"] == 0
