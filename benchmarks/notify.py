"""Paging many slow routes at once, and what a hanging route costs the responder.

DESIGN.md "Budgets": paging 50 routes whose endpoints each take 200 ms finishes in about the
time of one; and the responder never waits on the network.

Four rows, all against a real HTTP server on 127.0.0.1 (tests/httpserver.py) and a real store:

- page 1 route: the outbox delivering one page to an endpoint that answers after 200 ms;
- page 50 routes: the same for 50 routes, each with its own 200 ms endpoint (the senders
  work concurrently, so this should take a few times the single page, not fifty);
- step, no routes: per-step wall time of an automated run (``autodrive.drive``, as
  ``cslir run --auto``) of 1,000 steps, every tenth a notify step, with no delivery worker;
- step, one route hanging: the same run with the delivery worker running in the background
  and every page going to an endpoint that never answers (10 s timeout).

Step rows are the median of five interleaved runs each (this machine's disk is noisy).

Run: ``python benchmarks/notify.py``.
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _table import Row, format_table, row

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from httpserver import LoopbackServer, Reply  # tests/ is on the path above

SLOW = 0.2  # seconds each endpoint takes to answer
ROUTES = 50
STEPS = 1000
REPEATS = 5  # runs of each kind; the median is reported
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test value


def ops(work: Path, routes: int, playbook: str) -> Path:
    root = work / "ops"
    for folder in ("notifiers", "playbooks"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "cslir.yaml").write_text("cslir: 1\n", encoding="utf-8")
    lines = ["cslir: 1", "routes:"]
    for i in range(routes):
        lines += [f"  r{i:02d}:", "    channel: webhook", "    url: ${env:HOOK_URL}",
                  "    secret: ${env:HOOK_SECRET}", "    timeout: 10s"]  # fmt: skip
    (root / "notifiers" / "routes.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "playbooks" / "bench.yaml").write_text(playbook, encoding="utf-8")
    return root


def page_seconds(routes: int, work: Path) -> float:
    """Wall time for the outbox to deliver one page to each of ``routes`` slow routes."""
    from cslir.base.timefmt import utcnow
    from cslir.notify.outbox import Outbox
    from cslir.notify.policy import Policy
    from cslir.notify.routes import RouteBook
    from cslir.opsrepo.validate import load_playbook
    from cslir.runs.effects import RunSession
    from cslir.runs.session import open_run
    from cslir.store.sqlite import Store

    playbook = "cslir: 1\nid: bench\ntitle: Bench\nsteps:\n  - {id: only, title: Only}\n"
    root = ops(work, routes, playbook)
    store_path = work / "cslir.db"
    with LoopbackServer() as server, Store(store_path) as store:
        server.script(*[Reply(200, delay=SLOW)] * routes)
        pb = load_playbook(root / "playbooks" / "bench.yaml", root)
        session = RunSession(store, open_run(store, pb, {}, actor="b", now=utcnow()), "b")
        for i in range(routes):
            session.page(f"r{i:02d}", f"page {i}")
        env = {"HOOK_URL": f"{server.url}/hook", "HOOK_SECRET": SECRET}
        outbox = Outbox(store_path, RouteBook(root), environ=env, policy=Policy())
        started = time.perf_counter()
        outbox.run(lambda ob: ob.settled(), time.monotonic() + 60)
        elapsed = time.perf_counter() - started
        delivered = sum(d["status"] == "delivered" for d in store.outbox.deliveries())
        if delivered != routes or len(server.requests) != routes:
            raise RuntimeError(f"{delivered} of {routes} pages delivered")
    return elapsed


def step_seconds(hanging: bool, work: Path) -> float:
    """Per-step wall time of an automated run; with ``hanging``, a worker pages a dead end."""
    from cslir.base.timefmt import utcnow
    from cslir.notify.background import Background
    from cslir.notify.outbox import Outbox
    from cslir.notify.policy import Policy
    from cslir.notify.routes import RouteBook
    from cslir.opsrepo.validate import load_playbook
    from cslir.runs.automation import drive
    from cslir.runs.effects import RunSession
    from cslir.runs.session import open_run
    from cslir.store.sqlite import Store
    from cslir.terminal.console import Term

    steps = ["cslir: 1", "id: bench", "title: Bench", "steps:"]
    for i in range(STEPS):
        if i % 10 == 0:
            steps.append(f"  - {{id: s{i:03d}, kind: notify, route: r00, message: page {i}}}")
        else:
            steps.append(f"  - {{id: s{i:03d}, title: Step {i}}}")
    root = ops(work, 1, "\n".join(steps) + "\n")
    store_path = work / "cslir.db"
    with LoopbackServer() as server, Store(store_path) as store:
        server.script(*[Reply(200, delay=60)] * STEPS)
        pb = load_playbook(root / "playbooks" / "bench.yaml", root)
        run_id = open_run(store, pb, {}, actor="b", now=utcnow())
        worker = None
        if hanging:
            env = {"HOOK_URL": f"{server.url}/hook", "HOOK_SECRET": SECRET}
            worker = Background(Outbox(store_path, RouteBook(root), environ=env, policy=Policy()))
            worker.start()
        session = RunSession(store, run_id, "b", on_notify=worker.outbox.notice if worker else None)
        session.page("r00", "warm-up")  # with a worker: measure while it is already hanging
        deadline = time.monotonic() + 10
        while worker is not None and not server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        term = Term(stdin=io.StringIO(), stdout=io.StringIO(), environ={})
        started = time.perf_counter()
        code = drive(session, None, auto=True, root=root, environ={}, say=term.say)
        elapsed = time.perf_counter() - started
        if worker is not None:
            reached = len(server.requests)
            worker.request_stop(0.0)
            worker.join()
            if not reached:
                raise RuntimeError("the worker never reached the hanging endpoint")
        if code != 0:
            raise RuntimeError(f"the benchmark run did not close (exit {code})")
    return elapsed / STEPS


def run() -> list[Row]:
    import requests  # noqa: F401  (imported once per process either way; not a per-step cost)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        one = row("page 1 route (endpoint 200 ms)", page_seconds(1, work / "one"), "s")
        many = page_seconds(ROUTES, work / "many")
        quiet_runs, hung_runs = [], []
        for i in range(REPEATS):  # interleaved, so a noisy moment hits both alike
            quiet_runs.append(step_seconds(False, work / f"quiet{i}") * 1000)
            hung_runs.append(step_seconds(True, work / f"hung{i}") * 1000)
        quiet, hung = statistics.median(quiet_runs), statistics.median(hung_runs)
    base = row("step of an automated run, no routes", quiet, "ms/step")
    return [
        one,
        row(f"page {ROUTES} routes (endpoint 200 ms each)", many, "s", one),
        base,
        row("step of the same run, one route hanging", hung, "ms/step", base),
    ]


if __name__ == "__main__":
    print(format_table(run()))
