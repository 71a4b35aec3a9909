"""What the legal review asked of the shipped playbooks, run for real: the PIPL regulator notice
is never waived with the notice to individuals, CII reports go to two recipients with a receipt
each, a grade below the thresholds needs a rationale, and the penalty path keeps its clocks."""

from __future__ import annotations

import json
from pathlib import Path

from runkit import cslir, finish_as_people, only_run
from test_library import NOTICE_DUE, ops


def run(tmp_path: Path, playbook: str, answers: str, *given: str) -> tuple[int, str, dict]:  # type: ignore[type-arg]
    root, env = ops(tmp_path)
    (root / "answers.yaml").write_text(answers, encoding="utf-8")
    done = cslir("run", f"playbooks/{playbook}.yaml", "--auto", "--answers", "answers.yaml",
                 *given, env=env, cwd=root, timeout=120)  # fmt: skip
    # the approvals and evidence the run awaits, given by people; the answers go on applying
    done = finish_as_people(done, env=env, cwd=root, answers="answers.yaml")
    if done.returncode != 0:
        return done.returncode, done.stdout + done.stderr, {}
    report = cslir("report", only_run(tmp_path), "--format", "json", env=env, cwd=root)
    return 0, done.stdout, json.loads(report.stdout)


LEAK = ("--var", "system=crm", "--var", "records_affected=1200000")


def test_skipping_the_notice_to_individuals_never_waives_the_regulator_notice(
    tmp_path: Path,
) -> None:
    answers = """\
steps:
  pipl-individuals: {outcome: skip, reason: "Art 57 ¶2: the data was encrypted, no harm"}
"""
    rc, out, report = run(tmp_path, "leak", answers, *LEAK, "--var", "cii=no")
    assert rc == 0, out
    clocks = {c["id"]: c for c in report["clocks"]}
    assert clocks["pipl-individuals"]["state"] == "waived"
    assert clocks["pipl-regulator"]["state"] == "met"
    assert clocks["pipl-regulator"]["stopped_by"] == "pipl-regulator"
    assert clocks["pipl-regulator"]["recipient"].startswith("The CAC at the relevant level")


def test_cii_reports_go_to_both_recipients_each_with_its_receipt(tmp_path: Path) -> None:
    answers = """\
steps:
  report-cii-protection: {evidence: {text: "protection department receipt P-1"}}
  report-cii-police: {evidence: {text: "public security receipt G-7"}}
"""
    rc, out, report = run(tmp_path, "leak", answers, *LEAK, "--var", "cii=yes")
    assert rc == 0, out
    rows = {r["step"]: r for r in report["leniency"]["reports"] if r["clock"] == "initial-report"}
    assert sorted(rows) == ["report-cii-police", "report-cii-protection"]
    assert all(r["evidence"] == 1 and r["state"] == "met" for r in rows.values())
    (clock,) = [c for c in report["clocks"] if c["id"] == "initial-report"]
    assert clock["rule"] == "1h"
    assert clock["stopped"] == max(r["made_at"] for r in rows.values())  # the later of the two


def test_a_grade_below_the_thresholds_needs_a_rationale_and_is_flagged(tmp_path: Path) -> None:
    refused = "steps: {grade: {choice: general}}\n"
    rc, out, _ = run(tmp_path / "a", "leak", refused, *LEAK, "--var", "cii=no")
    assert rc == 1
    assert "'general' is below relatively_major" in out
    explained = "steps: {grade: {choice: general, rationale: the records were synthetic}}\n"
    rc, out, report = run(tmp_path / "b", "leak", explained, *LEAK, "--var", "cii=no")
    assert rc == 0, out
    (flag,) = report["flags"]
    assert (flag["value"], flag["minimum"]) == ("general", "relatively_major")
    assert flag["indicators"] == ["Personal information of 1 million people or more leaked"]
    indicator = next(d for d in report["decisions"] if d["step"] == "indicator")
    assert indicator["value"] == "catch_all"


def test_the_penalty_path_keeps_the_hearing_and_payment_clocks(tmp_path: Path) -> None:
    answers = """\
steps:
  penalty-notice: {choice: "true"}
  penalty-decision: {choice: "true"}
  appeal: {choice: reconsideration}
"""
    given = ("--var", "authority=cac", "--var", "notice_kind=rectification",
             "--var", "reference=沪网信 17", "--var", f"response_due={NOTICE_DUE}")  # fmt: skip
    rc, out, report = run(tmp_path, "regulator-notice", answers, *given)
    assert rc == 0, out
    clocks = {c["id"]: (c["state"], c["rule"]) for c in report["clocks"]}
    assert clocks == {
        "verify": ("met", "4h"),
        "response": ("met", "at response_due"),
        "hearing-request": ("met", "5d"),
        "fine-payment": ("met", "15d"),
        "reconsideration": ("met", "60d"),
        "lawsuit": ("met", "180d"),
    }
    done = {s["id"] for s in report["steps"] if s["status"] == "done"}
    assert {"file-appeal", "pay-fine", "statement-defence", "leniency-file"} <= done
