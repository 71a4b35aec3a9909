"""When things happened, not when someone clicked: ``cslir step --done --at TIME`` and a
submission's recipient, channel and reference, from the command line and an answers file.

A report filed at 10:55 and recorded at 11:10 met an 11:00 deadline; the record keeps both
times and the report shows both.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from runkit import cslir, cslir_env, make_ops, only_run, stored_events

from cslir.engine.events import format_at, parse_at


@pytest.fixture
def paused(tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    """A live run of the filing fixture, discovered 70 minutes ago (due 10 minutes ago),
    paused at its report (the answers file has no answer for it)."""
    root = make_ops(tmp_path, "filing")
    (root / "none.yaml").write_text("steps: {}\n", encoding="utf-8")
    env = cslir_env(tmp_path, root)
    cslir("run", "playbooks/filing.yaml", "--var", "detected_at=70m ago", "--answers",
          "none.yaml", env=env, cwd=root)  # fmt: skip
    return root, env, only_run(tmp_path)


def report_json(root: Path, env: dict[str, str], rid: str) -> dict[str, object]:
    done = cslir("report", rid, "--format", "json", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


def test_a_report_filed_before_its_deadline_and_recorded_after_it_met_the_deadline(
    paused: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    root, env, rid = paused
    done = cslir("step", rid, "first-report", "--done", "--at", "15m ago", "--recipient",
                 "CAC Beijing office", "--channel", "online form", "--reference", "12387-991",
                 env=env, cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{rid}: first-report done (done at ")
    [filed] = [e for e in stored_events(tmp_path, rid) if e.type == "step.done"]
    acted = parse_at(filed.data["acted_at"])
    assert timedelta(minutes=14) < parse_at(filed.at) - acted < timedelta(minutes=16)
    assert {k: filed.data[k] for k in ("recipient", "channel", "reference")} == {
        "recipient": "CAC Beijing office",
        "channel": "online form",
        "reference": "12387-991",
    }

    report = report_json(root, env, rid)
    [clock] = report["clocks"]  # type: ignore[misc]
    assert (clock["state"], clock["stopped"]) == ("met", filed.data["acted_at"])
    step = next(s for s in report["steps"] if s["id"] == "first-report")  # type: ignore[attr-defined]
    assert (step["ended"], step["recorded"]) == (filed.data["acted_at"], filed.at)
    assert step["submission"] == {"recipient": "CAC Beijing office", "channel": "online form",
                                  "reference": "12387-991"}  # fmt: skip
    [made] = report["leniency"]["reports"]  # type: ignore[index]
    assert (made["made_at"], made["recorded_at"], made["state"]) == (
        filed.data["acted_at"], filed.at, "met")  # fmt: skip
    md = cslir("report", rid, env=env, cwd=root).stdout
    assert "(recorded " in md and "; receipt 12387-991" in md


def test_without_at_a_report_recorded_after_its_deadline_missed_it(
    paused: tuple[Path, dict[str, str], str],
) -> None:
    root, env, rid = paused
    assert cslir("step", rid, "first-report", "--done", env=env, cwd=root).returncode == 0
    [clock] = report_json(root, env, rid)["clocks"]  # type: ignore[misc]
    assert clock["state"] == "missed"


@pytest.mark.parametrize(
    ("argv", "code", "error"),
    [(["--at", "in an hour"], 2,
      "'in an hour' is not a date and time: write 2026-03-01 14:30, 2026-03-01T14:30+08:00,"
      " now, or 30m ago"),
     (["--at", "2h ago"], 1,
      "step 'first-report': the time given ({at}) is before the incident was discovered"
      " ({found}); check it, or give a reason saying why it is right")],
)  # fmt: skip
def test_a_bad_or_implausible_act_time_is_refused_and_nothing_is_recorded(
    paused: tuple[Path, dict[str, str], str], tmp_path: Path, argv: list[str], code: int,
    error: str
) -> None:  # fmt: skip
    root, env, rid = paused
    before = len(stored_events(tmp_path, rid))
    done = cslir("step", rid, "first-report", "--done", *argv, env=env, cwd=root)
    assert done.returncode == code
    assert error.split("{")[0] in done.stderr, done.stderr
    assert "step.done" not in [e.type for e in stored_events(tmp_path, rid)[before:]]


def test_a_future_act_time_is_refused(paused: tuple[Path, dict[str, str], str]) -> None:
    root, env, rid = paused
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%MZ")
    done = cslir("step", rid, "first-report", "--done", "--at", later, env=env, cwd=root)
    assert done.returncode == 2
    assert f"'{later}' lies in the future" in done.stderr


def test_an_act_before_the_discovery_is_recorded_when_a_reason_says_why(
    paused: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    root, env, rid = paused
    done = cslir("step", rid, "first-report", "--done", "--at", "2h ago", "--reason",
                 "the vendor filed it before telling us", env=env, cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [filed] = [e for e in stored_events(tmp_path, rid) if e.type == "step.done"]
    assert filed.data["reason"] == "the vendor filed it before telling us"


@pytest.mark.parametrize("flag", ["--skip", "--fail"])
def test_at_and_the_submission_facts_go_with_done_only(
    paused: tuple[Path, dict[str, str], str], flag: str
) -> None:
    root, env, rid = paused
    done = cslir("step", rid, "first-report", flag, "--reason", "x", "--reference", "R-1",
                 env=env, cwd=root)  # fmt: skip
    assert done.returncode == 2
    assert "--at, --recipient, --channel and --reference go with --done" in done.stderr


def test_an_answers_file_records_when_and_how_a_report_was_filed(tmp_path: Path) -> None:
    root = make_ops(tmp_path, "filing")
    filed = datetime.now(UTC) - timedelta(minutes=20)
    answers = (
        "steps:\n"
        f"  first-report: {{outcome: done, at: '{format_at(filed)}', recipient: CAC,\n"
        "                 channel: online form, reference: R-77}\n"
        "  close: {}\n"
    )
    (root / "answers.yaml").write_text(answers, encoding="utf-8")
    env = cslir_env(tmp_path, root)
    done = cslir("run", "playbooks/filing.yaml", "--var", "detected_at=1h ago", "--answers",
                 "answers.yaml", env=env, cwd=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = stored_events(tmp_path, only_run(tmp_path))
    [report] = [e.data for e in events if e.data.get("step") == "first-report"
                and e.type == "step.done"]  # fmt: skip
    assert report == {"step": "first-report", "acted_at": format_at(filed), "recipient": "CAC",
                      "channel": "online form", "reference": "R-77"}  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "error"),
    [("{at: yesterday-ish}",
      "answers.yaml:2:22: error: at: 'yesterday-ish' is not a date and time: write"
      " 2026-03-01 14:30, 2026-03-01T14:30+08:00, now, or 30m ago"),
     ("{at: '2999-01-01 10:00'}", "answers.yaml:2:22: error: at: '2999-01-01 10:00' lies in the"
      " future"),
     ("{reference: [a, b]}", "answers.yaml:2:29: error: the reference must be text"),
     ("{outcome: skip, reason: x, reference: R-1}",
      "answers.yaml:2:55: error: reference: goes with outcome: done (the act it dates or"
      " describes)"),
     ("{recipent: CAC}",
      "answers.yaml:2:18: error: unknown answer key 'recipent' (did you mean 'recipient'?)")],
)  # fmt: skip
def test_bad_act_facts_in_an_answers_file_are_located(
    tmp_path: Path, answer: str, error: str
) -> None:
    root = make_ops(tmp_path, "filing")
    (root / "answers.yaml").write_text(f"steps:\n  first-report: {answer}\n", encoding="utf-8")
    done = cslir("run", "playbooks/filing.yaml", "--answers", "answers.yaml",
                 env=cslir_env(tmp_path, root), cwd=root)  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")
    assert error in done.stderr.splitlines(), done.stderr
