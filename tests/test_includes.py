"""Steps shared between playbooks: included where ``- include: FILE`` stands, kept inside the
ops repo, their problems located in the step file, and frozen into each run's record."""

from __future__ import annotations

import hashlib
from pathlib import Path

from runkit import cslir, cslir_env, make_ops, only_run, stored_events

SHARED = """\
cslir: 1
title: Open the incident
steps:
  - id: open
    title: Open the incident
    owner: ic
    purpose: evidence
  - id: page
    kind: notify
    needs: []
    route: legal-oncall
    message: "Incident {{ run.id }} is open on {{ system }}."
"""
PLAYBOOK = """\
cslir: 1
id: {id}
title: Includes
roles: {{ic: Incident commander}}
inputs:
  system: {{type: string, default: crm}}
steps:
  - include: shared/open.yaml
  - id: contain
    needs: [open]
"""


def ops(tmp_path: Path, *ids: str) -> Path:
    root = make_ops(tmp_path)
    (root / "playbooks" / "shared").mkdir()
    (root / "playbooks" / "shared" / "open.yaml").write_text(SHARED, encoding="utf-8")
    for pid in ids or ("inc",):
        (root / "playbooks" / f"{pid}.yaml").write_text(PLAYBOOK.format(id=pid), "utf-8")
    return root


def test_included_steps_run_in_place_and_the_run_records_their_text(tmp_path: Path) -> None:
    root = ops(tmp_path)
    env = cslir_env(tmp_path, root)
    done = cslir("run", "playbooks/inc.yaml", "--auto", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    events = stored_events(tmp_path, only_run(tmp_path))
    snapshot = events[0].data["playbook"]
    assert snapshot["includes"] == {
        "shared/open.yaml": {
            "sha256": hashlib.sha256(SHARED.encode()).hexdigest(),
            "text": SHARED,
        }
    }
    finished = [e.data["step"] for e in events if e.type == "step.done"]
    assert sorted(finished) == ["contain", "open", "page"]


def test_a_run_never_reads_its_step_files_again(tmp_path: Path) -> None:
    root = ops(tmp_path)
    env = cslir_env(tmp_path, root)
    answers = root / "answers.yaml"
    answers.write_text("steps: {open: {}}\n", encoding="utf-8")
    paused = cslir("run", "playbooks/inc.yaml", "--answers", "answers.yaml", env=env, cwd=root)
    assert paused.returncode == 2  # 'contain' has no answer
    rid = only_run(tmp_path)
    shared = root / "playbooks" / "shared" / "open.yaml"
    shared.write_text(SHARED.replace("id: open", "id: opened"), encoding="utf-8")
    resumed = cslir("resume", rid, "--auto", env=env, cwd=root)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[0] == (
        "note: playbooks/shared/open.yaml has changed since this run started; the run keeps "
        "the playbook it started with"
    )
    shared.unlink()
    report = cslir("report", rid, "--format", "json", env=env, cwd=root)
    verify = cslir("verify", rid, env=env, cwd=root)
    assert (report.returncode, verify.returncode) == (0, 0), report.stderr + verify.stderr
    assert '"id": "open"' in report.stdout


def test_a_problem_in_an_included_step_points_at_the_step_file(tmp_path: Path) -> None:
    root = ops(tmp_path)
    text = (root / "playbooks" / "inc.yaml").read_text(encoding="utf-8")
    (root / "playbooks" / "inc.yaml").write_text(text.replace("ic: Incident", "lead: Incident"))
    env = cslir_env(tmp_path, root)
    done = cslir("validate", env=env, cwd=root)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "playbooks/shared/open.yaml:6:12: error: unknown role 'ic'; declare it under roles: "
        "(in the steps playbooks/inc.yaml:8 includes)"
    ]


def test_a_step_file_problem_shows_once_however_many_playbooks_include_it(
    tmp_path: Path,
) -> None:
    root = ops(tmp_path, "one", "two")
    shared = root / "playbooks" / "shared" / "open.yaml"
    shared.write_text(SHARED.replace("purpose: evidence", "purpose: proof"), encoding="utf-8")
    done = cslir("validate", env=cslir_env(tmp_path, root), cwd=root)
    assert done.stdout.splitlines() == [
        "playbooks/shared/open.yaml:7:14: error: steps[0].purpose must be one of report, "
        "containment, notification, cooperation, evidence, remediation, not 'proof'"
    ]


def test_a_symlink_out_of_the_ops_repo_is_refused(tmp_path: Path) -> None:
    root = ops(tmp_path)
    outside = tmp_path / "outside.yaml"
    outside.write_text(SHARED, encoding="utf-8")
    (root / "playbooks" / "shared" / "open.yaml").unlink()
    (root / "playbooks" / "shared" / "open.yaml").symlink_to(outside)
    done = cslir("validate", "playbooks/inc.yaml", env=cslir_env(tmp_path, root), cwd=root)
    assert done.stdout.splitlines() == [
        "playbooks/inc.yaml:8:14: error: include 'shared/open.yaml' leads outside the ops "
        "repo; step files must live inside it",
        "playbooks/inc.yaml:10:13: error: step 'contain' needs unknown step 'open'",
    ]
