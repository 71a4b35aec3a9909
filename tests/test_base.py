"""The ground floor's helpers: process liveness, redaction, crash logs, whole-file writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cslir.base.crashlog import write_crash_log
from cslir.base.files import staged
from cslir.base.procs import alive
from cslir.base.redaction import redact


def test_a_running_process_is_alive_and_a_reaped_one_is_not() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert (alive(os.getpid()), alive(child.pid)) == (True, False)


def test_redact_replaces_the_longest_secret_first_and_ignores_short_ones() -> None:
    url = "https://hook.example/send?key=abcd1234"
    text = f"posting to {url} (key abcd1234, id 42)"
    assert redact(text, ["abcd1234", url, "42"]) == (
        "posting to [redacted] (key [redacted], id 42)"
    )


def test_a_crash_log_names_its_part_and_hides_the_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSLIR_CRASH_DIR", str(tmp_path))
    try:
        raise RuntimeError("token s3cr3t-t0ken leaked")
    except RuntimeError as e:
        path = Path(
            write_crash_log(e, heading="worker crashed", name="notify", secrets=["s3cr3t-t0ken"])
        )
    text = path.read_text(encoding="utf-8")
    assert (path.parent, path.name.startswith("cslir-crash-notify-")) == (tmp_path, True)
    assert text.startswith("worker crashed\nTraceback (most recent call last)")
    assert text.rstrip().endswith("RuntimeError: token [redacted] leaked")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


def test_a_staged_file_replaces_its_destination_only_when_complete(folder: Path) -> None:
    dest = folder / "report.md"
    dest.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), staged(folder, dest) as stage:
        stage.tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")
    assert [p.name for p in folder.iterdir()] == ["report.md"]
    assert dest.read_text(encoding="utf-8") == "old"
    with staged(folder, dest) as stage:
        stage.tmp.write_text("new", encoding="utf-8")
    assert [p.name for p in folder.iterdir()] == ["report.md"]
    assert dest.read_text(encoding="utf-8") == "new"


def test_a_staged_file_may_learn_its_destination_from_its_content(folder: Path) -> None:
    with staged(folder) as stage:
        stage.tmp.write_bytes(b"abc")
        stage.dest = folder / "blob-abc"
    assert [p.name for p in folder.iterdir()] == ["blob-abc"]


def test_a_staged_file_without_a_destination_is_an_error_and_leaves_nothing(
    folder: Path,
) -> None:
    with pytest.raises(ValueError, match="without saying where"), staged(folder) as stage:
        stage.tmp.write_bytes(b"abc")
    assert list(folder.iterdir()) == []
