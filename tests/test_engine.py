"""The pure engine: state folded from sealed events, refusals, clocks and their alerts.

No store, no wall clock: events are sealed by hand and every time is a fixed value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cslir.base.errors import ActionRefused
from cslir.engine import actions
from cslir.engine.clocks import ClockView, due_alerts, view
from cslir.engine.events import GENESIS, Event, format_at, seal
from cslir.engine.model import Playbook, build_playbook
from cslir.engine.state import RunState, fold
from cslir.opsrepo import yamlload

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def playbook(text: str) -> Playbook:
    doc = yamlload.loads(text, "pb.yaml")
    return build_playbook(doc.data, path="pb.yaml", text=text)


class Log:
    """A run's events sealed by hand, as the store would seal them."""

    def __init__(
        self,
        pb: Playbook,
        inputs: dict[str, Any] | None = None,
        at: datetime = T0,
        mode: str = "live",
    ):
        self.pb = pb
        self.at = at
        data = {
            "playbook": {"id": pb.id, "text": pb.text, "path": pb.path},
            "inputs": inputs or {},
            "mode": mode,
            "timezone": "UTC",
        }
        self.events: list[Event] = [
            seal("r1", 1, format_at(at), "alice", "run.opened", data, GENESIS)
        ]

    def add(
        self, type: str, data: dict[str, Any], actor: str = "alice", at: datetime | None = None
    ) -> Log:
        last = self.events[-1]
        self.at = at or self.at + MIN
        self.events.append(
            seal("r1", last.seq + 1, format_at(self.at), actor, type, data, last.hash)
        )
        return self

    def act(
        self,
        build: Callable[[RunState], actions.Events],
        actor: str = "alice",
        at: datetime | None = None,
    ) -> Log:
        """Check an action against the current state and record its events, as a session does."""
        for type, data in build(self.state()):
            self.add(type, data, actor, at)
        return self

    def state(self) -> RunState:
        return fold(self.events, self.pb)

    def status(self) -> dict[str, str]:
        return {sid: s.status for sid, s in self.state().steps.items()}


# -- statuses -------------------------------------------------------------------------------

ORDER = """
cslir: 1
id: order
title: Order
inputs:
  grade: {type: choice, choices: [general, major]}
  pi: {type: bool}
steps:
  - {id: a}
  - {id: b}
  - {id: c, needs: []}
  - {id: d, needs: [a, c]}
  - {id: e, needs: [], when: "pi"}
  - {id: f, needs: [], when: "grade != 'general'"}
  - {id: g, needs: [f]}
"""


def test_steps_follow_list_order_unless_needs_say_otherwise() -> None:
    st = Log(playbook(ORDER)).state()
    assert {sid: (s.status, s.waiting_for) for sid, s in st.steps.items()} == {
        "a": ("ready", None),
        "b": ("pending", "after a"),
        "c": ("ready", None),
        "d": ("pending", "after a, c"),
        "e": ("blocked", "its condition needs inputs not given yet"),
        "f": ("blocked", "its condition needs inputs not given yet"),
        "g": ("pending", "after f"),
    }


def test_finishing_needs_makes_dependents_ready() -> None:
    log = Log(playbook(ORDER)).act(lambda s: actions.done(s, "a"))
    assert log.status()["b"] == "ready"
    assert log.status()["d"] == "pending"
    log.act(lambda s: actions.skip(s, "c", "not needed"))
    assert log.status()["d"] == "ready"


def test_when_false_makes_a_step_not_applicable_and_lets_dependents_go() -> None:
    log = Log(playbook(ORDER), inputs={"grade": "general", "pi": False})
    assert (log.status()["e"], log.status()["f"], log.status()["g"]) == ("n/a", "n/a", "ready")


def test_when_true_once_the_input_is_given() -> None:
    log = Log(playbook(ORDER)).add("input.set", {"name": "grade", "value": "major"})
    assert (log.status()["f"], log.status()["g"]) == ("ready", "pending")


def test_a_step_needing_a_later_listed_step_sees_it_become_not_applicable() -> None:
    pb = playbook("""
cslir: 1
id: later
title: Later
inputs: {pi: {type: bool}}
steps:
  - {id: a, needs: [b]}
  - {id: b, needs: [], when: pi}
""")
    log = Log(pb)
    assert log.status() == {"a": "pending", "b": "blocked"}
    log.add("input.set", {"name": "pi", "value": False})
    assert log.status() == {"a": "ready", "b": "n/a"}


