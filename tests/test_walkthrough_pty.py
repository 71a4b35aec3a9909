"""The interactive walkthrough, driven through a real pseudo-terminal as a responder types.

A second responder acts from another process (``cslir approve``, ``cslir step``) while the
first one sits at a prompt, and the first one's screen shows it.
"""

from __future__ import annotations

import hashlib
import io
import shlex
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pexpect
import pytest
from httpserver import LoopbackServer, Reply, loopback_server
from runkit import cslir, cslir_env, gone, make_ops, outcomes, store_path, stored_events

from cslir.opsrepo.validate import load_playbook
from cslir.runs.session import open_run
from cslir.store import open_store
from cslir.store.sqlite import Store

TASK_PROMPT = "[d]one [s]kip [f]ail [n]ote [e]vidence [p]age [t]status [?]help [q]pause > "
DECISION_PROMPT = "choose 1-2, or [n]ote [s]kip [t]status [?]help [q]pause > "
COMMAND_PROMPT = "[r]un [s]kip [n]ote [t]status [?]help [q]pause > "
WHY_PROMPT = "why? (recorded; Enter to leave blank) > "


class Screen:
    """One cslir process on a pseudo-terminal, with everything it showed kept."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.log = io.StringIO()
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "cslir", *args],
            env=env,
            cwd=str(cwd),
            encoding="utf-8",
            timeout=20,
            dimensions=(60, 300),
        )
        self.child.logfile_read = self.log

    def answer(self, prompt: str, text: str) -> None:
        self.child.expect_exact(prompt)
        self.child.sendline(text)

    def wait_for(self, text: str) -> None:
        self.child.expect_exact(text)

    def run_id(self) -> str:
        self.child.expect(r"run (\S+) started; another terminal can follow it")
        return str(self.child.match.group(1))

    def end(self) -> int:
        """Wait for the process to exit; its exit status."""
        self.child.expect(pexpect.EOF)
        self.child.close()
        return int(self.child.exitstatus)

    def lines(self) -> list[str]:
        return self.log.getvalue().replace("\r\n", "\n").split("\n")


def assert_in_order(lines: list[str], expected: list[str]) -> None:
    """Each expected line appears, whole, after the one before it."""
    at = 0
    for want in expected:
        try:
            at = lines.index(want, at) + 1
        except ValueError:
            shown = "\n".join(lines[at:])
            pytest.fail(f"line {want!r} not found after line {at} of the screen:\n{shown}")


RESPONDERS = "responders:\n  bob: {roles: [legal]}\n  carol: {roles: [ic]}\n"
FILED_PROMPT = "  filed when? (Enter: now; or e.g. 2026-03-02 10:55, 20m ago) > "
RECEIPT_PROMPT = "  receipt or reference number (Enter: none) > "


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


def test_a_responder_walks_every_kind_of_step_to_the_end(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(Reply(200))
    root = make_ops(tmp_path, "walk", settings=RESPONDERS)
    env = cslir_env(tmp_path, root, hook=server.url + "/hook")
    screen = Screen(["run", "playbooks/walk.yaml"], env, root)
    screen.answer("When was it found? [now] > ", "")
    screen.answer("Which system? > ", "crm; touch owned.txt")
    screen.answer("How many records? > ", "1200000")
    rid = screen.run_id()
    screen.answer(TASK_PROMPT, "d")
    screen.answer("  confirm: Revoke the leaked keys [y/N] > ", "y")
    screen.answer(DECISION_PROMPT, "2")
    screen.answer(WHY_PROMPT, "1.2 M records")
    screen.wait_for("waiting for: sign-off (approval by legal)")
    approved = cslir("approve", rid, "sign-off", "--as", "bob", env=env, cwd=root)
    assert (approved.returncode, approved.stdout) == (0, f"{rid}: sign-off approved by bob\n")
    screen.answer(TASK_PROMPT, "d")
    screen.answer("file path, or text to record > ", "receipt 12387-991")
    screen.answer(FILED_PROMPT, "now")  # when the report was filed, read as --at reads it
    screen.answer(RECEIPT_PROMPT, "12387-991")
    screen.answer(COMMAND_PROMPT, "r")
    assert screen.end() == 0

    argv = ["python3", "-c", "import sys; print('archived', sys.argv[1])", "crm; touch owned.txt"]
    receipt = hashlib.sha256(b"receipt 12387-991").hexdigest()
    assert_in_order(screen.lines(), [
        f"run {rid}: Walkthrough fixture",
        "▶ contain: Contain the leak on crm; touch owned.txt",
        "  [ ] Revoke the leaked keys",
        f"{TASK_PROMPT}d",
        "  confirm: Revoke the leaked keys [y/N] > y",
        "▶ grade: grade  [decision]",
        "  1. general",
        "  2. major",
        f"{WHY_PROMPT}1.2 M records",
        "  decided: grade = major",
        "▶ sign-off: Approve the notice  [approval]",
        f"  approval requested from the legal role: they run `cslir approve {rid} sign-off "
        "--as NAME`",
        "waiting for: sign-off (approval by legal)",
        "  ↳ bob: approval.granted sign-off",
        "▶ receipt: Keep the filing receipt  [evidence]",
        f"  evidence text sha256 {receipt[:16]}… recorded",
        f"{FILED_PROMPT}now",
        f"{RECEIPT_PROMPT}12387-991",
        "▶ archive: Archive the logs  [command]",
        f"  command: {shlex.join(argv)}",
        "  running…",
        "  exit 0",
        "  → paging legal-oncall: Leak on crm; touch owned.txt graded major",
        "  ✓ cool-off: timer ended",
        f"run {rid} closed.",
        "  ✓ First report: met",
    ])  # fmt: skip
    events = stored_events(tmp_path, rid)
    steps = ["contain", "grade", "sign-off", "receipt", "archive", "tell", "cool-off"]
    assert outcomes(events) == {s: 1 for s in steps if s not in ("grade", "sign-off")}
    assert [e.data["step"] for e in events if e.type == "decision.made"] == ["grade"]
    [filed] = [e for e in events if e.type == "step.done" and e.data["step"] == "receipt"]
    assert (filed.data["reference"], sorted(filed.data)) == (
        "12387-991", ["acted_at", "reference", "step"])  # fmt: skip
    assert filed.data["acted_at"] <= filed.at  # the filing, as typed, before it was recorded
    assert [(e.actor, e.data["step"]) for e in events if e.type == "approval.granted"] == [
        ("bob", "sign-off")
    ]
    (finished,) = [e.data for e in events if e.type == "command.finished"]
    assert (finished["argv"], finished["stdout"], finished["exit"]) == (
        argv, "archived crm; touch owned.txt\n", 0)  # fmt: skip
    assert not (root / "owned.txt").exists()  # the input stayed one argument, never a shell
    assert "run.closed" in [e.type for e in events]
    verified = cslir("verify", rid, env=env, cwd=root)
    assert verified.returncode == 0
    assert len(server.requests) == 1


def start_asks(tmp_path: Path, store: str | None = None) -> tuple[Screen, Path, dict[str, str]]:
    root = make_ops(tmp_path, "asks")
    env = cslir_env(tmp_path, root, store=store)
    return Screen(["run", "playbooks/asks.yaml"], env, root), root, env


def test_bad_answers_are_explained_and_asked_again(tmp_path: Path) -> None:
    screen, _, _ = start_asks(tmp_path)
    screen.answer("When was it found? > ", "yesterday-ish")
    screen.answer("When was it found? > ", "2099-01-01 00:00")
    screen.answer("When was it found? > ", "2026-01-05T09:30+08:00")
    screen.answer("How many records? > ", "lots")
    screen.answer("How many records? > ", "1,200,000")
    screen.answer("Who is the operator? > ", "7")
    screen.answer("Who is the operator? > ", "2")
    screen.answer("Was personal information involved? (y/n) > ", "maybe")
    screen.answer("Was personal information involved? (y/n) > ", "y")
    rid = screen.run_id()
    screen.answer(TASK_PROMPT, "d")
    screen.answer(DECISION_PROMPT, "9")
    screen.answer(DECISION_PROMPT, "q")
    assert screen.end() == 130
    assert_in_order(screen.lines(), [
        "When was it found? > yesterday-ish",
        "  'yesterday-ish' is not a date and time: write 2026-03-01 14:30, "
        "2026-03-01T14:30+08:00, now, or 30m ago; try again",
        "When was it found? > 2099-01-01 00:00",
        "  '2099-01-01 00:00' lies in the future; try again",
        "How many records? > lots",
        "  'lots' is not a whole number; try again",
        "  1. cii — Critical information infrastructure",
        "  2. other — Any other network operator",
        "Who is the operator? > 7",
        "  '7' is not one of: cii, other; try again",
        "Was personal information involved? (y/n) > maybe",
        "  'maybe' is not yes or no; try again",
        f"{DECISION_PROMPT}9",
        "  refused: '9' is not a choice of 'grade': general, major",
        f"{DECISION_PROMPT}q",
        f"run {rid} paused; resume with: cslir resume {rid}",
    ])  # fmt: skip
    opened = stored_events(tmp_path, rid)[0]
    assert opened.data["inputs"] == {
        "detected_at": "2026-01-05T01:30:00Z",
        "records": 1200000,
        "operator": "other",
        "pi": True,
    }


def test_ctrl_c_pauses_the_run_and_resume_finishes_it(tmp_path: Path) -> None:
    screen, root, env = start_asks(tmp_path)
    for prompt, text in [("When was it found? > ", "30m ago"), ("How many records? > ", "3"),
                         ("Who is the operator? > ", "cii"),
                         ("Was personal information involved? (y/n) > ", "n")]:  # fmt: skip
        screen.answer(prompt, text)
    rid = screen.run_id()
    screen.answer(TASK_PROMPT, "d")
    screen.wait_for(DECISION_PROMPT)
    screen.child.sendintr()
    assert screen.end() == 130
    after = screen.log.getvalue().rsplit(DECISION_PROMPT, 1)[1].replace("\r\n", "\n")
    said = [line for line in after.replace("^C", "").split("\n") if line.strip()]
    assert said[0] == f"run {rid} paused; resume with: cslir resume {rid}"
    assert stored_events(tmp_path, rid)[-1].data == {"reason": "interrupted"}

    again = Screen(["resume", rid], env, root)
    again.answer(DECISION_PROMPT, "1")
    again.answer(WHY_PROMPT, "")
    again.answer(TASK_PROMPT, "d")
    assert again.end() == 0
    assert_in_order(again.lines(), [
        f"run {rid}: Asking fixture",
        "▶ grade: grade  [decision]",
        "  decided: grade = general",
        "▶ close: Close the incident",
        f"run {rid} closed.",
    ])  # fmt: skip
    types = [e.type for e in stored_events(tmp_path, rid)]
    assert types[types.index("run.paused") + 1] == "run.resumed"
    assert "run.closed" in types


def test_another_responders_step_shows_while_this_one_waits_at_a_prompt(
    tmp_path: Path, store_url: str
) -> None:
    """On PostgreSQL the screen hears of it by NOTIFY; a SQLite file is looked at often."""
    screen, root, env = start_asks(tmp_path, store_url)
    for prompt, text in [("When was it found? > ", "now"), ("How many records? > ", "3"),
                         ("Who is the operator? > ", "other"),
                         ("Was personal information involved? (y/n) > ", "y")]:  # fmt: skip
        screen.answer(prompt, text)
    rid = screen.run_id()
    screen.wait_for(TASK_PROMPT)
    done = cslir("step", rid, "contain", "--done", "--as", "bob", env=env, cwd=root)
    assert (done.returncode, done.stdout) == (0, f"{rid}: contain done\n")
    screen.wait_for(DECISION_PROMPT)  # the screen moved on to the next step by itself
    screen.child.sendline("q")
    assert screen.end() == 130
    assert_in_order(screen.lines(), [
        "▶ contain: Contain the leak",
        TASK_PROMPT,
        "  ↳ bob: step.done contain",
        "▶ grade: grade  [decision]",
    ])  # fmt: skip


APPROVE_PROMPT = "[d] approve (as the approver) [s]kip [n]ote [t]status [q]pause > "


@pytest.mark.parametrize(
    ("approver", "said"),
    [("bob", "▶ receipt: Keep the filing receipt  [evidence]"),
     ("carol", "  refused: carol does not hold the legal role")],
)  # fmt: skip
def test_an_approver_joins_by_role_and_signs_off_from_a_second_terminal(
    tmp_path: Path, approver: str, said: str
) -> None:
    """cslir.yaml gives bob the legal role and carol another: only bob's sign-off counts."""
    root = make_ops(tmp_path, "walk", settings=RESPONDERS)
    env = cslir_env(tmp_path, root)
    screen = Screen(["run", "playbooks/walk.yaml"], env, root)
    screen.answer("When was it found? [now] > ", "")
    screen.answer("Which system? > ", "crm")
    screen.answer("How many records? > ", "5")
    rid = screen.run_id()
    screen.answer(TASK_PROMPT, "s")
    screen.answer("reason for skipping > ", "contained by the vendor")
    screen.answer(DECISION_PROMPT, "1")
    screen.answer(WHY_PROMPT, "")
    screen.wait_for("waiting for: sign-off (approval by legal)")

    joined = Screen(["join", rid, "--role", "legal", "--as", approver], env, root)
    joined.wait_for("▶ sign-off: Approve the notice  [approval]")
    joined.answer(APPROVE_PROMPT, "d")
    joined.answer("approval note (Enter for none) > ", "notice text checked")
    joined.wait_for(said)
    joined.child.sendline("q")
    assert joined.end() == 130
    assert joined.lines()[-2] == (  # leaving does not pause the run for the others
        f"left run {rid}; it goes on without you; rejoin with: cslir join {rid} --role legal"
    )
    if approver == "bob":  # the first responder's screen shows it and moves on
        screen.wait_for("  ↳ bob: approval.granted sign-off")
        screen.wait_for("▶ receipt: Keep the filing receipt  [evidence]")
    screen.child.sendline("q")
    assert screen.end() == 130
    events = stored_events(tmp_path, rid)
    granted = [e.actor for e in events if e.type == "approval.granted"]
    assert granted == (["bob"] if approver == "bob" else [])
    assert [e.actor for e in events if e.type == "run.paused"] == ["alice"]


