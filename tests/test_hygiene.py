"""Recorded text shown safely: control sequences in notes never reach a terminal or report.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from runkit import cslir, cslir_env, make_ops, only_run

HOSTILE = "called CAC\x1b]52;c;ZXZpbA==\x07 then\x1b[2J cleared\x9b31m red"


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    root = make_ops(tmp_path, "sealed")
    env = cslir_env(tmp_path, root)
    assert cslir("run", "playbooks/sealed.yaml", "--auto", env=env, cwd=root).returncode == 0
    rid = only_run(tmp_path)
    assert cslir("note", rid, HOSTILE, env=env, cwd=root).returncode == 0
    return root, env, rid


def test_status_shows_control_characters_as_escapes(run: tuple[Path, dict[str, str], str]) -> None:
    root, env, rid = run
    assert cslir("step", rid, "close", "--fail", "--reason", HOSTILE, env=env,
                 cwd=root).returncode in (0, 1)  # fmt: skip
    out = cslir("status", rid, env=env, cwd=root).stdout
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out


def test_report_md_shows_control_characters_as_escapes(
    run: tuple[Path, dict[str, str], str],
) -> None:
    root, env, rid = run
    md = cslir("report", rid, env=env, cwd=root).stdout
    assert "\x1b" not in md and "\x9b" not in md and "\x07" not in md
    assert "called CAC\\x1b\\]52;c;ZXZpbA==\\x07 then\\x1b\\[2J cleared" in md
