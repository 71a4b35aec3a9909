"""Command steps: argv never a shell string, env, cwd, timeouts that kill the whole process
group, bounded output with the digest of all of it, exit status deciding the outcome, retry,
drills, and an attempt cut short by a dead process run again."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runkit import gone, make_ops

from cslir.base.timefmt import utcnow
from cslir.engine import actions
from cslir.engine.events import Event
from cslir.opsrepo.validate import load_playbook
from cslir.runs.commandstep import EXCERPT_BYTES, execute
from cslir.runs.effects import RunSession
from cslir.runs.session import open_run
from cslir.store.sqlite import Store

SYSTEM = "crm; touch owned.txt $(id) `id`"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "store" / "cslir.db") as s:
        yield s


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ops = make_ops(tmp_path, "commands")
    (ops / "work").mkdir()
    return ops


def environ() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CSLIR_TEST_TOKEN": "tok-123"}


def session(store: Store, root: Path, mode: str = "live") -> RunSession:
    pb = load_playbook(root / "playbooks" / "commands.yaml", root)
    run_id = open_run(store, pb, {"system": SYSTEM}, actor="alice", mode=mode, now=utcnow())
    return RunSession(store, run_id, "alice")


def run(s: RunSession, step: str, root: Path) -> list[Event]:
    return s.run_command(step, root=root, environ=environ())


def finished(events: list[Event]) -> dict[str, Any]:
    (data,) = [dict(e.data) for e in events if e.type == "command.finished"]
    return data


def test_an_input_with_spaces_and_semicolons_stays_one_argument(store: Store, root: Path) -> None:
    result = finished(run(session(store, root), "argv", root))
    assert result["argv"][3:] == [SYSTEM, "--flag"]
    assert json.loads(result["stdout"]) == [SYSTEM, "--flag"]
    assert not (root / "owned.txt").exists()


def test_env_is_templated_and_secret_references_resolved(store: Store, root: Path) -> None:
    result = finished(run(session(store, root), "env", root))
    assert result["stdout"] == f"{SYSTEM} tok-123\n"


def test_cwd_is_relative_to_the_ops_root(store: Store, root: Path) -> None:
    result = finished(run(session(store, root), "cwd", root))
    assert result["stdout"] == f"{root / 'work'}\n"


def test_exit_zero_is_done(store: Store, root: Path) -> None:
    s = session(store, root)
    events = run(s, "argv", root)
    assert [e.type for e in events] == ["command.finished", "step.done"]
    assert finished(events)["summary"] == "exit 0"
    assert s.state().steps["argv"].status == "done"


def test_a_nonzero_exit_fails_the_step_with_the_last_line_of_stderr(
    store: Store, root: Path
) -> None:
    s = session(store, root)
    events = run(s, "fails", root)
    assert [e.type for e in events] == ["command.finished", "step.failed"]
    assert (finished(events)["exit"], finished(events)["stderr"]) == (3, "disk full\n")
    step = s.state().steps["fails"]
    assert (step.status, step.reason) == ("failed", "exit 3: disk full")


def test_a_program_that_cannot_start_fails_the_step(store: Store, root: Path) -> None:
    s = session(store, root)
    run(s, "missing", root)
    step = s.state().steps["missing"]
    assert (step.status, step.reason) == (
        "failed",
        "could not start no-such-program-here: No such file or directory",
    )


def test_a_failed_command_is_retried_and_its_attempts_counted(store: Store, root: Path) -> None:
    s = session(store, root)
    run(s, "flaky", root)
    assert s.state().steps["flaky"].status == "failed"
    (root / "ok").touch()
    s.record(lambda st: actions.retry(st, "flaky"))
    run(s, "flaky", root)
    step = s.state().steps["flaky"]
    assert (step.status, step.attempts) == ("done", 2)


def test_output_is_kept_as_a_bounded_excerpt_with_the_digest_of_all_of_it(
    store: Store, root: Path
) -> None:
    result = finished(run(session(store, root), "loud", root))
    assert result["stdout"] == "x" * EXCERPT_BYTES
    assert result["stdout_bytes"] == 100000
    assert result["stdout_sha256"] == hashlib.sha256(b"x" * 100000).hexdigest()
    assert (result["stderr"], result["stderr_bytes"]) == ("warn", 4)
    assert result["stderr_sha256"] == hashlib.sha256(b"warn").hexdigest()


SPAWNS_A_SLEEPER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open("pids", "w").write(f"{child.pid}\\n")
time.sleep(60)
"""


def test_a_timeout_kills_the_command_and_every_child_it_started(tmp_path: Path) -> None:
    started = time.monotonic()
    result = execute(
        [sys.executable, "-c", SPAWNS_A_SLEEPER], env={}, base_env=environ(), cwd=tmp_path,
        timeout=1.5,
    )  # fmt: skip
    assert time.monotonic() - started < 10
    assert (result["exit"], result["timed_out"], result["summary"]) == (
        124, True, "timed out after 1.5s; process group killed")  # fmt: skip
    child = int((tmp_path / "pids").read_text())
    deadline = time.monotonic() + 5
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(child)


def test_a_drill_simulates_commands_unless_they_say_execute_or_skip(
    store: Store, root: Path
) -> None:
    s = session(store, root, mode="drill")
    simulated = finished(run(s, "simulated", root))
    assert (simulated["simulated"], simulated["summary"]) == (True, "simulated in drill")
    run(s, "executed", root)
    run(s, "skipped", root)
    st = s.state()
    kinds = ("simulated", "executed", "skipped")
    outcomes = [(st.steps[k].status, st.steps[k].reason) for k in kinds]
    assert outcomes == [
        ("done", "simulated in drill"),
        ("done", None),
        ("skipped", "skipped in drill"),
    ]
    assert sorted(p.name for p in root.glob("*.txt")) == ["executed.txt"]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def start_as(s: RunSession, step: str, **runner: Any) -> None:
    s.record(lambda st: [(t, {**d, **runner}) for t, d in actions.begin_attempt(st, step)])


def test_an_attempt_whose_process_died_is_orphaned_and_runs_again(store: Store, root: Path) -> None:
    s = session(store, root)
    start_as(s, "argv", pid=dead_pid(), host=socket.gethostname())
    assert s.state().steps["argv"].status == "running"
    assert s.orphaned(s.state()) == ["argv"]
    run(s, "argv", root)
    step = s.state().steps["argv"]
    assert (step.status, step.attempts) == ("done", 2)


@pytest.mark.parametrize(
    "runner",
    [{"pid": os.getppid(), "host": socket.gethostname()}, {"pid": 1, "host": "another-host"}],
    ids=["live-process-here", "process-on-another-host"],
)
def test_an_attempt_that_may_still_be_running_is_not_orphaned(
    store: Store, root: Path, runner: dict[str, Any]
) -> None:
    s = session(store, root)
    start_as(s, "argv", **runner)
    assert s.orphaned(s.state()) == []


def test_an_outcome_is_not_recorded_over_a_step_settled_meanwhile(store: Store, root: Path) -> None:
    s = session(store, root)
    start_as(s, "argv", pid=os.getppid(), host=socket.gethostname())
    s.record(lambda st: actions.skip(st, "argv", "done by hand"), actor="bob")
    events = s.record(lambda st: actions.finish_command(st, "argv", {"exit": 0}))
    assert [e.type for e in events] == ["command.finished"]
    assert s.state().steps["argv"].status == "skipped"
