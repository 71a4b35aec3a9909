"""Runs without a terminal: ``--answers FILE``, ``--auto``, and the errors that name the flag to
use when an answer is needed and stdin is not a terminal. (What automation may not do in a
person's stead is in test_no_stand_ins.py.)"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import LoopbackServer, Reply, loopback_server
from runkit import cslir, cslir_env, make_ops, only_run, outcomes, store_path, stored_events

from cslir.store.sqlite import RunRow, Store

ANSWERS = """\
inputs: {system: crm, records: 1200000}
steps:
  contain: {outcome: done, note: keys revoked at 03:10}
  grade: {choice: major, rationale: 1.2 M records}
  sign-off: {approved_by: li.legal, rationale: notice text checked}
  receipt: {evidence: {text: "receipt 12387-991"}}
  archive: {outcome: skip, reason: no logs to archive}
  tell: {}
  cool-off: {outcome: done, reason: no need to wait in this exercise}
"""
RESPONDERS = "responders:\n  li.legal: {roles: [legal]}\n"


def runs(tmp_path: Path) -> list[RunRow]:
    with Store(store_path(tmp_path)) as store:
        return store.runs()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


def test_an_answers_file_finishes_the_run_end_to_end(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(Reply(200))
    root = make_ops(tmp_path, "walk", settings=RESPONDERS)
    (root / "answers.yaml").write_text(ANSWERS, encoding="utf-8")
    env = cslir_env(tmp_path, root, hook=server.url + "/hook")
    done = cslir("run", "playbooks/walk.yaml", "--answers", "answers.yaml", env=env, cwd=root)
    rid = only_run(tmp_path)
    assert (done.returncode, done.stdout) == (0, "\n".join([
        f"run {rid} started; another terminal can follow it: cslir status {rid}",
        "  contain: done",
        "  grade: done",
        "  sign-off: done",
        "  receipt: done",
        "  archive: skipped: no logs to archive",
        "  tell: done",
        "  cool-off: done",
        f"run {rid} closed",
        "",
    ]))  # fmt: skip
    events = stored_events(tmp_path, rid)
    assert events[0].data["inputs"]["system"] == "crm"
    assert events[0].data["inputs"]["records"] == 1200000
    by_type = {e.type: e for e in events}
    decision = {"step": "grade", "input": "grade", "value": "major", "rationale": "1.2 M records"}
    assert dict(by_type["decision.made"].data) == decision
    assert by_type["approval.granted"].actor == "li.legal"
    assert by_type["approval.granted"].data["recorded_by"] == "alice"  # who entered it
    assert by_type["note.added"].data["text"] == "keys revoked at 03:10"
    assert by_type["evidence.added"].data["sha256"] == (
        hashlib.sha256(b"receipt 12387-991").hexdigest()
    )
    assert by_type["step.skipped"].data["reason"] == "no logs to archive"
    assert outcomes(events) == {"contain": 1, "receipt": 1, "tell": 1, "cool-off": 1}
    assert "run.closed" in by_type


def test_auto_finishes_every_step_of_a_drill_with_defaults(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(Reply(200))
    root = make_ops(tmp_path, "walk")
    env = cslir_env(tmp_path, root, hook=server.url + "/hook")
    argv = ["run", "playbooks/walk.yaml", "--auto", "--drill", "--var", "system=crm",
            "--var", "records=5"]  # fmt: skip
    done = cslir(*argv, env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    rid = only_run(tmp_path)
    events = stored_events(tmp_path, rid)
    assert outcomes(events) == {"contain": 1, "receipt": 1, "archive": 1, "tell": 1, "cool-off": 1}
    decided = [e.data["value"] for e in events if e.type == "decision.made"]
    assert decided == ["general"]  # the first choice when the step names no default
    cooled = next(e for e in events if e.type == "step.done" and e.data["step"] == "cool-off")
    assert (cooled.actor, cooled.data["reason"]) == ("cslir", "timer ended")
    assert done.stdout.splitlines()[-1] == f"run {rid} closed"


BROKEN = [
    ("input: {system: crm}\n",
     "answers.yaml:1:1: error: unknown key 'input' (did you mean 'inputs'?); an answers file "
     "has inputs: and steps:"),
    ("steps:\n  contain: done\n",
     "answers.yaml:2:12: error: answer for step 'contain' must be a mapping such as "
     "{outcome: done}"),
    ("steps:\n  contian: {outcome: done}\n",
     "answers.yaml:2:3: error: the playbook has no step 'contian' (did you mean 'contain'?)"),
    ("steps:\n  contain: {outcom: done}\n",
     "answers.yaml:2:13: error: unknown answer key 'outcom' (did you mean 'outcome'?)"),
    ("steps:\n  contain: {outcome: finished}\n",
     "answers.yaml:2:22: error: outcome must be done, skip or fail"),
    ("steps:\n  grade: {choice: huge}\n",
     "answers.yaml:2:19: error: 'huge' is not a choice of 'grade': general, major"),
    ("inputs: {records: lots}\n",
     "answers.yaml:1:19: error: input 'records': 'lots' is not a whole number"),
    ("steps: [contain, grade]\n",
     "answers.yaml:1:8: error: steps: must map step ids to answers such as {outcome: done}"),
    ("steps:\n  receipt: {evidence: {file: nope.pdf}}\n",
     "answers.yaml:2:30: error: no such file: nope.pdf"),
    ("steps:\n  contain: {outcome: done\n",
     "answers.yaml:3:1: error: invalid YAML: did not find expected ',' or '}' (while parsing a "
     "flow mapping that starts at line 2)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "error"), BROKEN, ids=[e.split(": error: ")[1] for _, e in BROKEN]
)
def test_a_malformed_answers_file_is_refused_with_located_errors(
    tmp_path: Path, text: str, error: str
) -> None:
    root = make_ops(tmp_path, "walk")
    (root / "answers.yaml").write_text(text, encoding="utf-8")
    env = cslir_env(tmp_path, root)
    done = cslir("run", "playbooks/walk.yaml", "--answers", "answers.yaml", env=env, cwd=root)
    assert (done.returncode, done.stdout) == (1, "")  # refused before any run was opened
    assert error in done.stderr.splitlines(), done.stderr


def test_every_problem_in_an_answers_file_is_reported_at_once(tmp_path: Path) -> None:
    root = make_ops(tmp_path, "walk")
    (root / "answers.yaml").write_text(
        "inputs: {records: lots}\nsteps:\n  contain: {outcome: finished}\n", encoding="utf-8"
    )
    done = cslir("run", "playbooks/walk.yaml", "--answers", "answers.yaml",
                 env=cslir_env(tmp_path, root), cwd=root)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "\n".join([
        "cslir: error: answers.yaml has 2 error(s); fix them first:",
        "answers.yaml:1:19: error: input 'records': 'lots' is not a whole number",
        "answers.yaml:3:22: error: outcome must be done, skip or fail",
        "",
    ]))  # fmt: skip


def test_without_a_terminal_or_flags_the_run_is_refused_naming_the_flags(tmp_path: Path) -> None:
    root = make_ops(tmp_path, "walk")
    done = cslir("run", "playbooks/walk.yaml", env=cslir_env(tmp_path, root), cwd=root)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", "cslir: error: stdin is not a terminal, so nobody can answer the walkthrough: "
        "pass --answers FILE or --auto\n")  # fmt: skip
    assert runs(tmp_path) == []


def test_an_input_without_a_value_names_var_and_answers(tmp_path: Path) -> None:
    root = make_ops(tmp_path, "walk")
    (root / "answers.yaml").write_text("steps: {}\n", encoding="utf-8")
    done = cslir("run", "playbooks/walk.yaml", "--answers", "answers.yaml",
                 env=cslir_env(tmp_path, root), cwd=root)  # fmt: skip
    assert (done.returncode, done.stderr) == (
        2, "cslir: error: input 'system' needs a value and stdin is not a terminal: pass "
        "--var system=VALUE or put it under inputs: in --answers FILE\n")  # fmt: skip


def test_a_step_without_an_answer_pauses_the_run_and_names_the_flags(tmp_path: Path) -> None:
    root = make_ops(tmp_path, "walk")
    (root / "answers.yaml").write_text(
        "inputs: {system: crm, records: 3}\nsteps:\n  contain: {}\n", encoding="utf-8"
    )
    env = cslir_env(tmp_path, root)
    done = cslir("run", "playbooks/walk.yaml", "--answers", "answers.yaml", env=env, cwd=root)
    rid = only_run(tmp_path)
    assert (done.returncode, done.stderr) == (2, (
        "cslir: error: step 'grade' needs an answer and stdin is not a terminal: add it under "
        f"steps: in --answers FILE, or use --auto (run {rid} is paused; cslir resume {rid} "
        "continues it)\n"))  # fmt: skip
    assert stored_events(tmp_path, rid)[-1].type == "run.paused"
    resumed = cslir("resume", rid[:12], "--auto", env=env, cwd=root)
    assert resumed.returncode == 1, resumed.stderr  # the sign-off waits for the legal role
    assert resumed.stdout.splitlines()[-3:-1] == [
        f"run {rid} waits on people (automation gives no approval and no evidence in a live run):",
        f"  sign-off: approval by the legal role: cslir approve {rid} sign-off --as NAME",
    ]
    assert "run.paused" not in [e.type for e in stored_events(tmp_path, rid)][-3:]


def test_auto_keeps_a_decision_whose_input_was_given_as_the_scenario(tmp_path: Path) -> None:
    root = make_ops(tmp_path, "asks")
    given = ["--var", "detected_at=1h ago", "--var", "records=1", "--var", "operator=cii",
             "--var", "pi=no", "--var", "grade=major"]  # fmt: skip
    done = cslir("run", "playbooks/asks.yaml", "--auto", *given, env=cslir_env(tmp_path, root),
                 cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = stored_events(tmp_path, only_run(tmp_path))
    assert [e.data["value"] for e in events if e.type == "decision.made"] == ["major"]