def test_failed_step_blocks_dependents_and_retry_makes_it_ready_again() -> None:
    log = Log(playbook(ORDER)).act(lambda s: actions.fail(s, "a", "disk full"))
    st = log.state()
    assert (st.steps["a"].status, st.steps["a"].reason, st.steps["b"].status) == (
        "failed",
        "disk full",
        "pending",
    )
    log.act(lambda s: actions.retry(s, "a"))
    assert log.status()["a"] == "ready"


def test_run_closes_only_when_every_step_is_finished() -> None:
    pb = playbook(ORDER)
    log = Log(pb, inputs={"grade": "general", "pi": False})
    for sid in ("a", "b", "c"):
        log.act(lambda s, sid=sid: actions.done(s, sid))
    log.act(lambda s: actions.done(s, "d"))
    assert actions.maybe_close(log.state()) == []  # g needs only f, which is n/a: g applies
    log.act(lambda s: actions.done(s, "g"))
    assert actions.maybe_close(log.state()) == [("run.closed", {"steps": {"done": 5, "n/a": 2}})]


def test_fold_refuses_a_log_that_does_not_start_with_run_opened() -> None:
    log = Log(playbook(ORDER)).add("note.added", {"text": "x"})
    with pytest.raises(ValueError, match=r"first event must be run\.opened"):
        fold(log.events[1:], log.pb)


# -- refusals -------------------------------------------------------------------------------

KINDS = """
cslir: 1
id: kinds
title: Kinds
roles: {ic: Incident commander, legal: Legal}
inputs:
  grade: {type: choice, choices: [general, major]}
steps:
  - {id: contain, checklist: [Revoke keys, Close bucket]}
  - {id: grade, kind: decision, sets: grade}
  - {id: sign, kind: approval, by: legal}
  - {id: receipt, evidence: required}
  - {id: collect, kind: evidence}
"""


def refusal(log: Log, build: Callable[[RunState], actions.Events]) -> str:
    with pytest.raises(ActionRefused) as info:
        build(log.state())
    return info.value.message


def test_a_step_whose_needs_are_not_met_is_refused() -> None:
    assert refusal(Log(playbook(KINDS)), lambda s: actions.done(s, "sign")) == (
        "step 'sign' cannot start yet: it comes after grade"
    )


def test_a_step_blocked_on_its_condition_is_refused() -> None:
    assert refusal(Log(playbook(ORDER)), lambda s: actions.done(s, "f")) == (
        "step 'f' cannot start yet: its condition needs inputs not given yet"
    )


def test_an_unknown_step_is_refused_listing_the_steps() -> None:
    assert refusal(Log(playbook(KINDS)), lambda s: actions.done(s, "nope")) == (
        "no step 'nope' in this playbook (steps: contain, grade, sign, receipt, collect)"
    )


def test_a_finished_step_cannot_be_done_again() -> None:
    log = Log(playbook(KINDS)).act(lambda s: actions.done(s, "contain"))
    assert refusal(log, lambda s: actions.done(s, "contain")) == "step 'contain' is already done"


def test_done_confirms_the_unchecked_checklist_items_first() -> None:
    log = Log(playbook(KINDS)).act(lambda s: actions.check_item(s, "contain", 1))
    assert actions.done(log.state(), "contain") == [
        ("step.checked", {"step": "contain", "item": 0}),
        ("step.done", {"step": "contain"}),
    ]


def test_a_decision_choice_that_does_not_exist_is_refused() -> None:
    log = Log(playbook(KINDS)).act(lambda s: actions.done(s, "contain"))
    assert refusal(log, lambda s: actions.decide(s, "grade", "huge")) == (
        "'huge' is not a choice of 'grade': general, major"
    )


def test_a_decision_sets_its_input_and_is_done() -> None:
    log = Log(playbook(KINDS)).act(lambda s: actions.done(s, "contain"))
    log.act(lambda s: actions.decide(s, "grade", "2", "1.2 M records"), actor="bob")
    st = log.state()
    assert (
        st.inputs["grade"],
        st.steps["grade"].status,
        st.steps["grade"].actor,
        st.steps["grade"].reason,
    ) == ("major", "done", "bob", "1.2 M records")


def test_a_decision_cannot_be_marked_done_without_a_choice() -> None:
    log = Log(playbook(KINDS)).act(lambda s: actions.done(s, "contain"))
    assert refusal(log, lambda s: actions.done(s, "grade")) == (
        "step 'grade' is a decision: choose one of general, major"
    )