def test_ctrl_c_during_a_command_stops_it_and_resume_offers_it_again(tmp_path: Path) -> None:
    root = make_ops(tmp_path, "slow")
    env = cslir_env(tmp_path, root)
    screen = Screen(["run", "playbooks/slow.yaml"], env, root)
    rid = screen.run_id()
    screen.answer(COMMAND_PROMPT, "r")
    screen.wait_for("  running…")
    pid_file = root / "nap.pid"
    deadline = time.monotonic() + 10
    while not pid_file.is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    screen.child.sendintr()
    assert screen.end() == 130
    assert screen.lines()[-2] == f"run {rid} paused; resume with: cslir resume {rid}"
    assert gone(int(pid_file.read_text()))  # the command was stopped with the run

    again = Screen(["resume", rid], env, root)
    again.wait_for("▶ nap: Copy the disk image  [command]")
    again.wait_for(
        "  its last attempt was cut short (the process running it ended); r runs it again"
    )
    again.answer(COMMAND_PROMPT, "s")
    again.answer("reason for skipping > ", "copied by hand")
    again.answer(TASK_PROMPT, "d")
    assert again.end() == 0
    events = stored_events(tmp_path, rid)
    assert [e.type for e in events if e.data.get("step") == "nap"] == [
        "step.started", "step.skipped"]  # fmt: skip


