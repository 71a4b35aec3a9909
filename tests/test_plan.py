"""The plan on hand-made graphs whose critical paths are known: slack, verdicts, working days
across a holiday, the worst of the scenarios no input rules out, and a live run's projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from test_engine import MIN, T0, Log, playbook

from cslir.engine import actions
from cslir.engine.plan import ClockPlan, plan

SHANGHAI = timezone(timedelta(hours=8))


def one(text: str, clock: str, inputs: dict[str, object] | None = None, **kw: object) -> ClockPlan:
    pb = playbook(text)
    found = {p.id: p for p in plan(pb, inputs or {}, opened=kw.pop("opened", T0), **kw)}  # type: ignore[arg-type]
    return found[clock]


GRAPH = """
cslir: 1
id: graph
title: A known critical path
clocks:
  report: {{from: start, due: 1h, basis: test}}
steps:
  - {{id: a, estimate: 10m}}
  - {{id: b, estimate: 20m}}
  - {{id: c, needs: [], estimate: 40m}}
  - {{id: d, needs: [b, c], estimate: {d}, stops: report}}
  - {{id: e, needs: [], estimate: 5h}}
"""


def test_the_critical_path_runs_through_the_longest_chain_of_needs() -> None:
    p = one(GRAPH.format(d="5m"), "report")
    assert p.path == (("c", "40m"), ("d", "5m"))
    assert (p.finish, p.deadline, p.slack) == (T0 + 45 * MIN, T0 + 60 * MIN, 15 * MIN)
    assert (p.verdict, p.stopped_by, p.unestimated) == ("feasible", "d", ())


def test_less_than_a_fifth_of_the_time_to_spare_is_tight() -> None:
    p = one(GRAPH.format(d="10m"), "report")
    assert (p.slack, p.verdict) == (10 * MIN, "tight")


def test_a_path_longer_than_the_clock_is_infeasible() -> None:
    p = one(GRAPH.format(d="25m"), "report")
    assert (p.finish, p.slack, p.verdict) == (T0 + 65 * MIN, -5 * MIN, "infeasible")


def test_steps_on_the_path_without_an_estimate_are_named() -> None:
    text = GRAPH.format(d="5m").replace("{id: c, needs: [], estimate: 40m}", "{id: c, needs: []}")
    p = one(text, "report")
    assert p.path == (("a", "10m"), ("b", "20m"), ("d", "5m"))
    assert p.unestimated == ()
    text = GRAPH.format(d="5m").replace("{id: b, estimate: 20m}", "{id: b}")
    p = one(text, "report")
    assert p.path == (("c", "40m"), ("d", "5m"))
    q = one(text.replace("estimate: 40m", "estimate: 5m"), "report")
    assert (q.path, q.unestimated) == ((("a", "10m"), ("b", None), ("d", "5m")), ("b",))


HOLIDAY = """
cslir: 1
id: holiday
title: Working days across National Day
clocks:
  rectify: {{from: start, due: 3wd, basis: test}}
steps:
  - {{id: prepare, estimate: {estimate}}}
  - {{id: submit, stops: rectify, kind: notify, route: r}}
"""


def test_working_day_estimates_and_deadlines_skip_the_national_day_holiday() -> None:
    opened = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)  # Wednesday before 1-7 October
    p = one(HOLIDAY.format(estimate="2wd"), "rectify", opened=opened)
    # working days after 30 September: 8 Oct (Thu), 9 Oct (Fri), 10 Oct (Saturday, worked)
    assert p.finish == datetime(2026, 10, 9, 23, 59, 59, tzinfo=SHANGHAI)
    assert p.deadline == datetime(2026, 10, 10, 23, 59, 59, tzinfo=SHANGHAI)
    assert (p.slack, p.verdict, p.provisional) == (timedelta(days=1), "tight", None)


def test_a_working_day_path_past_the_holiday_deadline_is_infeasible() -> None:
    opened = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    p = one(HOLIDAY.format(estimate="4wd"), "rectify", opened=opened)
    assert p.finish == datetime(2026, 10, 12, 23, 59, 59, tzinfo=SHANGHAI)  # Monday
    assert p.verdict == "infeasible"


SCENARIOS = """
cslir: 1
id: scenarios
title: The worst case of the inputs nobody gave
inputs:
  cii: {type: bool}
  grade: {type: choice, choices: [general, major]}
clocks:
  first-report:
    from: start
    due: 4h
    due_if: {cii: 1h}
    when: grade != 'general'
    basis: CAC Incident Reporting Measures Art 4
steps:
  - {id: grade, estimate: 10m}
  - {id: report-cac, when: not cii, estimate: 30m, stops: first-report}
  - {id: report-cii, needs: [grade], when: cii, estimate: 40m, stops: first-report}
"""


def test_each_clock_is_judged_by_its_worst_scenario_which_is_named() -> None:
    p = one(SCENARIOS, "first-report")
    assert (p.scenario, p.rule, p.verdict) == ({"cii": True, "grade": "major"}, "1h", "tight")
    assert (p.path, p.slack) == ((("grade", "10m"), ("report-cii", "40m")), 10 * MIN)


def test_given_inputs_fix_the_scenario() -> None:
    p = one(SCENARIOS, "first-report", {"cii": False})
    assert (p.rule, p.stopped_by, p.verdict) == ("4h", "report-cac", "feasible")
    assert one(SCENARIOS, "first-report", {"grade": "general"}).verdict == "n/a"


DUE_AT = """
cslir: 1
id: due-at
title: A stated deadline
inputs:
  received_at: {type: datetime}
  response_due: {type: datetime}
clocks:
  response: {from: received_at, due_at: response_due, basis: the notice}
steps:
  - {id: draft, estimate: 3h}
  - {id: submit, estimate: 1h, stops: response}
"""


def test_a_stated_deadline_is_judged_when_given_and_unknown_when_not() -> None:
    due = (T0 + 3 * 60 * MIN).isoformat()
    p = one(DUE_AT, "response", {"response_due": due})
    assert (p.deadline, p.finish, p.verdict) == (T0 + 180 * MIN, T0 + 240 * MIN, "infeasible")
    unknown = one(DUE_AT, "response")
    assert (unknown.verdict, unknown.reason) == (
        "unknown", "its deadline is input response_due, which is not given"
    )  # fmt: skip


def test_a_live_run_projects_from_now_using_what_finished() -> None:
    log = Log(playbook(GRAPH.format(d="5m")))
    log.act(lambda s: actions.done(s, "c"), at=T0 + 15 * MIN)  # faster than its 40m
    log.act(lambda s: actions.done(s, "a"), at=T0 + 20 * MIN)
    st = log.state()
    now = T0 + 25 * MIN
    p = next(x for x in plan(st.playbook, {}, opened=T0, now=now, state=st) if x.id == "report")
    # b (20m) from now, then d (5m): 25m + 25m
    assert (p.finish, p.path, p.verdict) == (T0 + 50 * MIN, (("b", "20m"), ("d", "5m")), "tight")


def test_a_clock_the_run_already_stopped_reports_what_happened() -> None:
    log = Log(playbook(GRAPH.format(d="5m")))
    for sid in ("a", "b", "c", "d"):
        log.act(lambda s, sid=sid: actions.done(s, sid))
    st = log.state()
    now = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    p = next(x for x in plan(st.playbook, {}, opened=T0, now=now, state=st) if x.id == "report")
    assert (p.verdict, p.finish, p.stopped_by) == ("met", T0 + 4 * MIN, "d")