def approval_requested() -> Log:
    log = Log(playbook(KINDS)).act(lambda s: actions.done(s, "contain"))
    log.act(lambda s: actions.decide(s, "grade", "major"))
    return log.act(lambda s: actions.request_approval(s, "sign"))


def test_approving_ones_own_request_is_refused() -> None:
    log = approval_requested()
    assert log.status()["sign"] == "waiting"
    assert refusal(log, lambda s: actions.approve(s, "sign", "alice", None)) == (
        "alice requested this approval and cannot approve it; someone holding the legal role must"
    )


def test_approval_by_someone_without_the_role_is_refused() -> None:
    log = approval_requested()
    assert refusal(log, lambda s: actions.approve(s, "sign", "bob", ["ic"])) == (
        "bob does not hold the legal role"
    )


def test_approval_by_another_responder_finishes_the_step() -> None:
    log = approval_requested().act(
        lambda s: actions.approve(s, "sign", "bob", ["legal"]), actor="bob"
    )
    st = log.state()
    assert (st.steps["sign"].status, st.steps["sign"].approved_by) == ("done", "bob")


def test_an_approval_nobody_requested_is_refused() -> None:
    log = Log(playbook(KINDS)).act(lambda s: actions.done(s, "contain"))
    log.act(lambda s: actions.decide(s, "grade", "major"))
    assert refusal(log, lambda s: actions.approve(s, "sign", "bob", None)) == (
        "nobody has requested approval of 'sign' yet"
    )


def test_approving_ones_own_request_is_refused_whatever_the_case() -> None:
    log = approval_requested()
    assert refusal(log, lambda s: actions.approve(s, "sign", " ALICE", ["legal"])) == (
        " ALICE requested this approval and cannot approve it; someone holding the legal role must"
    )


def test_a_live_approval_by_someone_cslir_yaml_does_not_name_is_refused() -> None:
    log = approval_requested()
    assert refusal(log, lambda s: actions.approve(s, "sign", "bob", None)) == (
        "bob is not named under responders: in cslir.yaml, so nothing shows that they hold the"
        " legal role; a live run's approval needs someone listed with it"
        " (e.g. bob: {roles: [legal]})"
    )


def test_in_a_drill_a_participant_cslir_yaml_does_not_name_may_play_the_role() -> None:
    log = Log(playbook(KINDS), mode="drill").act(lambda s: actions.done(s, "contain"))
    log.act(lambda s: actions.decide(s, "grade", "major"))
    log.act(lambda s: actions.request_approval(s, "sign"))
    log.act(lambda s: actions.approve(s, "sign", "bob", None), actor="bob")
    assert log.status()["sign"] == "done"


def evidence_steps_ready() -> Log:
    log = approval_requested()
    return log.act(lambda s: actions.approve(s, "sign", "bob", ["legal"]), actor="bob")


def test_done_without_required_evidence_is_refused() -> None:
    assert refusal(evidence_steps_ready(), lambda s: actions.done(s, "receipt")) == (
        "step 'receipt' needs evidence first (add a file or text), or skip it with a reason"
    )


def test_done_with_evidence_for_the_step_is_accepted() -> None:
    log = evidence_steps_ready().add(
        "evidence.added",
        {"step": "receipt", "kind": "text", "name": "text", "sha256": "ab" * 32, "size": 3},
    )
    log.act(lambda s: actions.done(s, "receipt"))
    assert log.status()["receipt"] == "done"


def test_an_evidence_step_cannot_be_done_without_evidence() -> None:
    log = evidence_steps_ready().add(
        "evidence.added",
        {"step": "receipt", "kind": "text", "name": "text", "sha256": "ab" * 32, "size": 3},
    )
    log.act(lambda s: actions.done(s, "receipt"))
    assert refusal(log, lambda s: actions.done(s, "collect")) == (
        "step 'collect' needs evidence first (add a file or text), or skip it with a reason"
    )


