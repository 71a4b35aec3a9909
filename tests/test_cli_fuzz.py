"""Whatever a careless edit does to the shipped ops repo, ``cslir validate`` and ``cslir run
--auto`` answer in the forms promised: ``path:line:col: error: ...`` or one ``cslir: error:``
line, never a traceback and never exit 3 (a bug).

Each example copies the shipped cslir.yaml, playbooks/, notifiers/ and drills/ into a fresh
folder, mutates one file (lines deleted, duplicated, swapped, tabs and stray characters inserted,
the file cut short: tests/test_loader_fuzz.py's mutations) and runs cslir in this process with
its own store: validate over the whole repo (60 examples), and run --auto, live or drill, of a
playbook that runs no command and probes nothing (90). Pages can go nowhere: every secret is
unset, and a proxy on a closed loopback port stands in front of any URL a mutation might make
literal. About 40 s on two cores.
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
FOLDERS = ("playbooks", "notifiers", "drills")
SHIPPED = [REPO / "cslir.yaml", *(p for d in FOLDERS for p in sorted((REPO / d).rglob("*.yaml")))]
# Run only playbooks that neither run commands nor probe the network (a mutation cannot add a
# step kind: it moves, copies, cuts and sprinkles characters through what is there).
RUNNABLE = [
    p for p in sorted((REPO / "playbooks").glob("*.yaml"))
    if not re.search(r"kind: *(command|probe)", p.read_text("utf-8"))
]  # fmt: skip
RUN_INPUTS = [REPO / "cslir.yaml", *sorted((REPO / "playbooks" / "shared").glob("*.yaml")),
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


def copied_repo(base: Path) -> Path:
    """The shipped ops repo's files in a new folder under ``base`` (its store will be there)."""
    root = Path(tempfile.mkdtemp(dir=base))
    shutil.copy(REPO / "cslir.yaml", root / "cslir.yaml")
    for folder in FOLDERS:
        shutil.copytree(REPO / folder, root / folder)
    return root


def mutated_repo(base: Path, target: Path, data: st.DataObject) -> Path:
    root = copied_repo(base)
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


@settings(max_examples=60, deadline=None, suppress_health_check=HEALTH)
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


def required_vars(playbook: Path) -> list[str]:
    """``--var`` for each input the shipped playbook needs before it starts, of its type."""
    from cslir.opsrepo.validate import load_playbook
    from cslir.runs.answers import decision_inputs

    pb = load_playbook(playbook, REPO)
    sample = {"string": "crm", "text": "crm", "int": "1", "bool": "no", "datetime": "now",
              "duration": "1h"}  # fmt: skip
    out = []
    for name, spec in pb.inputs.items():
        if spec.default is None and spec.required and name not in decision_inputs(pb):
            value = spec.choices[0].value if spec.type == "choice" else sample[spec.type]
            out += ["--var", f"{name}={value}"]
    return out


VARS = {p: required_vars(p) for p in RUNNABLE}


@settings(max_examples=90, deadline=None, suppress_health_check=HEALTH)
@given(
    playbook=st.sampled_from(RUNNABLE),
    mutated=st.sampled_from(["playbook", *RUN_INPUTS]),
    drill=st.booleans(),
    data=st.data(),
)
def test_run_auto_of_a_mutated_ops_repo_ends_in_an_outcome_or_a_located_error(
    tmp_path: Path, quiet_env: None, playbook: Path, mutated: Path | str, drill: bool,
    data: st.DataObject,
) -> None:  # fmt: skip
    target = playbook if mutated == "playbook" else Path(mutated)
    root = mutated_repo(tmp_path, target, data)
    argv = ["--root", str(root), "run", str(root / playbook.relative_to(REPO)), "--auto",
            *VARS[playbook], *(["--drill"] if drill else [])]  # fmt: skip
    rc, out, err = cslir_in_process(*argv)
    assert_no_bug(rc, out, err, tmp_path)
    assert rc in (0, 1, 2), err
    assert_error_lines(err.splitlines())


def test_the_runs_reach_their_steps_unmutated(tmp_path: Path, quiet_env: None) -> None:
    """The property above means something: each playbook it runs, as shipped, gets going and
    goes as far as automation may (a live run waits on people; exit 1 says so)."""
    root = copied_repo(tmp_path)
    for playbook in RUNNABLE:
        path = root / playbook.relative_to(REPO)
        argv = ["--root", str(root), "run", str(path), "--auto", *VARS[playbook]]
        rc, out, err = cslir_in_process(*argv)
        assert (rc, err) == (1, ""), (playbook.name, err)
        assert " waits on people " in out, (playbook.name, out)
