"""`cslir report` and `cslir improve`: the record rendered from the event log alone.

The goldens in tests/golden are the reports of the fixed run in tests/reportrun.py. After a
deliberate change, regenerate them with `UPDATE_GOLDEN=1 pytest tests/test_report.py` and read
the diff before committing it.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import reportrun

from cslir.__main__ import main
from cslir.base.errors import ActionRefused, InvalidInput
from cslir.engine import actions
from cslir.engine.events import Event, format_at
from cslir.report import chart, sections
from cslir.report.improvements import Improvements
from cslir.report.labels import _TABLE, LANGS, labels
from cslir.report.model import build_report
from cslir.report.render import render, write_json
from cslir.report.sections import Rows, materialize
from cslir.runs.effects import RunSession
from cslir.runs.session import open_run
from cslir.store.sqlite import Store

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden"
SCHEMA = json.loads((REPO / "schema" / "report.schema.json").read_text(encoding="utf-8"))
WALL = datetime(2030, 1, 1, tzinfo=UTC)  # a clock no closed-run report may read


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> reportrun.FixedRun:
    return reportrun.build(tmp_path_factory.mktemp("fixed"))


def render_text(report: dict[str, Any], fmt: str, *, template_dir: Path | None = None) -> str:
    parts: list[str] = []
    render(report, fmt, parts.append, template_dir=template_dir)
    return "".join(parts)


def report_of(run: reportrun.FixedRun, lang: str = "en", **kw: Any) -> dict[str, Any]:
    return build_report(run.source(), lang=lang, clock=lambda: WALL, **kw)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden {path}; make it with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden"


def validate(doc: Any) -> None:
    jsonschema.validate(
        doc, SCHEMA, cls=jsonschema.Draft202012Validator, format_checker=jsonschema.FormatChecker()
    )


# -- goldens and the schema ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_markdown_report_matches_its_golden(fixed: reportrun.FixedRun, lang: str) -> None:
    check_golden(f"report.{lang}.md", render_text(report_of(fixed, lang), "md"))


@pytest.mark.parametrize("lang", LANGS)
def test_json_report_matches_its_golden(fixed: reportrun.FixedRun, lang: str) -> None:
    check_golden(f"report.{lang}.json", render_text(report_of(fixed, lang), "json"))


@pytest.mark.parametrize("lang", LANGS)
def test_json_report_validates_against_the_committed_schema(
    fixed: reportrun.FixedRun, lang: str
) -> None:
    doc = json.loads(render_text(report_of(fixed, lang), "json"))
    validate(doc)
    assert doc["report_version"] == 1


def test_the_schema_is_itself_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_streamed_json_is_exactly_json_dumps_of_the_materialized_report(
    fixed: reportrun.FixedRun,
) -> None:
    report = report_of(fixed)
    parts: list[str] = []
    write_json(report, parts.append)
    assert "".join(parts) == json.dumps(materialize(report), indent=2, ensure_ascii=False)


# -- what the report says -----------------------------------------------------------------------


def test_closed_run_is_reported_as_of_its_last_event_whatever_the_clock(
    fixed: reportrun.FixedRun,
) -> None:
    early = build_report(fixed.source(), clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    late = report_of(fixed)
    assert early["as_of"] == late["as_of"] == fixed.events()[-1].at
    assert render_text(early, "md") == render_text(late, "md")


def test_open_run_is_reported_as_of_the_clock_with_its_clocks_still_counting(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "cslir.db")
    t0 = reportrun.DETECTED
    inputs = {"detected_at": format_at(t0), "system": "crm", "operator": "other"}
    open_run(store, reportrun.load_playbook(), inputs, actor="alice", timezone="UTC",
             now=t0, run_id="open-run")  # fmt: skip
    now = t0 + timedelta(hours=5)
    report = build_report(lambda: store.iter_events("open-run"), clock=lambda: now)
    clocks = {c["id"]: c for c in report["clocks"]}
    assert report["as_of"] == "2026-03-02T05:00:00.000000Z"
    assert report["overview"]["closed"] is None
    assert report["overview"]["duration_seconds"] == 5 * 3600
    assert (clocks["pipl-notices"]["state"], clocks["pipl-notices"]["margin_seconds"]) == (
        "overdue",
        -3600,
    )
    assert clocks["initial-report"]["applies"] is None  # the grade is not known yet
    assert "1h late" in render_text(report, "md")


def test_report_is_built_from_events_alone_without_a_store(fixed: reportrun.FixedRun) -> None:
    events = fixed.events()
    from_list = build_report(lambda: iter(events), lang="en", clock=lambda: WALL)
    assert materialize(from_list) == materialize(report_of(fixed))


def test_sections_stop_at_the_event_the_fold_stopped_at(fixed: reportrun.FixedRun) -> None:
    events = fixed.events()
    shown = events[:30]
    calls = {"n": 0}

    def source() -> list[Event]:
        calls["n"] += 1  # the fold saw 30 events; later reads see the run grown to all of them
        return shown if calls["n"] == 1 else events

    report = build_report(source, clock=lambda: WALL)
    assert [row["seq"] for row in report["timeline"]] == list(range(1, 31))
    assert len(report["timeline"]) == 30


def test_notifications_carry_their_delivery_or_pending(fixed: reportrun.FixedRun) -> None:
    rows = {n["seq"]: n for n in report_of(fixed)["notifications"]}
    assert {seq: n["status"] for seq, n in rows.items()} == {
        5: "delivered",
        23: "failed",
        33: "delivered",  # matched by route: the oldest undelivered request to ic-pager
        38: "pending",
    }
    assert (rows[23]["error"], rows[23]["attempts"]) == (
        "HTTP 503 (gave up after 5 attempt(s) in 2m)",
        5,
    )


def test_outbox_delivery_events_are_matched_by_route_and_resolves_ignored(tmp_path: Path) -> None:
    store = Store(tmp_path / "cslir.db")
    t0 = reportrun.DETECTED
    open_run(store, reportrun.load_playbook(), {}, actor="alice", timezone="UTC", now=t0,
             run_id="r")  # fmt: skip

    def add(minutes: int, actor: str, type: str, data: dict[str, Any]) -> None:
        store.append("r", actor, type, data, t0 + timedelta(minutes=minutes))

    add(1, "alice", "notify.requested", {"route": "legal-oncall", "message": "one"})
    add(2, "alice", "notify.requested", {"route": "legal-oncall", "message": "two"})
    add(3, "cslir", "notify.delivered", {"delivery": 7, "route": "legal-oncall", "attempts": 1,
                                         "detail": "HTTP 200", "event": "resolve"})  # fmt: skip
    add(4, "cslir", "notify.failed", {"delivery": 1, "route": "legal-oncall", "attempts": 5,
                                      "detail": "HTTP 500", "fallback": "ic-pager"})  # fmt: skip
    rows = list(build_report(lambda: store.iter_events("r"), clock=lambda: t0)["notifications"])
    assert [(n["message"], n["status"], n["error"], n["fallback"]) for n in rows] == [
        ("one", "failed", "HTTP 500", "ic-pager"),
        ("two", "pending", None, None),
    ]


def test_steps_show_duration_only_where_a_start_was_recorded(fixed: reportrun.FixedRun) -> None:
    steps = {s["id"]: s for s in report_of(fixed)["steps"]}
    assert (steps["contain"]["duration_seconds"], steps["contain"]["estimate_seconds"]) == (
        34 * 60,
        30 * 60,
    )
    assert steps["grade"]["started"] is None and steps["grade"]["duration_seconds"] is None
    assert steps["rotate-keys"]["attempts"] == 2


def test_mitigation_file_cites_the_law_and_states_the_facts(fixed: reportrun.FixedRun) -> None:
    report = report_of(fixed)
    lenient = report["leniency"]
    assert lenient["basis"] == [
        "CAC Incident Reporting Measures Art 11",
        'Cybersecurity Law (2025 amendment) leniency clause ("Art 73", number unconfirmed)',
        "Administrative Penalty Law Art 32",
        "Administrative Penalty Law Art 33",
    ]
    rows = [(r["step"], r["clock"], r["status"], r["state"], r["margin_seconds"])
            for r in lenient["reports"]]  # fmt: skip
    assert rows == [
        ("first-report", "initial-report", "done", "met", 92 * 60),  # filed at 2:28, not 2:35
        ("notify-individuals", "pipl-notices", "done", "missed", -30 * 60),
        ("police-report", None, "skipped", None, None),
        ("final-report", "final-report", "done", "met", report["clocks"][3]["margin_seconds"]),
        (None, None, "done", None, None),  # the supplementary report, logged as a dealing
    ]  # grading is stopped by a decision: an internal target, not a report
    assert (
        lenient["reports"][2]["reason"]
        == "No sign of a crime: a misconfigured bucket, no intrusion"
    )
    assert lenient["reports"][4]["title"] == "Supplementary report: 1.2 M records"
    assert [c["step"] for c in lenient["measures"]] == [
        "contain",
        "rotate-keys",
        "notify-individuals",
    ]
    assert [c["step"] for c in lenient["evidence"]] == ["open"]
    assert lenient["cooperation"] == []  # a skipped police report is no cooperation
    assert lenient["plan"]["skipped"] == [
        {"step": "police-report", "title": "Report to the police",
         "reason": "No sign of a crime: a misconfigured bucket, no intrusion"}
    ]  # fmt: skip
    assert [c["id"] for c in lenient["corrections"]] == ["I2"]
    md = render_text(report, "md")
    for law in (
        "Measures Art 11",
        "Administrative Penalty Law Art 32",
        "Art 33",
        "cited as Art 73",
    ):
        assert law in md
    assert "rendered meritorious service" in md


def test_drill_runs_are_marked_in_the_report(tmp_path: Path) -> None:
    run = reportrun.build(tmp_path, mode="drill")
    report = build_report(run.source(), clock=lambda: WALL)
    md, html = render_text(report, "md"), render_text(report, "html")
    assert report["leniency"]["drill"] is True
    assert "DRILL" in md and "DRILL" in html
    assert labels("en")["len_drill"] in md


# -- templates: sandbox, escaping, overrides ---------------------------------------------------


def test_html_is_autoescaped_and_markdown_escapes_recorded_text(fixed: reportrun.FixedRun) -> None:
    report = report_of(fixed)
    html, md = render_text(report, "html"), render_text(report, "md")
    assert "SMS gateway &lt;throttled&gt; the batch" in html
    assert "<throttled>" not in html
    assert r"SMS gateway \<throttled\> the batch; resending \*now\*" in md
    note_row = next(line for line in md.splitlines() if "| 27 |" in line)
    assert note_row.count(" | ") == 4  # the "|" in the note does not split the row


def test_html_is_one_file_that_asks_for_nothing(fixed: reportrun.FixedRun) -> None:
    html = render_text(report_of(fixed), "html")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=|@import|@font-face|url\((?!#)""", html)
    assert "default-src 'none'" in html
    assert "@media print" in html
    assert html.count('<rect class="step"') == 12


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_template_dir_overrides_the_shipped_template(
    fixed: reportrun.FixedRun, tmp_path: Path, fmt: str
) -> None:
    (tmp_path / f"report.{fmt}.j2").write_text("{{ r.overview.run }} {{ notes_text }}", "utf-8")
    with pytest.raises(InvalidInput, match="notes_text"):  # StrictUndefined: never a blank
        render_text(report_of(fixed), fmt, template_dir=tmp_path)
    (tmp_path / f"report.{fmt}.j2").write_text("{{ r.overview.run }}: {{ t.timeline }}", "utf-8")
    rendered = render_text(report_of(fixed), fmt, template_dir=tmp_path)
    assert rendered == f"{reportrun.RUN_ID}: Timeline"


