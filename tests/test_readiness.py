"""``cslir readiness`` against real stores: never drilled, overdue, weak, past due, untested
routes, ready; the HTML page in headless Chromium; ``cslir drill list``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from drillkit import drill_env, drill_ops, run_id_from
from httpserver import LoopbackServer, Reply, loopback_server
from runkit import cslir, store_path
from test_report_browser import browser, evaluate, open_page, problems, requests

from cslir.drills.holding import open_drill
from cslir.drills.model import load_drill
from cslir.store.sqlite import Store

__all__ = ["browser"]  # a fixture, used by name
ROUTES = ("legal-pager", "ic-room", "drill-room")


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


def ready_ops(
    tmp_path: Path, server: LoopbackServer, *, hold: bool = True
) -> tuple[Path, dict[str, str]]:
    """tabletop drilled today (if ``hold``) and every route it pages tested."""
    root = drill_ops(tmp_path, "monthly")
    env = drill_env(tmp_path, root, server)
    server.script(*[Reply(200)] * (len(ROUTES) + 5))
    for route in ROUTES:
        assert cslir("notify", "test", route, env=env, cwd=root).returncode == 0
    if hold:
        held = cslir("drill", "run", "drills/monthly.yaml", "--auto", env=env, cwd=root)
        assert held.returncode == 0, held.stderr
    (root / "playbooks" / "paced.yaml").unlink()  # a playbook of its own below, per test
    return root, env


def verdict(root: Path, env: dict[str, str]) -> tuple[int, dict[str, object]]:
    done = cslir("readiness", "--json", env=env, cwd=root)
    return done.returncode, json.loads(done.stdout)


def book(data: dict[str, object], playbook: str) -> dict[str, object]:
    return next(b for b in data["playbooks"] if b["playbook"] == playbook)  # type: ignore[attr-defined,index]


def test_a_drilled_playbook_whose_routes_were_tested_is_ready(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root, env = ready_ops(tmp_path, server)
    done = cslir("readiness", env=env, cwd=root)
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert lines[0].startswith("READY: 1 of 1 playbook(s) ready, as of ")
    assert lines[2] == "tabletop (playbooks/tabletop.yaml): READY"
    assert lines[4] == "  drills: tabletop-monthly; cadence 30d; improvement items open: 0"
    assert lines[5] == "  clock cac-report: feasible (slack 1h)"  # no estimates: no time taken


def test_a_playbook_no_drill_rehearses_is_not_ready(tmp_path: Path, server: LoopbackServer) -> None:
    root, env = ready_ops(tmp_path, server)
    text = (root / "playbooks" / "tabletop.yaml").read_text("utf-8")
    (root / "playbooks" / "spare.yaml").write_text(text.replace("id: tabletop", "id: spare"))
    code, data = verdict(root, env)
    assert (code, data["verdict"], data["not_ready"]) == (1, "NOT READY", ["spare"])
    assert book(data, "spare")["reasons"] == ["no drill in drills/ rehearses it"]


def test_a_drill_never_held_makes_its_playbook_not_ready(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root, env = ready_ops(tmp_path, server)
    (root / "drills" / "monthly.yaml").write_text(
        (root / "drills" / "monthly.yaml").read_text("utf-8").replace(
            "id: tabletop-monthly", "id: tabletop-renamed"),
        "utf-8",
    )  # fmt: skip
    code, data = verdict(root, env)
    assert code == 1
    assert book(data, "tabletop")["reasons"] == ["never drilled (drills: tabletop-renamed)"]


def test_an_overdue_playbook_is_not_ready_and_says_since_when(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root, env = ready_ops(tmp_path, server, hold=False)
    old = datetime.now(UTC) - timedelta(days=40)
    drill, playbook = load_drill(root / "drills" / "monthly.yaml", root)
    with Store(store_path(tmp_path)) as store:  # the drill was last held 40 days ago
        rid = open_drill(store, drill, playbook, actor="alice", now=old, timezone=None)
        store.append(rid, "cslir", "run.closed", {"steps": {}}, old + timedelta(hours=1))
    code, data = verdict(root, env)
    [reason] = book(data, "tabletop")["reasons"]  # type: ignore[misc]
    assert code == 1
    due = (old + timedelta(days=30, hours=1)).date()
    assert reason == (
        f"last drilled {(old + timedelta(hours=1)).date()} (tabletop-monthly, run {rid}); "
        f"overdue against its 30d cadence (was due {due})"
    )


def test_weak_objectives_past_due_items_and_untested_or_unset_routes_are_reasons(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root, env = ready_ops(tmp_path, server)
    skip = tmp_path / "skip.yaml"
    skip.write_text("steps: {report: {outcome: skip, reason: line busy}}\n", encoding="utf-8")
    rid = run_id_from(cslir("drill", "run", "drills/monthly.yaml", "--auto", "--answers",
                            str(skip), env=env, cwd=root).stdout)  # fmt: skip
    cslir("improve", rid, "Staff the regulator line", "--owner", "li", "--due", "2020-01-31",
          env=env, cwd=root)  # fmt: skip
    for path in (root / "notifiers" / "routes.yaml", root / "playbooks" / "tabletop.yaml"):
        path.write_text(path.read_text("utf-8").replace("legal-pager", "legal2"), "utf-8")
    env.pop("CSLIR_TEST_HOOK_SECRET")
    code, data = verdict(root, env)
    assert code == 1
    assert book(data, "tabletop")["reasons"] == [
        f"objective report-fast was rated U in the last drill (run {rid})",
        f"improvement I1 of run {rid} is past due (2020-01-31, owner li): Staff the regulator line",
        "route legal2 misses environment variable(s) CSLIR_TEST_HOOK_SECRET",
        "route legal2 has never delivered a message (test it: cslir notify test legal2)",
        "route ic-room misses environment variable(s) CSLIR_TEST_HOOK_SECRET",
        "route drill-room misses environment variable(s) CSLIR_TEST_HOOK_SECRET",
    ]


def test_the_html_page_is_self_contained_and_loads_clean_in_chromium(
    tmp_path: Path, server: LoopbackServer, browser: object
) -> None:
    root, env = ready_ops(tmp_path, server)
    page = tmp_path / "readiness.html"
    done = cslir("readiness", "--format", "html", "-o", str(page), env=env, cwd=root)
    assert (done.returncode, done.stderr) == (0, f"{page}: READY\n")
    sid = open_page(browser, page)  # type: ignore[arg-type]
    verdict_text = evaluate(browser, sid, "document.querySelector('.verdict').textContent")  # type: ignore[arg-type]
    rows = evaluate(browser, sid, "document.querySelectorAll('#summary tbody tr').length")  # type: ignore[arg-type]
    browser.call("Runtime.evaluate", {"expression": "1"}, session=sid)  # type: ignore[attr-defined]
    assert (verdict_text, rows) == ("READY", 1)
    assert problems(browser) == []  # type: ignore[arg-type]
    assert requests(browser) == [page.as_uri()]  # type: ignore[arg-type]


def test_drill_list_shows_schedule_next_fire_last_run_and_cadence(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root, env = ready_ops(tmp_path, server)
    [row] = json.loads(cslir("drill", "list", "--json", env=env, cwd=root).stdout)
    assert (row["id"], row["cron"], row["timezone"], row["runs"], row["overdue"]) == (
        "tabletop-monthly",
        "0 10 * * *",
        "Asia/Shanghai",
        1,
        False,
    )
    assert row["next_fire"].endswith("T02:00:00.000000Z")  # 10:00 in Shanghai
    assert row["last_ratings"] == {"report-fast": "P", "cac-clock": "P"}
    text = cslir("drill", "list", env=env, cwd=root).stdout
    assert text.startswith("tabletop-monthly (tabletop): 0 10 * * * (Asia/Shanghai), next ")
    assert "report-fast P, cac-clock P; due again by " in text


def test_a_clock_its_estimates_cannot_meet_makes_its_playbook_not_ready(
    tmp_path: Path, server: LoopbackServer
) -> None:
    root, env = ready_ops(tmp_path, server)
    path = root / "playbooks" / "tabletop.yaml"
    text = path.read_text("utf-8")
    path.write_text(text.replace("  - id: assess\n", "  - id: assess\n    estimate: 5h\n"))
    code, data = verdict(root, env)
    assert (code, data["not_ready"]) == (1, ["tabletop"])
    [clock] = book(data, "tabletop")["plan"]
    assert (clock["clock"], clock["verdict"], clock["path"]) == (
        "cac-report",
        "infeasible",
        ["contain", "assess", "page-legal", "report"],
    )
    assert book(data, "tabletop")["reasons"][-1] == (
        "clock cac-report cannot be met with the playbook's estimates "
        f"(see: cslir plan {root / 'playbooks' / 'tabletop.yaml'})"
    )
    shown = cslir("readiness", env=env, cwd=root).stdout.splitlines()
    assert "  clock cac-report: infeasible (late by 4h)" in shown  # the 1h due_if is the worst