def test_a_page_goes_out_as_soon_as_its_step_is_ready_not_when_the_responder_reaches_it(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.script(Reply(200))
    root = make_ops(tmp_path, "pages")
    env = cslir_env(tmp_path, root, hook=server.url + "/hook")
    screen = Screen(["run", "playbooks/pages.yaml"], env, root)
    rid = screen.run_id()
    # the page is sent before the first step is even shown
    screen.wait_for("  → paging legal-oncall: Leak under way; contain in progress")
    screen.answer(TASK_PROMPT, "d")
    screen.answer(TASK_PROMPT, "d")
    assert screen.end() == 0
    lines = screen.lines()
    assert lines.index("  → paging legal-oncall: Leak under way; contain in progress") < (
        lines.index("▶ contain: Contain the leak")
    )
    assert outcomes(stored_events(tmp_path, rid)) == {"contain": 1, "tell-legal": 1, "close": 1}


@pytest.mark.parametrize(("lang", "title", "instructions"), [
    ("en", "▶ contain: Contain the leak", "  Stop the leak without destroying evidence."),
    ("zh", "▶ contain: 控制泄露", "  在不破坏证据的前提下阻断泄露。"),
])  # fmt: skip
def test_lang_chooses_the_language_the_responder_reads(
    tmp_path: Path, lang: str, title: str, instructions: str
) -> None:
    root = make_ops(tmp_path, "bilingual")
    screen = Screen(
        ["--lang", lang, "run", "playbooks/bilingual.yaml"], cslir_env(tmp_path, root), root
    )
    screen.answer(TASK_PROMPT, "d")
    screen.answer(TASK_PROMPT, "d")
    assert screen.end() == 0
    lines = screen.lines()
    assert lines.index(title) + 2 == lines.index(instructions)


@pytest.mark.parametrize(("no_color", "coloured"), [(False, True), (True, False)])
def test_colour_shows_on_a_terminal_and_never_with_no_color(
    tmp_path: Path, no_color: bool, coloured: bool
) -> None:
    root = make_ops(tmp_path, "bilingual")
    env = cslir_env(tmp_path, root)
    if not no_color:
        del env["NO_COLOR"]
    screen = Screen(["run", "playbooks/bilingual.yaml"], env, root)
    screen.answer(TASK_PROMPT if no_color else "pause > ", "q")
    assert screen.end() == 130
    assert ("\x1b[" in screen.log.getvalue()) is coloured


def test_status_watch_redraws_when_another_responder_records_a_step(
    tmp_path: Path, store_url: str
) -> None:
    root = make_ops(tmp_path, "bilingual")
    env = cslir_env(tmp_path, root, store=store_url)
    rid = "20261129-020000-abcdef"
    pb = load_playbook(root / "playbooks" / "bilingual.yaml", root)
    with open_store(store_url) as store:
        open_run(store, pb, {}, actor="alice", now=datetime.now(UTC), run_id=rid)
    watch = Screen(["status", rid, "--watch"], env, root)
    watch.wait_for("ready    contain")
    done = cslir("step", rid, "contain", "--done", "--as", "bob", env=env, cwd=root)
    assert done.returncode == 0
    watch.wait_for("done     contain by bob")
    watch.child.sendintr()
    assert watch.end() == 130


def test_the_walkthroughs_status_view_shows_what_cslir_status_prints(tmp_path: Path) -> None:
    root = make_ops(tmp_path, "walk")
    env = cslir_env(tmp_path, root)
    rid = "20261129-020000-fedcba"
    pb = load_playbook(root / "playbooks" / "walk.yaml", root)
    inputs = {"detected_at": "2026-11-29T01:00:00Z", "system": "crm", "records": 5,
              "grade": "general"}  # fmt: skip
    with Store(store_path(tmp_path)) as store:
        open_run(store, pb, inputs, actor="alice", now=datetime.now(UTC), run_id=rid)
    status = cslir("status", rid, env=env, cwd=root)
    assert status.stdout.splitlines()[-2:] == [
        "clocks:",
        "  · First report: n/a — CAC Incident Reporting Measures Art 4",
    ]
    screen = Screen(["resume", rid], env, root)
    screen.answer(TASK_PROMPT, "t")
    screen.answer(TASK_PROMPT, "q")
    assert screen.end() == 130
    assert_in_order(screen.lines(), status.stdout.splitlines())
