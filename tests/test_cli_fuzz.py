"""Whatever a careless edit does to the shipped ops repo, ``cslir validate`` and ``cslir run
--auto`` answer in the forms promised: ``path:line:col: error: ...`` or one ``cslir: error:``
line, never a traceback and never exit 3 (a bug).

Each example copies the shipped cslir.yaml, playbooks/, notifiers/ and drills/ into a fresh
folder, mutates one file (lines deleted, duplicated, swapped, tabs and stray characters inserted,
the file cut short: tests/test_loader_fuzz.py's mutations) and runs cslir in this process with
its own store. Pages can go nowhere: every secret is unset, and a proxy on a closed loopback
port stands in front of any URL a mutation might make literal. About 40 s on two cores.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_loader_fuzz import mutate

from cslir.__main__ import main

REPO = Path(__file__).resolve().parents[1]
SHIPPED = [
    REPO / "cslir.yaml",
    *sorted((REPO / "playbooks").glob("*.yaml")),
    *sorted((REPO / "notifiers").glob("*.yaml")),
    *sorted((REPO / "drills").glob("*.yaml")),
]
RUN_INPUTS = [REPO / "cslir.yaml", *sorted((REPO / "playbooks").glob("*.yaml")),
              *sorted((REPO / "notifiers").glob("*.yaml"))]  # fmt: skip
LOCATED = re.compile(r"^[^\s:][^:]*:\d+:\d+: (error|warning): \S")
SUMMARY = re.compile(r"^\d+ error\(s\), \d+ warning\(s\)$")
# tmp_path is one folder for all examples: each makes its own under it
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No store or root from outside, no secrets, and every URL sent to a closed local port."""
    for name in ("CSLIR_ROOT", "CSLIR_STORE", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("CSLIR_RESPONDER", "fuzz")
    monkeypatch.setenv("CSLIR_NOTIFY_EXIT_WAIT", "0.2")


def mutated_repo(base: Path, target: Path, data: st.DataObject) -> Path:
    root = Path(tempfile.mkdtemp(dir=base))
    for path in SHIPPED:
        dest = root / path.relative_to(REPO)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    lines = target.read_text(encoding="utf-8").split("\n")
    for _ in range(data.draw(st.integers(1, 3))):
        lines = mutate(lines, data)
    (root / target.relative_to(REPO)).write_text("\n".join(lines), encoding="utf-8")
    return root


def cslir_in_process(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def assert_no_bug(rc: int, out: str, err: str, crash_dir: Path) -> None:
    assert rc != 3, err
    assert "Traceback" not in out + err, err
    assert not list(crash_dir.glob("*crash*")), err


def assert_error_lines(lines: list[str]) -> None:
    """Each line a located diagnostic, a one-line ``cslir:`` message, or the count of them."""
    for line in filter(None, lines):
        assert (
            LOCATED.match(line)
            or SUMMARY.match(line)
            or line.startswith(("cslir: error: ", "cslir: warning: "))
        ), line


@settings(max_examples=200, deadline=None, suppress_health_check=HEALTH)
@given(target=st.sampled_from(SHIPPED), data=st.data())
def test_validate_of_a_mutated_ops_repo_answers_in_located_errors(
    tmp_path: Path, quiet_env: None, target: Path, data: st.DataObject
) -> None:
    root = mutated_repo(tmp_path, target, data)
    rc, out, err = cslir_in_process("--root", str(root), "validate")
    assert_no_bug(rc, out, err, tmp_path)
    assert rc in (0, 1)
    assert_error_lines(out.splitlines())
    assert_error_lines(err.splitlines())


@settings(max_examples=120, deadline=None, suppress_health_check=HEALTH)
@given(target=st.sampled_from(RUN_INPUTS), drill=st.booleans(), data=st.data())
def test_run_auto_of_a_mutated_ops_repo_ends_in_an_outcome_or_a_located_error(
    tmp_path: Path, quiet_env: None, target: Path, drill: bool, data: st.DataObject
) -> None:
    root = mutated_repo(tmp_path, target, data)
    argv = ["--root", str(root), "run", str(root / "playbooks" / "leak.yaml"), "--auto",
            "--var", "system=crm", "--var", "operator=other"]  # fmt: skip
    rc, out, err = cslir_in_process(*argv, *(["--drill"] if drill else []))
    assert_no_bug(rc, out, err, tmp_path)
    assert rc in (0, 1, 2), err
    assert_error_lines(err.splitlines())
