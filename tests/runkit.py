"""Shared by the run tests: a throw-away ops repo, cslir as a real process, the stored events.

Every process gets its own HOME, store and crash-log folder under the test's tmp_path, so no
test touches the real home directory; the only route points at 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from cslir.engine.events import Event
from cslir.store import open_store

RUN_PLAYBOOKS = Path(__file__).resolve().parent / "playbooks" / "run"
ROUTES = """\
cslir: 1
routes:
  legal-oncall:
    channel: webhook
    url: ${env:CSLIR_TEST_HOOK_URL}
    secret: ${env:CSLIR_TEST_HOOK_SECRET}
"""
HOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test value, not a secret


def make_ops(
    tmp_path: Path, *playbooks: str, timezone: str = "Asia/Shanghai", settings: str = ""
) -> Path:
    """An ops repo under tmp_path holding the named fixtures from tests/playbooks/run;
    ``settings`` is appended to its cslir.yaml."""
    root = tmp_path / "ops"
    (root / "playbooks").mkdir(parents=True)
    (root / "notifiers").mkdir()
    text = f"cslir: 1\ntimezone: {timezone}\n{settings}"
    (root / "cslir.yaml").write_text(text, encoding="utf-8")
    (root / "notifiers" / "routes.yaml").write_text(ROUTES, encoding="utf-8")
    for name in playbooks:
        shutil.copy(RUN_PLAYBOOKS / f"{name}.yaml", root / "playbooks" / f"{name}.yaml")
    return root


def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "cslir.db"


def store_of(tmp_path: Path, store: str | None = None) -> str:
    """The test's store: ``store`` (a URL or path) if given, else a SQLite file under tmp_path."""
    return store or str(store_path(tmp_path))


def cslir_env(
    tmp_path: Path, root: Path, *, actor: str = "alice", hook: str = "", store: str | None = None
) -> dict[str, str]:
    """The environment of a cslir process: this test's root, store, home and crash folder."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "xterm",
        "NO_COLOR": "1",
        "CSLIR_ROOT": str(root),
        "CSLIR_STORE": store_of(tmp_path, store),
        "CSLIR_CRASH_DIR": str(tmp_path),
        "CSLIR_RESPONDER": actor,
        "CSLIR_NOTIFY_EXIT_WAIT": "1",
        "CSLIR_TEST_HOOK_URL": hook or "http://127.0.0.1:9/unused",
        "CSLIR_TEST_HOOK_SECRET": HOOK_SECRET,
    }
    return env


def cslir_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "cslir", *args]


def cslir(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run cslir to completion; stdin is a pipe (never a terminal) holding ``stdin``."""
    return subprocess.run(
        cslir_argv(*args),
        env=env,
        cwd=cwd,
        input=stdin or "",
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stored_events(tmp_path: Path, run_id: str, store: str | None = None) -> list[Event]:
    with open_store(store_of(tmp_path, store)) as opened:
        return opened.events(run_id)


def only_run(tmp_path: Path, store: str | None = None) -> str:
    with open_store(store_of(tmp_path, store)) as opened:
        runs = opened.runs()
    assert len(runs) == 1, runs
    return runs[0].id


def outcomes(events: list[Event], type: str = "step.done") -> Counter[str]:
    """How many times each step got an event of ``type``."""
    return Counter(str(e.data.get("step")) for e in events if e.type == type)


def gone(pid: int) -> bool:
    """Dead, or a zombie nobody has reaped yet (a container's init may not reap)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def holder(role: str) -> str:
    """The responder a test's cslir.yaml names as holding ``role`` (see ``responders_yaml``)."""
    return f"{role}-holder"


def responders_yaml(roles: list[str]) -> str:
    """cslir.yaml's responders: one person holding each role, to sign approvals off."""
    lines = "".join(f"  {holder(r)}: {{roles: [{r}]}}\n" for r in sorted(set(roles)))
    return f"responders:\n{lines}"


WAITS_APPROVAL = re.compile(r"^  (\S+): approval by the (\S+) role: cslir approve (\S+) \S+ --as")
WAITS_EVIDENCE = re.compile(r"^  (\S+): needs evidence: cslir evidence (\S+) FILE --step")


def finish_as_people(
    done: subprocess.CompletedProcess[str],
    *,
    env: dict[str, str],
    cwd: Path,
    answers: str | None = None,
    rounds: int = 20,
) -> subprocess.CompletedProcess[str]:
    """Do what a live run --auto left to people, as they would: each approval signed off by a
    holder of its role, each evidence step given a file and marked done; then resume --auto
    (with the run's ``answers`` file, if it had one), until the run no longer waits on anyone.
    The last process's outcome."""
    for _ in range(rounds):
        if " waits on people " not in done.stdout:
            return done
        rid = ""
        for line in done.stdout.splitlines():
            if m := WAITS_APPROVAL.match(line):
                sid, role, rid = m.groups()
                signed = cslir("approve", rid, sid, "--as", holder(role), env=env, cwd=cwd)
                assert signed.returncode == 0, signed.stderr
            elif m := WAITS_EVIDENCE.match(line):
                sid, rid = m.groups()
                receipt = cwd / f"{sid}-receipt.txt"
                receipt.write_text(f"what {sid} produced\n", encoding="utf-8")
                for argv in (("evidence", rid, str(receipt), "--step", sid),
                             ("step", rid, sid, "--done")):  # fmt: skip
                    acted = cslir(*argv, env=env, cwd=cwd)
                    assert acted.returncode == 0, acted.stderr
        more = ("--answers", answers) if answers else ()
        done = cslir("resume", rid, "--auto", *more, env=env, cwd=cwd, timeout=180)
    raise AssertionError(f"still waiting on people after {rounds} rounds:\n{done.stdout}")
