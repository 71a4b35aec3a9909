"""``cslir plan`` on a playbook and on a live run, and ``cslir validate --strict``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runkit import cslir, cslir_env, make_ops, only_run

from cslir.__main__ import main

PLAYBOOK = """\
cslir: 1
id: plan
title: Plan fixture
inputs:
  detected_at: {type: datetime, default: now}
  cii: {type: bool}
clocks:
  first-report:
    title: First report
    from: detected_at
    due: 4h
    due_if: {cii: 1h}
    basis: CAC Incident Reporting Measures Art 4
    confidence: high
steps:
  - {id: grade, estimate: 20m}
  - {id: report, estimate: REPORT, stops: first-report}
  - {id: page, kind: notify, route: legal-oncall, needs: []}
"""


def ops(tmp_path: Path, report: str = "25m") -> Path:
    root = make_ops(tmp_path)
    text = PLAYBOOK.replace("REPORT", report)
    (root / "playbooks" / "plan.yaml").write_text(text, encoding="utf-8")
    return root


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


START = "2026-03-02T09:00+08:00"


def test_plan_prints_each_clock_with_its_worst_case_deadline_path_and_slack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ops(tmp_path)
    rc, out, err = run(["--root", str(root), "plan", str(root / "playbooks" / "plan.yaml"),
                        "--start", START], capsys)  # fmt: skip
    assert (rc, err) == (0, "")
    assert out.splitlines() == [
        "first-report: feasible — 15m to spare — First report",
        "  worst case   cii=true",
        "  deadline     2026-03-02 10:00 CST (+08:00) (1h after detected_at)",
        "  basis        CAC Incident Reporting Measures Art 4, high confidence",
        "  earliest     2026-03-02 09:45 CST (+08:00), when report finishes",
        "  path         grade 20m → report 25m",
    ]


def test_an_infeasible_clock_exits_1_and_json_carries_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ops(tmp_path, report="50m")
    rc, out, _ = run(["--root", str(root), "plan", str(root / "playbooks" / "plan.yaml"),
                      "--start", START, "--json"], capsys)  # fmt: skip
    assert rc == 1
    assert json.loads(out) == [{
        "clock": "first-report", "verdict": "infeasible", "reason": None,
        "scenario": {"cii": True}, "rule": "1h",
        "basis": ["CAC Incident Reporting Measures Art 4"], "confidence": "high",
        "started": "2026-03-02T01:00:00.000000Z", "deadline": "2026-03-02T02:00:00.000000Z",
        "provisional": None, "earliest_finish": "2026-03-02T02:10:00.000000Z",
        "stopped_by": "report", "slack_seconds": -600,
        "path": [{"step": "grade", "estimate": "20m"}, {"step": "report", "estimate": "50m"}],
        "unestimated": [],
    }]  # fmt: skip


def test_given_inputs_choose_the_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = ops(tmp_path, report="50m")
    path = str(root / "playbooks" / "plan.yaml")
    rc, out, _ = run(["--root", str(root), "plan", path, "--start", START, "--var", "cii=no",
                      "--var", "detected_at=2026-03-02T08:00+08:00"], capsys)  # fmt: skip
    assert rc == 0
    assert out.splitlines()[0] == "first-report: feasible — 1h 50m to spare — First report"
    assert "  deadline     2026-03-02 12:00 CST (+08:00) (4h after detected_at)" in out
    rc, _, err = run(["--root", str(root), "plan", path, "--var", "ciii=yes"], capsys)
    assert (rc, err) == (2, "cslir: error: --var ciii: the playbook has no input 'ciii' "
                            "(inputs: detected_at, cii)\n")  # fmt: skip


def test_validate_strict_fails_an_infeasible_clock_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = ops(tmp_path, report="50m")
    monkeypatch.chdir(root)
    assert run(["--root", str(root), "validate"], capsys)[0] == 0
    rc, out, err = run(["--root", str(root), "validate", "--strict"], capsys)
    assert rc == 1
    assert out == (
        "playbooks/plan.yaml:8:3: error: clock 'first-report' cannot be met when cii=true: "
        "grade (20m) -> report (50m) ends 10m after its 1h deadline\n"
    )
    assert err == "1 error(s), 0 warning(s)\n"


def test_plan_of_a_run_projects_from_now_what_is_left(tmp_path: Path) -> None:
    root = ops(tmp_path)
    env = cslir_env(tmp_path, root)
    answers = root / "answers.yaml"
    answers.write_text("inputs: {cii: true}\nsteps: {grade: {}, page: {}}\n", encoding="utf-8")
    paused = cslir("run", "playbooks/plan.yaml", "--answers", "answers.yaml", env=env, cwd=root)
    assert paused.returncode == 2  # 'report' has no answer
    done = cslir("plan", only_run(tmp_path), "--json", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    (clock,) = json.loads(done.stdout)
    assert (clock["verdict"], clock["path"]) == (
        "feasible",
        [{"step": "report", "estimate": "25m"}],
    )
    # grading is done: the report's 25m run from now, inside the 1h from detection
    assert 30 * 60 <= clock["slack_seconds"] <= 35 * 60
    assert clock["scenario"] == {"cii": True}
    refused = cslir("plan", only_run(tmp_path), "--var", "cii=no", env=env, cwd=root)
    assert refused.returncode == 2
    assert "--var and --start plan a playbook; a run has its own inputs" in refused.stderr