@pytest.mark.parametrize(
    ("step", "needs"),
    [
        ("{id: s}", False),
        ("{id: s, evidence: required}", True),
        ("{id: s, evidence: optional}", False),
        ("{id: s, kind: evidence}", True),
        ("{id: s, kind: evidence, evidence: optional}", False),
        ("{id: s, kind: command, run: [x], evidence: required}", True),
    ],
)
def test_a_step_needs_evidence_when_required_or_an_evidence_step_not_marked_optional(
    step: str, needs: bool
) -> None:
    pb = playbook(f"cslir: 1\nid: e\ntitle: E\nsteps:\n  - {step}\n")
    assert pb.step("s").needs_evidence is needs


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda s: actions.skip(s, "contain", "  "),
            "a skip needs a reason: it goes into the record",
        ),
        (
            lambda s: actions.fail(s, "contain", ""),
            "a failure needs a reason: it goes into the record",
        ),
        (lambda s: actions.note(s, " "), "a note needs some text"),
        (
            lambda s: actions.retry(s, "contain"),
            "only a failed step can be retried; 'contain' is ready",
        ),
        (lambda s: actions.check_item(s, "contain", 5), "step 'contain' has no checklist item 6"),
    ],
)
def test_actions_without_what_the_record_needs_are_refused(
    build: Callable[[RunState], actions.Events], message: str
) -> None:
    assert refusal(Log(playbook(KINDS)), build) == message


def test_a_wait_step_starts_when_ready_and_ends_when_its_time_is_up() -> None:
    log = Log(
        playbook("cslir: 1\nid: w\ntitle: W\nsteps:\n  - {id: cool, kind: wait, duration: 1h}\n")
    )
    assert actions.timers(log.state(), T0) == [("step.started", {"step": "cool"})]
    log.act(lambda s: actions.timers(s, T0), actor="cslir", at=T0)
    assert actions.timers(log.state(), T0 + HOUR - MIN) == []
    assert actions.timers(log.state(), T0 + HOUR) == [
        ("step.done", {"step": "cool", "reason": "timer ended"})
    ]


def test_nothing_is_accepted_once_the_run_is_closed() -> None:
    log = Log(playbook(KINDS)).add("run.closed", {"steps": {}})
    assert refusal(log, lambda s: actions.done(s, "contain")) == "the run is closed"


# -- clocks ---------------------------------------------------------------------------------

CLOCKS = """
cslir: 1
id: clocks
title: Clocks
inputs:
  detected_at: {type: datetime}
  cii: {type: bool}
  grade: {type: choice, choices: [general, major]}
clocks:
  report:
    from: detected_at
    due: 4h
    due_if: {cii: 1h}
    warn: [1h, 15m]
  graded:
    from: detected_at
    due: 4h
    when: grade != 'general'
  final:
    from: step:close
    due: 30d
  filing:
    from: start
    due: 10wd
steps:
  - {id: report, needs: [], stops: report}
  - {id: close, needs: []}
  - {id: final, needs: [close], stops: final}
  - {id: file, needs: [], stops: filing}
"""


def clock(log: Log, cid: str, now: datetime) -> ClockView:
    st = log.state()
    return view(st, st.playbook.clocks[cid], now)


@pytest.mark.parametrize(("cii", "due"), [(True, "1h"), (False, "4h"), (None, "1h")])
def test_the_tighter_due_if_rule_wins_while_it_may_hold(cii: bool | None, due: str) -> None:
    inputs: dict[str, Any] = {"detected_at": "2026-03-02T00:00:00Z"}
    if cii is not None:
        inputs["cii"] = cii
    v = clock(Log(playbook(CLOCKS), inputs), "report", T0)
    assert (v.due_text, v.due_at) == (due, datetime(2026, 3, 2, int(due[0]), tzinfo=UTC))


def test_a_clock_from_a_detection_time_in_the_past_has_already_run() -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-01T22:00:00Z", "cii": False})
    v = clock(log, "report", T0)
    assert (v.state, v.started_at, v.left) == (
        "running",
        datetime(2026, 3, 1, 22, tzinfo=UTC),
        timedelta(hours=1),
    )
    assert clock(log, "report", T0 + 61 * MIN).state == "overdue"


def test_a_clock_from_a_step_starts_when_that_step_is_done() -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-02T00:00:00Z"})
    assert clock(log, "final", T0).state == "not-started"
    log.act(lambda s: actions.done(s, "close"), at=T0 + 2 * HOUR)
    v = clock(log, "final", T0 + 3 * HOUR)
    assert (v.state, v.started_at, v.due_at) == (
        "running",
        T0 + 2 * HOUR,
        T0 + 2 * HOUR + timedelta(days=30),
    )


