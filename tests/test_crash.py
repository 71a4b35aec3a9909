"""A run of 100 command steps, its process killed with SIGKILL at random moments and resumed
each time: every step ends done exactly once, nothing the screen said was done is lost, and
the hash chain holds. On both stores: a SQLite file and a PostgreSQL schema (``store_url``)."""

from __future__ import annotations

import random
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

from runkit import cslir, cslir_argv, cslir_env, make_ops, outcomes, stored_events

from cslir.store import open_store

STEPS = 100
KILLS = 20
# Constant code: the step id is a literal argv item, never part of a shell string.
APPEND = "import sys; print(sys.argv[1], file=open('steps.log', 'a'))"
DONE = re.compile(r"^  (c\d{3}): done$")


def commands_playbook(root: Path) -> Path:
    lines = ["cslir: 1", "id: crash", "title: Crash test", "steps:"]
    lines += [
        f'  - {{id: c{i:03d}, kind: command, run: [python3, -c, "{APPEND}", c{i:03d}]}}'
        for i in range(STEPS)
    ]
    path = root / "playbooks" / "crash.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def the_run(store_url: str) -> str | None:
    with open_store(store_url) as store:
        runs = store.runs()
    return runs[0].id if runs else None


def attempt(argv: list[str], env: dict[str, str], root: Path, rng: random.Random,
            kill: bool) -> tuple[int, list[str]]:  # fmt: skip
    """Run cslir; when ``kill``, SIGKILL it a random moment after a random number of steps."""
    proc = subprocess.Popen(argv, env=env, cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    assert proc.stdout is not None
    said: list[str] = []
    if kill:
        wanted = rng.randint(0, 4)
        while sum(bool(DONE.match(line)) for line in said) < wanted:
            line = proc.stdout.readline()
            if not line:
                break
            said.append(line.rstrip("\n"))
        time.sleep(rng.uniform(0, 0.08))  # lands mid-command, mid-commit or between steps
        proc.kill()
    said += proc.stdout.read().splitlines()
    return proc.wait(timeout=120), said


def test_sigkill_at_random_moments_loses_nothing_and_resume_finishes(
    tmp_path: Path, store_url: str
) -> None:
    rng = random.Random(20260301)
    root = make_ops(tmp_path)
    commands_playbook(root)
    env = cslir_env(tmp_path, root, store=store_url)
    env["PYTHONUNBUFFERED"] = "1"
    kills = 0
    rid: str | None = None
    for _ in range(200):
        argv = (
            ["run", "playbooks/crash.yaml", "--auto"] if rid is None else ["resume", rid, "--auto"]
        )
        code, said = attempt(cslir_argv(*argv), env, root, rng, kill=kills < KILLS)
        rid = rid or the_run(store_url)
        if code == -9:
            kills += 1
        printed = {m.group(1) for line in said if (m := DONE.match(line))}
        if rid is not None:  # what the screen called done was durable before it was shown
            recorded = set(outcomes(stored_events(tmp_path, rid, store_url)))
            assert printed <= recorded, printed - recorded
        if code == 0:
            break
        assert code == -9, said  # only our kills end a process early
    assert kills >= KILLS
    assert rid is not None

    events = stored_events(tmp_path, rid, store_url)
    steps = [f"c{i:03d}" for i in range(STEPS)]
    # A command killed between its start and its recorded finish runs again on resume, so
    # the log may hold a step twice; the recorded outcomes may not.
    assert outcomes(events) == Counter(steps)
    assert [e.type for e in events].count("run.closed") == 1
    started = outcomes(events, "step.started")
    ran = Counter((root / "steps.log").read_text(encoding="utf-8").split())
    assert set(ran) == set(steps)
    assert all(ran[s] <= started[s] for s in steps), (ran, started)  # never run unrecorded
    verified = cslir("verify", rid, env=env, cwd=root)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(f"{rid}: {len(events)} events, chain intact; head ")
