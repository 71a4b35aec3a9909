"""A test that needs a missing tool skips on a laptop and fails where tools are required."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
from tools import missing

def test_needs_a_tool():
    missing("the frobnicator is not installed")
"""


def run_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None) -> str:
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    if value is None:
        monkeypatch.delenv("CSLIR_REQUIRE_TOOLS", raising=False)
    else:
        monkeypatch.setenv("CSLIR_REQUIRE_TOOLS", value)
    tests = Path(__file__).resolve().parent
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         f"--rootdir={tmp_path}", "-o", f"pythonpath={tests}", str(tmp_path / "test_probe.py")],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    return done.stdout


def test_a_missing_tool_skips_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = run_probe(tmp_path, monkeypatch, None)
    assert re.search(r"SKIPPED \[1\] \S*tools\.py:\d+: the frobnicator is not installed\n", out)
    assert "\n1 skipped in " in out


def test_a_missing_tool_fails_when_tools_are_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = run_probe(tmp_path, monkeypatch, "1")
    assert (
        "Failed: the frobnicator is not installed (CSLIR_REQUIRE_TOOLS is set, so this test "
        "may not be skipped)" in out
    )
    assert "1 failed" in out