@pytest.mark.parametrize(("finished", "state"), [(30 * MIN, "met"), (5 * HOUR, "missed")])
def test_a_stopping_step_stops_the_clock_met_or_missed(finished: timedelta, state: str) -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-02T01:00:00Z", "cii": False})
    log.act(lambda s: actions.done(s, "report"), at=T0 + finished)
    v = clock(log, "report", T0 + 10 * HOUR)
    assert (v.state, v.stopped_at, v.stopped_by, v.left) == (state, T0 + finished, "report", None)


def test_a_skipped_stopping_step_waives_the_clock() -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-02T01:00:00Z", "cii": False})
    log.act(lambda s: actions.skip(s, "report", "not reportable"), at=T0 + 5 * HOUR)
    assert clock(log, "report", T0 + 6 * HOUR).state == "waived"


def test_a_clock_whose_condition_is_undecided_runs_if_it_applies() -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-02T01:00:00Z"})
    v = clock(log, "graded", T0 + HOUR)
    assert (v.state, v.applies, v.left) == ("running", None, timedelta(hours=3))


@pytest.mark.parametrize(
    ("grade", "state", "applies"), [("general", "n/a", False), ("major", "running", True)]
)
def test_a_clock_condition_decides_whether_it_applies(
    grade: str, state: str, applies: bool
) -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-02T01:00:00Z", "grade": grade})
    v = clock(log, "graded", T0 + HOUR)
    assert (v.state, v.applies) == (state, applies)


def test_a_working_day_clock_within_the_calendar_is_not_provisional() -> None:
    v = clock(Log(playbook(CLOCKS)), "filing", T0)
    # 10 PRC working days after Monday 2 March 2026 end on Monday 16 March, 23:59:59 Shanghai
    assert (v.due_at, v.provisional) == (datetime(2026, 3, 16, 15, 59, 59, tzinfo=UTC), None)


PROVISIONAL_2027 = (
    "the State Council holiday calendar for 2027 is not published in this cslir's calendar "
    "data; counted Monday to Friday"
)


def test_a_working_day_clock_reaching_2027_is_provisional_with_its_reason() -> None:
    start = datetime(2026, 12, 24, 2, 0, tzinfo=UTC)
    v = clock(Log(playbook(CLOCKS), at=start), "filing", start)
    assert v.provisional == PROVISIONAL_2027
    assert v.due_at == datetime(2027, 1, 7, 15, 59, 59, tzinfo=UTC)


def test_a_provisional_deadline_is_recorded_as_provisional_in_its_alert() -> None:
    start = datetime(2026, 12, 24, 2, 0, tzinfo=UTC)
    log = Log(playbook(CLOCKS), at=start)
    alerts = [
        a
        for a in due_alerts(log.state(), datetime(2027, 1, 8, tzinfo=UTC))
        if a[1]["clock"] == "filing"
    ]
    assert alerts == [
        (
            "clock.missed",
            {
                "clock": "filing",
                "due": "2027-01-07T15:59:59Z",
                "provisional": PROVISIONAL_2027,
            },
        )
    ]


