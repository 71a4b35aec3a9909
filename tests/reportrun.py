"""A fixed run for the report and bundle tests: the same events, times and hashes every time.

It is recorded through the run service (``RunSession`` with a frozen, hand-advanced clock) so the
events are the ones cslir really writes; what no producer writes yet (command outputs with fixed
durations, notification deliveries) is appended to the store at fixed times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cslir.engine import actions
from cslir.engine.dealings import dealing
from cslir.engine.events import Event
from cslir.engine.model import Playbook, build_playbook
from cslir.opsrepo import yamlload
from cslir.opsrepo.documents import check_document
from cslir.report.improvements import Improvements
from cslir.runs.effects import RunSession
from cslir.runs.session import open_run
from cslir.store.sqlite import Store

HERE = Path(__file__).resolve().parent
PLAYBOOK = HERE / "golden" / "incident.yaml"
RUN_ID = "20260302-000500-0ff1ce"
DETECTED = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
TZ = "Asia/Shanghai"
RECEIPT = b"%PDF-1.4 CAC filing receipt 2026-0302-17\n"
FINAL = b"%PDF-1.4 post-incident summary report\n"
# A pipe that must not split a Markdown table row; markup that must stay text in every format.
NOTES = (
    "CAC duty officer confirmed by phone | ref 2026-0302-17",
    "SMS gateway <throttled> the batch; resending *now*",
)
SKIPPED = "No sign of a crime: a misconfigured bucket, no intrusion"


def load_playbook() -> Playbook:
    text = PLAYBOOK.read_text(encoding="utf-8")
    doc = yamlload.loads(text, "playbooks/incident.yaml")
    errors = check_document(doc, "playbook", {"ic-pager", "legal-oncall"}, PLAYBOOK)
    assert not [d for d in errors if d.severity == "error"], errors
    return build_playbook(doc.data, path="playbooks/incident.yaml", text=text)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def at(self, minutes: float) -> Clock:
        """Set the time to ``minutes`` after detection."""
        self.t = DETECTED + timedelta(minutes=minutes)
        return self


@dataclass
class FixedRun:
    store: Store
    run_id: str
    evidence_dir: Path

    def source(self) -> Callable[[], Any]:
        return lambda: self.store.iter_events(self.run_id)

    def events(self) -> list[Event]:
        return self.store.events(self.run_id)


def _command(step: str, code: int, out: str, err: str) -> dict[str, Any]:
    import hashlib

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    summary = "exit 0" if code == 0 else f"exit {code}: {err.strip().splitlines()[-1]}"
    return {
        "step": step, "argv": ["./scripts/rotate-keys.sh", "crm"], "exit": code,
        "timed_out": False, "duration": 2.5, "summary": summary,
        "stdout_sha256": sha(out), "stdout": out, "stdout_bytes": len(out.encode()),
        "stderr_sha256": sha(err), "stderr": err, "stderr_bytes": len(err.encode()),
    }  # fmt: skip


def build(tmp: Path, *, mode: str = "live") -> FixedRun:
    """Record the fixed run in a new store under ``tmp``."""
    store = Store(tmp / ".cslir" / "cslir.db", clock=lambda: DETECTED)
    clock = Clock(DETECTED).at(5)
    inputs = {"detected_at": "2026-03-02T00:00:00Z", "system": "crm", "operator": "other"}
    open_run(store, load_playbook(), inputs, actor="alice", mode=mode, timezone=TZ,
             now=clock(), run_id=RUN_ID)  # fmt: skip
    s = RunSession(store, RUN_ID, "alice", now=clock)

    def do(minutes: float, build: actions_fn, actor: str = "alice") -> list[Event]:
        clock.at(minutes)
        return s.record(build, actor=actor)

    def append(minutes: float, actor: str, type: str, data: dict[str, Any]) -> Event:
        return store.append(RUN_ID, actor, type, data, DETECTED + timedelta(minutes=minutes))

    do(5.5, lambda st: actions.start(st, "open"))
    do(6, lambda st: actions.start(st, "contain"), "bob")
    clock.at(7)
    page = s.notify_step("page-ic")
    # Delivery events in the outbox's shape; request_seq names the request where it is known.
    append(7.05, "cslir", "notify.delivered",
           {"delivery": 1, "route": "ic-pager", "attempts": 1, "detail": "HTTP 202",
            "request_seq": page[1].seq})  # fmt: skip
    do(12, lambda st: actions.done(st, "open"))
    do(40, lambda st: actions.done(st, "contain"), "bob")
    do(41, lambda st: actions.begin_attempt(st, "rotate-keys"), "bob")
    denied = _command("rotate-keys", 1, "rotating crm keys\n", "error: permission denied\n")
    failed = {"step": "rotate-keys", "reason": denied["summary"]}
    do(42, lambda st: [("command.finished", denied), ("step.failed", failed)], "bob")
    do(45, lambda st: actions.retry(st, "rotate-keys"), "bob")
    do(46, lambda st: actions.begin_attempt(st, "rotate-keys"), "bob")
    rotated = _command("rotate-keys", 0, "rotating crm keys\n3 keys rotated\n", "")
    done = {"step": "rotate-keys"}
    do(47, lambda st: [("command.finished", rotated), ("step.done", done)], "bob")
    grade_reason = "About 120,000 customers: under 1M, but the catch-all applies; grade up"
    do(50, lambda st: actions.decide(st, "grade", "relatively_major", grade_reason), "carol")
    clock.at(51)
    legal = s.notify_step("page-legal")
    gave_up = "HTTP 503 (gave up after 5 attempt(s) in 2m)"
    append(53, "cslir", "notify.failed",
           {"delivery": 2, "route": "legal-oncall", "attempts": 5, "detail": gave_up,
            "request_seq": legal[1].seq})  # fmt: skip
    do(55, lambda st: actions.request_approval(st, "approve-notice"))
    do(70, lambda st: actions.note(st, NOTES[0]))
    signed = "Notice text checked against PIPL Art 57(1)-(3)"
    do(80, lambda st: actions.approve(st, "approve-notice", "erin", ["legal"], signed), "erin")
    do(90, lambda st: actions.skip(st, "police-report", SKIPPED), "erin")
    receipt = tmp / "cac-receipt.pdf"
    receipt.write_bytes(RECEIPT)
    clock.at(150)
    s.actor = "dave"
    s.add_evidence(receipt, step_id="first-report")
    # filed at 2:28 and recorded at 2:35: the clock counts the filing, the record shows both
    filed = {"recipient": "CAC Beijing office", "channel": "online form",
             "reference": "CAC-2026-0302-0117"}  # fmt: skip
    filing = DETECTED + timedelta(minutes=148)
    do(155, lambda st: actions.done(st, "first-report", at=filing, facts=filed), "dave")
    clock.at(180)
    s.watch()  # the PIPL clock's 1 h warning and its page (never delivered: "pending")
    do(200, lambda st: actions.note(st, NOTES[1]), "erin")
    ask = "Supplementary report on the records affected"
    do(210, lambda st: dealing(st, "request", ask, authority="Shanghai CAC", ref="沪网信 2026-17",
                               due="2026-03-02T10:00:00Z", now=clock(), step_id="first-report"),
       "dave")  # fmt: skip
    told = "Supplementary report: 1.2 M records"
    do(235, lambda st: dealing(st, "report", told, authority="Shanghai CAC", ref="12387-1002",
                               now=clock()), "dave")  # fmt: skip
    clock.at(241)
    s.watch()  # the PIPL clock is missed; the page is delivered (matched by route)
    append(242, "cslir", "notify.delivered",
           {"delivery": 3, "route": "ic-pager", "attempts": 2, "detail": "HTTP 202"})  # fmt: skip
    do(270, lambda st: actions.done(st, "notify-individuals"), "erin")
    do(300, lambda st: actions.done(st, "close"))
    day = 24 * 60
    plan = Improvements(store.iter_events(RUN_ID))
    do(day + 120, lambda st: plan.add("Pre-approve the PIPL notice template", "erin", "2026-04-30"))
    plan = Improvements(store.iter_events(RUN_ID))
    do(day + 121, lambda st: plan.add("Raise the SMS gateway batch limit", "bob", "2026-03-31"))
    plan = Improvements(store.iter_events(RUN_ID))
    do(8 * day, lambda st: plan.close("I2"), "bob")
    final = tmp / "final-report.pdf"
    final.write_bytes(FINAL)
    clock.at(11 * day)
    s.add_evidence(final, step_id="final-report")
    do(11 * day + 60, lambda st: actions.done(st, "final-report"), "dave")
    plan = Improvements(store.iter_events(RUN_ID))
    do(12 * day, lambda st: plan.add("Rehearse this playbook every quarter", "alice", "2026-06-30"))
    return FixedRun(store, RUN_ID, store.path.parent / "evidence")


actions_fn = Callable[[Any], list[tuple[str, dict[str, Any]]]]
