"""Reporting a long run: time and peak memory of each format against reading the events alone.

DESIGN.md "Budgets": a 10,000-event run reports in under a second; memory stays flat as runs
grow. The run is the shipped leak playbook worked to the end, padded with what a long incident
accumulates: notes, pages and their deliveries, evidence, checklist ticks and clock warnings.

Rows, each measured on a real store file:

- reading the events alone (``Store.iter_events``), the baseline for time and memory;
- ``cslir report`` in md, html and json: fold, build and render to a file;
- the peak memory (tracemalloc) of each format at 1,000, 10,000 and 20,000 events, against
  1,000. Section rows (notes, pages, evidence, command outputs) are kept from the first pass up
  to a fixed budget (``cslir.report.sections.KEEP_CHARS``) and read again beyond it, so memory
  rises until a run fills that budget and is flat after: 20,000 events cost what 10,000 do.

Run: ``python benchmarks/report.py [EVENTS]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from _table import Row, format_table, row

EVENTS = 10_000
SIZES = (1_000, 10_000, 20_000)  # for peak memory
FORMATS = ("md", "html", "json")
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def make_run(path: Path, n: int) -> str:
    """A closed run of the leak playbook with ``n`` events in all."""
    from cslir.engine.events import NewEvent
    from cslir.opsrepo.validate import load_playbook
    from cslir.runs.session import open_run
    from cslir.store.sqlite import Store

    scaffold = Path(str(files("cslir").joinpath("data", "scaffold")))
    pb = load_playbook(scaffold / "playbooks" / "leak.yaml", scaffold)  # its includes expanded
    inputs = {"detected_at": "2026-03-02T00:00:00Z", "system": "crm", "operator": "other",
              "pi_involved": True}  # fmt: skip
    with Store(path) as store:
        run = open_run(store, pb, inputs, actor="alice", timezone="Asia/Shanghai", now=T0,
                       run_id="bench")  # fmt: skip
        work: list[tuple[str, str, dict[str, object]]] = []
        for step in pb.steps:
            if step.kind == "decision":
                value = "relatively_major" if step.sets == "grade" else True
                data = {"step": step.id, "input": step.sets, "value": value, "rationale": "why"}
                work.append(("carol", "decision.made", data))
            elif step.kind == "approval":
                work.append(("alice", "approval.requested", {"step": step.id, "by": step.by}))
                work.append(("erin", "approval.granted", {"step": step.id, "role": step.by}))
            else:
                work.append(("bob", "step.started", {"step": step.id}))
                work.append(("bob", "step.done", {"step": step.id}))
        filler = n - 2 - len(work)  # run.opened and run.closed are the other two
        padding = [_filler(i) for i in range(filler)]
        drafts = padding[: filler // 2] + work + padding[filler // 2 :]
        span = timedelta(hours=6) / max(1, len(drafts))
        items = [NewEvent(actor, type, data, T0 + span * (i + 1))
                 for i, (actor, type, data) in enumerate(drafts)]  # fmt: skip
        items.append(
            NewEvent("cslir", "run.closed", {"steps": {}}, T0 + timedelta(hours=6, seconds=1))
        )
        for start in range(0, len(items), 2000):
            store.append_many(run, items[start : start + 2000])
    return run


def _filler(i: int) -> tuple[str, str, dict[str, object]]:
    kind = i % 10
    if kind < 5:
        return ("alice", "note.added", {"text": f"Update {i}: still watching the exfil path"})
    if kind < 7:
        return ("alice", "notify.requested", {"route": "ic-pager", "message": f"Page {i}",
                                              "reason": "page"})  # fmt: skip
    if kind < 9:
        return ("cslir", "notify.delivered", {"route": "ic-pager", "attempts": 1, "detail": "202"})
    sha = f"{i:064x}"
    return ("dave", "evidence.added", {"kind": "file", "name": f"log-{i}.txt", "sha256": sha,
                                       "size": 1024 + i})  # fmt: skip


def _read(store_path: Path, run: str) -> Callable[[], None]:
    from cslir.store.sqlite import Store

    def work() -> None:
        with Store(store_path) as store:
            for _ in store.iter_events(run):
                pass

    return work


def _report(store_path: Path, run: str, fmt: str, out: Path) -> Callable[[], None]:
    from cslir.report.model import build_report
    from cslir.report.render import write_file
    from cslir.store.sqlite import Store

    def work() -> None:
        with Store(store_path) as store:
            report = build_report(lambda: store.iter_events(run), lang="en")
            write_file(report, fmt, out)

    return work


def seconds(work: Callable[[], None], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def peak_mib(work: Callable[[], None]) -> float:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / (1 << 20)
    finally:
        tracemalloc.stop()


def run(n: int = EVENTS) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="cslir-bench-report-") as tmp:
        work = Path(tmp)
        big = work / "big.db"
        run_id = make_run(big, n)
        sized = {size: work / f"{size}.db" for size in SIZES}
        for size, path in sized.items():
            make_run(path, size)
        _report(big, run_id, "md", work / "warm.md")()  # imports and template compiles
        read_time = row(f"read {n:,} events (Store.iter_events)",
                        seconds(_read(big, run_id)) * 1000, "ms")  # fmt: skip
        read_mem = row(f"read {n:,} events, peak memory", peak_mib(_read(big, run_id)), "MiB")
        rows = [read_time]
        for fmt in FORMATS:
            out = work / f"report.{fmt}"
            took = seconds(_report(big, run_id, fmt, out)) * 1000
            rows.append(row(f"cslir report --format {fmt}, {n:,} events"
                            f" ({out.stat().st_size / (1 << 20):.1f} MiB out)", took, "ms",
                            read_time))  # fmt: skip
        rows.append(read_mem)
        for fmt in FORMATS:
            out = work / f"mem.{fmt}"
            first: Row | None = None
            for size, path in sized.items():
                peak = peak_mib(_report(path, run_id, fmt, out))
                rows.append(row(f"report {fmt}, peak memory at {size:,} events", peak, "MiB",
                                first))  # fmt: skip
                first = first or rows[-1]
    return rows


if __name__ == "__main__":
    print(format_table(run(int(sys.argv[1]) if len(sys.argv) > 1 else EVENTS)))
