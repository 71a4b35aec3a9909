"""Per-step cost of an automated run, against a raw durable SQLite commit and ansible-core.

DESIGN.md "Budgets": a recorded step costs about one durable commit, within a small factor of a
raw SQLite WAL commit with full sync (target: within 5x), and far below other YAML playbook
runners per step.

Three rows, measured in the same process and on the same disk:

- cslir: a 2,000-step playbook of task steps driven in-process by ``cslir.runs.automation.drive``
  (what ``cslir run --auto`` does) on a real store file; one row for the steps alone, one
  for the whole run including loading and validating the playbook (ansible's row includes
  its start-up too);
- floor: the same number of ``BEGIN IMMEDIATE; INSERT; COMMIT`` in WAL mode with
  ``synchronous=FULL``, about the size of one event;
- ansible-core: ``ansible-playbook`` running the same number of ``debug`` tasks against
  localhost with ``connection: local`` and no fact gathering, from its own virtualenv made
  under the cache directory on first use. If it cannot be installed the row says why.

Run: ``python benchmarks/steps.py [STEPS]``.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _table import Row, format_table, row

STEPS = 2000
ANSIBLE_SPEC = "ansible-core"


def playbook_text(n: int) -> str:
    lines = ["cslir: 1", "id: bench", "title: Benchmark", "steps:"]
    lines += [f"  - {{id: s{i:05d}, title: Step {i}}}" for i in range(n)]
    return "\n".join(lines) + "\n"


def cslir_seconds(n: int, work: Path, store: str | None = None) -> tuple[float, float]:
    """Wall times of an automated run of ``n`` task steps in-process: the steps alone, and
    the whole run from loading (and validating) the playbook to its close. The store is a
    SQLite file under ``work`` unless ``store`` names another (a PostgreSQL URL)."""
    from cslir.base.timefmt import utcnow
    from cslir.opsrepo.validate import load_playbook
    from cslir.runs.automation import drive
    from cslir.runs.effects import RunSession
    from cslir.runs.session import open_run
    from cslir.store import open_store
    from cslir.terminal.console import Term

    root = work / "ops"
    (root / "playbooks").mkdir(parents=True)
    path = root / "playbooks" / "bench.yaml"
    path.write_text(playbook_text(n), encoding="utf-8")
    opened = time.perf_counter()
    pb = load_playbook(path, root)
    with open_store(store or str(work / "cslir.db")) as db:
        run_id = open_run(db, pb, {}, actor="bench", now=utcnow())
        session = RunSession(db, run_id, "bench")
        term = Term(stdin=io.StringIO(), stdout=io.StringIO(), environ={})
        started = time.perf_counter()
        code = drive(session, None, auto=True, root=root, environ={}, say=term.say)
        ended = time.perf_counter()
        if code != 0 or not session.state().closed:
            raise RuntimeError(f"the benchmark run did not close (exit {code})")
    return ended - started, ended - opened


def floor_seconds(n: int, work: Path) -> float:
    """Wall time of ``n`` durable single-row commits: WAL, synchronous=FULL."""
    conn = sqlite3.connect(work / "floor.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE events (run TEXT, seq INTEGER, at TEXT, actor TEXT, type TEXT, data TEXT,"
        " prev_hash TEXT, hash TEXT, PRIMARY KEY (run, seq))"
    )
    data = '{"step":"s00000"}'
    started = time.perf_counter()
    for seq in range(1, n + 1):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ("run", seq, "2026-11-29T00:00:00.000000Z", "bench", "step.done", data,
             "0" * 64, "f" * 64),
        )  # fmt: skip
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or tempfile.gettempdir()
    return Path(base) / "cslir-bench"


def ansible_playbook() -> tuple[Path | None, str]:
    """The ansible-playbook of the benchmark's own virtualenv, made on first use."""
    venv = cache_dir() / "ansible-venv"
    exe = venv / "bin" / "ansible-playbook"
    if exe.is_file():
        return exe, ""
    try:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                       capture_output=True, timeout=300)  # fmt: skip
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", ANSIBLE_SPEC], check=True,
                       capture_output=True, text=True, timeout=900)  # fmt: skip
    except subprocess.CalledProcessError as e:
        tail = ((e.stderr or "") if isinstance(e.stderr, str) else "").strip().splitlines()
        return None, f"pip install {ANSIBLE_SPEC} failed: {tail[-1] if tail else e}"
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"could not make a virtualenv for {ANSIBLE_SPEC}: {e}"
    return (exe, "") if exe.is_file() else (None, "ansible-playbook missing after install")


def ansible_seconds(n: int, work: Path) -> tuple[float | None, str]:
    exe, why = ansible_playbook()
    if exe is None:
        return None, why
    play = work / "play.yml"
    tasks = "".join(
        f"    - name: step {i}\n      ansible.builtin.debug: {{msg: step {i}}}\n" for i in range(n)
    )
    play.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n" + tasks,
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
    }
    started = time.perf_counter()
    try:
        proc = subprocess.run([str(exe), "-i", "localhost,", str(play)], env=env, cwd=work,
                              capture_output=True, text=True, timeout=3600)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"ansible-playbook did not finish: {e}"
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        return None, f"ansible-playbook exited {proc.returncode}: {tail[-1] if tail else ''}"
    return elapsed, ""


def run(n: int = STEPS) -> list[Row]:
    """Rows of per-step milliseconds; ratios are against the raw durable commit (the floor)."""
    with tempfile.TemporaryDirectory(prefix="cslir-bench-") as tmp:
        work = Path(tmp)
        floor = row(f"raw SQLite commit, WAL + synchronous=FULL, x{n}",
                    floor_seconds(n, work) / n * 1000, "ms/step")  # fmt: skip
        steps, whole = cslir_seconds(n, work)
        ours = row(f"cslir run --auto, {n} task steps (the steps)", steps / n * 1000,
                   "ms/step", floor)  # fmt: skip
        all_in = row(f"cslir run --auto, {n} task steps (load, validate, open, steps)",
                     whole / n * 1000, "ms/step", floor)  # fmt: skip
        ansible, why = ansible_seconds(n, work)
    if ansible is None:
        other = row(f"ansible-core, {n} debug tasks (unavailable: {why})", None, "ms/step", floor)
    else:
        other = row(f"ansible-core, {n} debug tasks, connection: local",
                    ansible / n * 1000, "ms/step", floor)  # fmt: skip
    return [floor, ours, all_in, other]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else STEPS
    print(format_table(run(count)))