def test_html_override_is_autoescaped_too(fixed: reportrun.FixedRun, tmp_path: Path) -> None:
    (tmp_path / "report.html.j2").write_text("{% for n in r.notes %}{{ n.text }}\n{% endfor %}")
    out = render_text(report_of(fixed), "html", template_dir=tmp_path)
    assert "&lt;throttled&gt;" in out


def test_templates_run_in_the_sandbox(fixed: reportrun.FixedRun, tmp_path: Path) -> None:
    (tmp_path / "report.md.j2").write_text("{{ r.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(InvalidInput, match="template error"):
        render_text(report_of(fixed), "md", template_dir=tmp_path)


def test_every_label_exists_in_both_languages() -> None:
    for key, texts in _TABLE.items():
        assert len(texts) == len(LANGS) and all(t.strip() for t in texts), key
    assert labels("zh")["timeline"] == "时间线"


@pytest.mark.parametrize("lang", LANGS)
def test_playbook_text_is_shown_in_the_chosen_language(
    fixed: reportrun.FixedRun, lang: str
) -> None:
    md = render_text(report_of(fixed, lang), "md")
    title, other = ("Customer data leak", "客户数据泄露")[:: 1 if lang == "en" else -1]
    assert f"# {labels(lang)['title']}{labels(lang)['colon']}{title}" in md
    assert other not in md


# -- the chart ----------------------------------------------------------------------------------


def test_chart_compresses_long_idle_stretches_and_draws_every_finished_step(
    fixed: reportrun.FixedRun,
) -> None:
    report = materialize(report_of(fixed))
    drawn = chart.build(report, lambda code: code or "")
    assert [round(b["seconds"] / 86400) for b in drawn["breaks"]] == [11, 19]
    steps = [lane for lane in drawn["lanes"] if lane["kind"] == "step"]
    assert all(lane["bar"] and lane["bar"]["w"] >= 3 for lane in steps)
    xs = [lane["bar"]["x"] for lane in steps]
    assert all(chart.PLOT_X <= x <= chart.PLOT_X + chart.PLOT_W for x in xs)
    missed = next(d for d in drawn["deadlines"] if d["state"] == "missed")
    notify = next(lane for lane in steps if lane["label"] == "Notify the people affected")
    assert notify["bar"]["x"] > missed["x"]  # the late step is drawn after its deadline


def test_chart_draws_a_step_under_way_as_running_up_to_now(tmp_path: Path) -> None:
    store = Store(tmp_path / "cslir.db")
    t0 = reportrun.DETECTED
    open_run(store, reportrun.load_playbook(), {"detected_at": format_at(t0)}, actor="a",
             timezone="UTC", now=t0, run_id="r")  # fmt: skip
    RunSession(store, "r", "bob", now=lambda: t0).record(lambda st: actions.start(st, "contain"))
    now = t0 + timedelta(minutes=90)
    report = materialize(build_report(lambda: store.iter_events("r"), clock=lambda: now))
    drawn = chart.build(report, lambda code: code or "")
    contain = next(lane for lane in drawn["lanes"] if lane["label"] == "Contain the leak")
    assert report["steps"][1]["status"] == "ready"  # a task under way is "ready" to be done
    assert contain["state"] == "running"
    assert contain["bar"]["x"] + contain["bar"]["w"] == pytest.approx(drawn["now"], abs=0.2)


def test_templated_step_titles_are_rendered_as_the_walkthrough_shows_them(tmp_path: Path) -> None:
    from cslir.opsrepo.validate import load_playbook

    store = Store(tmp_path / "cslir.db")
    t0 = reportrun.DETECTED
    walk = load_playbook(REPO / "tests" / "playbooks" / "run" / "walk.yaml", REPO)
    open_run(store, walk, {"detected_at": format_at(t0), "system": "crm", "records": 5},
             actor="a", timezone="UTC", now=t0, run_id="r")  # fmt: skip
    RunSession(store, "r", "bob", now=lambda: t0).record(lambda st: actions.done(st, "contain"))
    report = build_report(lambda: store.iter_events("r"), clock=lambda: t0)
    md, html = render_text(report, "md"), render_text(report, "html")
    assert materialize(report)["steps"][0]["title"] == "Contain the leak on crm"
    assert "Contain the leak on crm" in md and "Contain the leak on crm" in html
    assert "{{" not in md and "{{" not in html


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def ops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> reportrun.FixedRun:
    """The fixed run in the store of an ops repo that cslir finds from the working directory."""
    root = tmp_path / "ops"
    root.mkdir()
    (root / "cslir.yaml").write_text("cslir: 1\ntimezone: Asia/Shanghai\nlanguage: zh\n")
    run = reportrun.build(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("CSLIR_ROOT", raising=False)
    monkeypatch.delenv("CSLIR_STORE", raising=False)
    monkeypatch.setenv("CSLIR_RESPONDER", "frank")
    return run


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_report_command_prints_markdown_in_the_settings_language(
    ops: reportrun.FixedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(["report", "20260302"], capsys)
    assert (rc, err) == (0, "")
    assert out == (GOLDEN / "report.zh.md").read_text(encoding="utf-8")


def test_report_command_writes_each_format_to_a_file(
    ops: reportrun.FixedRun, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for fmt in ("md", "html", "json"):
        out_path = tmp_path / f"r.{fmt}"
        rc, out, err = cli(["report", reportrun.RUN_ID, "--format", fmt, "--lang", "en",
                            "-o", str(out_path)], capsys)  # fmt: skip
        assert (rc, out) == (0, "")
        assert err == f"{out_path}: {fmt} report of {reportrun.RUN_ID}\n"
    validate(json.loads((tmp_path / "r.json").read_text(encoding="utf-8")))
    assert (tmp_path / "r.md").read_text("utf-8") == (GOLDEN / "report.en.md").read_text("utf-8")


def test_report_command_names_an_unknown_run(
    ops: reportrun.FixedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["report", "nope"], capsys) == (1, "", "cslir: error: no run matches 'nope'\n")


def test_report_command_reports_a_broken_override_in_one_line(
    ops: reportrun.FixedRun, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "report.md.j2").write_text("{{ r.overview.run }\n")
    rc, out, err = cli(["report", reportrun.RUN_ID, "--template", str(tmp_path)], capsys)
    assert (rc, out) == (1, "")
    assert err.startswith("cslir: error: ") and err.count("\n") == 1
    assert "report.md.j2:1: template error" in err


def test_improve_adds_lists_and_closes_items_with_ids_from_the_log(
    ops: reportrun.FixedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    rid = reportrun.RUN_ID
    added = cli(["improve", rid, "Drill the SMS fallback", "--owner", "bob", "--due", "2026-05-31"],
                capsys)  # fmt: skip
    assert added == (0, f"{rid}: improvement I4 added (owner bob, due 2026-05-31)\n", "")
    assert cli(["improve", rid, "--close", "i4"], capsys) == (
        0, f"{rid}: improvement I4 closed\n", "",
    )  # fmt: skip
    _, out, _ = cli(["improve", rid], capsys)
    assert out.splitlines()[-1] == "I4   closed due 2026-05-31  bob: Drill the SMS fallback"
    last = ops.events()[-2:]
    assert [(e.type, dict(e.data), e.actor) for e in last] == [
        ("improvement.added", {"id": "I4", "text": "Drill the SMS fallback", "owner": "bob",
                               "due": "2026-05-31"}, "frank"),
        ("improvement.closed", {"id": "I4"}, "frank"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "rc", "message"),
    [
        (["x", "--owner", "bob", "--due", "31/12/2026"],
         1, "cslir: error: --due '31/12/2026' is not a date: write it as 2026-12-31\n"),
        (["x", "--owner", "bob"], 2, "Error: a new item needs --owner NAME and --due DATE\n"),
        (["--close", "I9"], 1, "cslir: error: no improvement I9 in this run; ids: I1, I2, I3\n"),
        (["--close", "I2"], 1, "cslir: error: improvement I2 is already closed\n"),
        (["x", "--close", "I1"], 2,
         "Error: give TEXT to add an item or --close ID to close one, not both\n"),
    ],
)  # fmt: skip
def test_improve_refuses_what_it_cannot_record(
    ops: reportrun.FixedRun, capsys: pytest.CaptureFixture[str], args: list[str], rc: int,
    message: str,
) -> None:  # fmt: skip
    before = len(ops.events())
    got_rc, out, err = cli(["improve", reportrun.RUN_ID, *args], capsys)
    assert (got_rc, out) == (rc, "")
    assert err.endswith(message)
    assert len(ops.events()) == before


def test_two_people_adding_at_once_get_different_ids(ops: reportrun.FixedRun) -> None:
    store, rid = ops.store, ops.run_id
    mine = RunSession(store, rid, "alice")
    theirs = RunSession(store, rid, "bob")
    raced = {"done": False}

    def plan_then_race(st: Any) -> list[tuple[str, dict[str, Any]]]:
        planned = Improvements(e for e in store.iter_events(rid) if e.seq <= st.last_seq)
        items = planned.add("Mine", "alice", "2026-06-01")
        if not raced["done"]:  # bob records his item between alice's look and her write
            raced["done"] = True
            theirs.record(
                lambda s: Improvements(store.iter_events(rid)).add("His", "b", "2026-06-01")
            )
        return items

    mine.record(plan_then_race)
    added = [(e.data["id"], e.data["text"]) for e in ops.events() if e.type == "improvement.added"]
    assert added[-2:] == [("I4", "His"), ("I5", "Mine")]


def test_improvement_ids_follow_the_log() -> None:
    plan = Improvements()
    assert plan.add("a", "o", "2026-01-02") == [
        ("improvement.added", {"id": "I1", "text": "a", "owner": "o", "due": "2026-01-02"})
    ]
    with pytest.raises(ActionRefused, match="'X1' is not an improvement id"):
        plan.close("x1")


def test_rows_are_read_again_on_each_iteration_not_held() -> None:
    reads = {"n": 0}

    def source() -> list[Event]:
        reads["n"] += 1
        return []

    rows = Rows(source, ["note.added"], lambda e: {}, 1)
    assert (list(rows), list(rows), reads["n"], bool(rows)) == ([], [], 2, True)
    empty = Rows(source, ["note.added"], lambda e: {}, 0)
    assert (list(empty), reads["n"], bool(empty)) == ([], 2, False)  # an empty section: no read


def test_sections_over_the_memory_budget_are_read_again_with_the_same_rows(
    fixed: reportrun.FixedRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = {"n": 0}

    def source() -> Any:
        reads["n"] += 1
        return fixed.store.iter_events(fixed.run_id)

    kept = materialize(build_report(source, clock=lambda: WALL))
    assert reads["n"] == 2  # the fold, then the timeline: the other sections were kept
    monkeypatch.setattr(sections, "KEEP_CHARS", 0)
    streamed = materialize(build_report(source, clock=lambda: WALL))
    assert streamed == kept
    assert reads["n"] == 2 + 6  # the fold, notes, notifications, commands, evidence, timeline


def test_a_run_recorded_by_the_service_reports_without_errors(tmp_path: Path) -> None:
    store = Store(tmp_path / "cslir.db")
    now = reportrun.DETECTED
    open_run(store, reportrun.load_playbook(), {"detected_at": format_at(now)}, actor="a",
             timezone=None, now=now, run_id="plain")  # fmt: skip
    s = RunSession(store, "plain", "a", now=lambda: now)
    s.record(lambda st: actions.note(st, "only a note"))
    report = build_report(lambda: store.iter_events("plain"), clock=lambda: now)
    assert report["timezone"] == "UTC"
    for fmt in ("md", "html", "json"):
        assert render_text(report, fmt)
    validate(json.loads(render_text(report, "json")))