def report_alerts(log: Log, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    return [a for a in due_alerts(log.state(), now) if a[1]["clock"] == "report"]


def test_due_alerts_give_each_warning_and_the_miss_once_they_are_recorded() -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-02T01:00:00Z", "cii": False})
    due = {"clock": "report", "due": "2026-03-02T05:00:00Z"}
    seen: list[tuple[str, dict[str, Any]]] = []
    for minutes in (60, 179, 181, 182, 230, 246, 247, 300, 301):
        now = T0 + minutes * MIN
        alerts = report_alerts(log, now)
        seen += alerts
        for type, data in alerts:
            log.add(type, data, actor="cslir", at=now)
    assert seen == [
        ("clock.warned", {**due, "warn": "1h", "covers": ["1h"]}),
        ("clock.warned", {**due, "warn": "15m", "covers": ["15m"]}),
        ("clock.missed", due),
    ]


def test_a_clock_found_past_two_thresholds_warns_once_with_the_tightest() -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-02T01:00:00Z", "cii": False})
    due = {"clock": "report", "due": "2026-03-02T05:00:00Z"}
    now = T0 + 230 * MIN  # 10 minutes before due: past both the 1h and the 15m threshold
    alerts = report_alerts(log, now)
    assert alerts == [("clock.warned", {**due, "warn": "15m", "covers": ["1h", "15m"]})]
    for type, data in alerts:
        log.add(type, data, actor="cslir", at=now)
    assert report_alerts(log, now + MIN) == []


def test_a_missed_clock_gives_no_more_warnings() -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-02T01:00:00Z", "cii": False})
    now = T0 + 301 * MIN
    for type, data in report_alerts(log, now):
        log.add(type, data, actor="cslir", at=now)
    assert report_alerts(log, now + MIN) == []


def test_a_clock_found_overdue_alerts_only_its_miss() -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-02T01:00:00Z", "cii": False})
    assert report_alerts(log, T0 + 5 * HOUR) == [
        ("clock.missed", {"clock": "report", "due": "2026-03-02T05:00:00Z"})
    ]


def test_a_stopped_clock_raises_no_alerts() -> None:
    log = Log(playbook(CLOCKS), {"detected_at": "2026-03-02T01:00:00Z", "cii": False})
    log.act(lambda s: actions.done(s, "report"), at=T0 + HOUR)
    assert report_alerts(log, T0 + 5 * HOUR) == []


def test_a_running_step_says_who_runs_it_and_how_to_take_it_over() -> None:
    pb = playbook("cslir: 1\nid: c\ntitle: C\nsteps:\n  - {id: x, kind: command, run: [true]}\n")
    log = Log(pb).add("step.started", {"step": "x", "pid": 4242, "host": "ops-1"})
    with pytest.raises(ActionRefused) as refused:
        actions.done(log.state(), "x")
    assert refused.value.message == (
        "step 'x' is running by process 4242 on ops-1; wait for it to finish (if that process"
        " has ended, `cslir resume r1` runs it again)"
    )


FILING = """
cslir: 1
id: filing
title: Filing
inputs:
  detected_at: {type: datetime}
clocks:
  report:
    from: detected_at
    due: 1h
steps:
  - {id: file-report, stops: [report]}
  - {id: wrap-up}
"""


def filing(detected: datetime = T0) -> Log:
    return Log(playbook(FILING), {"detected_at": format_at(detected)}, at=detected)


def test_a_report_filed_in_time_but_recorded_late_meets_its_clock() -> None:
    """Filed at 09:55 and clicked at 10:10 against a 10:00 deadline: the filing counts."""
    filed = T0 + 55 * MIN
    log = filing().act(lambda s: actions.done(s, "file-report", at=filed), at=T0 + 70 * MIN)
    st = log.state()
    clock = view(st, st.playbook.clocks["report"], T0 + 2 * HOUR)
    assert (clock.state, clock.stopped_at) == ("met", filed)
    assert log.events[-1].data == {"step": "file-report", "acted_at": format_at(filed)}
    assert log.events[-1].at == format_at(T0 + 70 * MIN)  # when it was recorded, kept too


def test_a_report_recorded_without_a_time_is_judged_by_its_recording() -> None:
    log = filing().act(lambda s: actions.done(s, "file-report"), at=T0 + 70 * MIN)
    st = log.state()
    assert view(st, st.playbook.clocks["report"], T0 + 2 * HOUR).state == "missed"


def test_an_act_before_the_discovery_is_refused_unless_a_reason_says_why() -> None:
    log = filing()
    before = T0 - 30 * MIN
    assert refusal(log, lambda s: actions.done(s, "file-report", at=before)) == (
        "step 'file-report': the time given (2026-03-02 00:30 UTC (+00:00)) is before the"
        " incident was discovered (2026-03-02 01:00 UTC (+00:00)); check it, or give a reason"
        " saying why it is right"
    )
    why = "filed by the vendor before we knew"
    log.act(lambda s: actions.done(s, "file-report", at=before, reason=why))
    assert log.events[-1].data["acted_at"] == format_at(before)


def test_a_submissions_facts_are_recorded_trimmed() -> None:
    facts = {"recipient": " CAC Beijing ", "channel": "online form", "reference": "R-1"}
    log = filing().act(lambda s: actions.done(s, "file-report", facts=facts))
    assert log.events[-1].data == {"step": "file-report", "recipient": "CAC Beijing",
                                   "channel": "online form", "reference": "R-1"}  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "refused"),
    [({"reference": ["a", "b"]}, "the reference must be text"),
     ({"recipient": "CAC\nand more"}, "the recipient must be one line of 500 characters or fewer"),
     ({"channel": "x" * 501}, "the channel must be one line of 500 characters or fewer"),
     ({"receipt": "R-1"}, "'receipt' is not a submission fact (recipient, channel, reference)")],
)  # fmt: skip
def test_a_submissions_facts_must_be_lines_of_text(facts: dict[str, Any], refused: str) -> None:
    assert refusal(filing(), lambda s: actions.done(s, "file-report", facts=facts)) == refused
