"""The responder's walkthrough: one ready step at a time, the clocks always in view.

Actions are one letter and Enter. Ctrl-C or ``q`` records a pause and prints the command that
resumes; nothing recorded is ever lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

from cslir.base.errors import ActionRefused, CslirError, Interrupted
from cslir.base.timefmt import zone
from cslir.engine import actions
from cslir.engine.actions import same_person
from cslir.engine.events import Event
from cslir.engine.floors import propose
from cslir.engine.model import Step, localize
from cslir.engine.state import RunState
from cslir.runs.effects import RunSession
from cslir.runs.session import paused_message
from cslir.terminal.console import Term
from cslir.terminal.prompts import ask_filing
from cslir.terminal.statusview import clock_lines, status_lines
from cslir.terminal.stepview import (
    HELP,
    IDLE_PROMPT,
    event_line,
    other_line,
    prompt_text,
    step_lines,
)

# Events every terminal following the run shows, whoever recorded them.
ANNOUNCED = ("notify.failed", "drill.inject", "drill.advanced")


@dataclass(eq=False)  # a walkthrough is itself, not its fields
class Walkthrough:
    """One responder at a terminal, walking run ``s``; the fields after ``poll`` are what is on
    the screen."""

    s: RunSession
    term: Term
    _: KW_ONLY
    root: Path
    environ: Mapping[str, str]
    lang: str | None = None
    role: str | None = None
    roles: list[str] | None = None  # the responder's roles from cslir.yaml, if it names them
    joining: bool = False  # a second responder: leaving does not pause the run
    poll: float = 1.0  # seconds between looks at what others recorded
    shown: str | None = field(default=None, init=False)  # the step currently on screen
    prompted: bool = field(default=False, init=False)  # a prompt is on screen, awaiting a line
    seen_seq: int = field(default=0, init=False)  # the last event this terminal has seen
    offset: int = field(default=0, init=False)  # rotate among several ready steps with 'w'

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> int:
        try:
            return self._loop()
        except (KeyboardInterrupt, EOFError):
            self.pause("interrupted")
            raise Interrupted(self._resume_hint()) from None

    def _resume_hint(self) -> str:
        rid = self.s.run_id
        if self.joining:
            role = f" --role {self.role}" if self.role else ""
            return f"left run {rid}; it goes on without you; rejoin with: cslir join {rid}{role}"
        return paused_message(rid)

    def _loop(self) -> int:
        st = self.s.state()
        self.seen_seq = st.last_seq
        if st.paused and not self.joining:
            self.s.record(actions.resume)
        self.term.say(
            f"run {self.s.run_id}: {localize(st.playbook.title, self.lang)}"
            + (" [DRILL]" if st.drill else ""),
            "bold",
        )
        self.show_clocks(self.s.state())
        while True:
            for e in self.s.watch():
                if not e.type.startswith("drill."):  # shown with everyone's, below
                    self.announce(e)
            st = self.s.state()
            self.show_others(st)
            if st.closed:
                self.finish(st)
                return 0
            if self.auto_steps(st):
                continue  # pages go out as soon as their step is ready, not when reached
            step = self.current(st)
            if step is None:
                self.idle(st)
                continue
            if self.shown != step.id:
                self.show_step(st, step)
                self.shown, self.prompted = step.id, False
            if self.auto_step(st, step):
                continue
            if not self.prompted:
                self.term.prompt(prompt_text(st, step))
                self.prompted = True
            # a short wait, so that what others record shows up while this responder thinks
            line = self.read_line()
            if line is None:
                continue
            self.prompted = False
            self.handle(self.s.state(), step, line.strip())

    def read_line(self) -> str | None:
        """The responder's line, or None once ``poll`` passes or another responder records
        something (PostgreSQL says so at once; a SQLite file is looked at every moment)."""
        self.s.store.wait_for_events(
            self.s.run_id, self.seen_seq, self.poll, also=[self.term.stdin]
        )
        return self.term.read_line(timeout=0)

    def say(self, text: str, *style: str) -> None:
        """Print a line between prompts: off the line of a prompt that is waiting."""
        if self.prompted:
            self.term.say("")
            self.prompted, self.shown = False, None
        self.term.say(text, *style)

    def current(self, st: RunState) -> Step | None:
        orphans = set(self.s.orphaned(st))  # running, but their process is gone
        ready = []
        for sid in st.in_order("ready", "failed", "running", "waiting"):
            step, s = st.index.step[sid], st.steps[sid]
            if s.status == "running" and sid not in orphans:
                continue
            if s.status == "waiting" and same_person(s.requested_by or self.s.actor, self.s.actor):
                continue  # an approval waits for someone other than who asked for it
            mine = step.owner in (None, self.role) or (
                step.kind == "approval" and step.by == self.role
            )
            if self.role is None or mine:
                ready.append(step)
        if not ready:
            return None
        return ready[self.offset % len(ready)]

    def auto_steps(self, st: RunState) -> bool:
        """Do every ready step that cslir does by itself; True if any was done."""
        did = False
        for sid in st.in_order("ready"):
            # another responder's process may have sent it first: then there is nothing to do
            with contextlib.suppress(ActionRefused):
                did = self.auto_step(st, st.index.step[sid]) or did
        return did

    def auto_step(self, st: RunState, step: Step) -> bool:
        """Steps cslir does by itself once reached: paging and approval requests."""
        if st.steps[step.id].status != "ready":
            return False
        if step.kind == "notify":
            for e in self.s.notify_step(step.id):
                self.announce(e)
            return True
        if step.kind == "approval" and not st.steps[step.id].requested_by and self.role != step.by:
            if self.shown != step.id:
                self.show_step(st, step)
                self.shown = step.id
            self.s.request_approval(step.id)
            self.term.say(
                f"  approval requested from the {step.by} role: they run "
                f"`cslir approve {self.s.run_id} {step.id} --as NAME`",
                "yellow",
            )
            return True
        return False

    def idle(self, st: RunState) -> None:
        waiting = [
            f"{sid} ({s.waiting_for or s.status})"
            for sid, s in st.steps.items()
            if s.status in ("waiting", "running", "blocked") or (self.role and s.status == "ready")
        ]
        text = "waiting for: " + (", ".join(waiting) if waiting else "other responders")
        if self.shown != "__idle__" + text:
            self.say(text, "dim")
            self.term.prompt(IDLE_PROMPT)
            self.shown, self.prompted = "__idle__" + text, True
        line = self.read_line()
        if line is not None:
            self.shown, self.prompted = None, False
            self.handle(self.s.state(), None, line.strip())

    # -- showing -----------------------------------------------------------------------------

    def show_step(self, st: RunState, step: Step) -> None:
        self.term.show(step_lines(self.s, st, step, self.lang))

    def show_clocks(self, st: RunState) -> None:
        self.term.show(clock_lines(st, self.s, self.lang))

    def announce(self, e: Event) -> None:
        line = event_line(e)
        if line is not None:
            self.say(line[0], *line[1])

    def show_others(self, st: RunState) -> None:
        if st.last_seq <= self.seen_seq:
            return
        for e in self.s.store.iter_events(self.s.run_id, self.seen_seq):
            if e.type in ANNOUNCED:  # news for everyone: a page that did not arrive, an inject
                self.announce(e)
                self.shown = None if e.type == "drill.inject" else self.shown
            elif e.actor not in (self.s.actor, "cslir"):
                text, style = other_line(e)
                self.say(text, *style)
                self.shown = None
        self.seen_seq = st.last_seq

    def finish(self, st: RunState) -> None:
        self.term.say("")
        self.term.say(f"run {st.run_id} closed.", "bold", "green")
        self.show_clocks(st)
        self.term.say(f"record: cslir status {st.run_id}  ·  verify: cslir verify {st.run_id}")

    # -- acting ----------------------------------------------------------------------------

    def pause(self, reason: str) -> None:
        if self.joining:  # others are still working on it
            self.term.say("")
            return
        with contextlib.suppress(CslirError):  # pausing must not hide why we stopped
            self.s.record(partial(actions.pause, reason=reason))
        self.term.say("")

    def handle(self, st: RunState, step: Step | None, line: str) -> None:
        cmd = line[:1].lower()
        try:
            if step is not None and step.kind == "decision" and line and cmd not in "nstq?pew":
                self.decide(st, step, line)
            elif not self.anytime(step, cmd, line):
                self.on_step(st, step, cmd, line)
        except ActionRefused as e:
            self.term.say(f"  refused: {e.message}", "red")
            self.shown = None
        except Interrupted:
            raise
        except CslirError as e:  # a missing secret, an unreadable file: say so, keep the run
            self.term.say(f"  could not do that: {e.message}", "red")
            self.shown = None
        self.shown = None if cmd not in ("?", "t") else self.shown

    def anytime(self, step: Step | None, cmd: str, line: str) -> bool:
        """Actions that need no step on screen (help, pause, status, next, note, evidence,
        page); False if ``cmd`` is none of them."""
        if cmd == "?" or line == "help":
            self.term.say(HELP)
        elif cmd == "q":
            self.pause("paused by responder")
            raise Interrupted(self._resume_hint())
        elif cmd == "t":
            self.term.show(status_lines(self.s.state(), self.s, self.lang))
        elif cmd == "w":
            self.offset += 1
        elif cmd == "n":
            text = self.term.ask("note > ")
            self.s.record(lambda s: actions.note(s, text, step.id if step else None))
            self.term.say("  noted")
        elif cmd == "e":
            self.evidence(step)
        elif cmd == "p":
            route = self.term.ask("route > ")
            message = self.term.ask("message > ")
            for e in self.s.page(route, message):
                self.announce(e)
        else:
            return False
        return True

    def on_step(self, st: RunState, step: Step | None, cmd: str, line: str) -> None:
        """Actions on the step on screen: done, skip, fail, retry or run."""
        if step is None:
            self.term.say("nothing to do that to now; ? for help")
        elif cmd == "d":
            self.done(st, step)
        elif cmd == "s":
            reason = self.term.ask("reason for skipping > ")
            self.s.record(lambda s: actions.skip(s, step.id, reason))
        elif cmd == "f":
            reason = self.term.ask("reason for failure > ")
            self.s.record(lambda s: actions.fail(s, step.id, reason))
        elif cmd == "r":
            self.retry_or_run(st, step)
        elif line:
            self.term.say(f"unknown action '{line}'; ? for help")

    def done(self, st: RunState, step: Step) -> None:
        if step.runs_itself:
            self.retry_or_run(st, step)
            return
        if step.kind == "approval":
            rationale = self.term.ask("approval note (Enter for none) > ")
            self.s.record(
                lambda s: actions.approve(s, step.id, self.s.actor, self.roles, rationale or None)
            )
            return
        s = st.steps[step.id]
        for i, item in enumerate(step.checklist):
            if i in s.checked:
                continue
            answer = self.term.ask(f"  confirm: {self.s.render(item, self.lang)} [y/N] > ")
            if answer.lower() not in ("y", "yes", "是"):
                self.term.say("  not done: confirm every item, or skip with a reason")
                return
            self.s.record(partial(actions.check_item, step_id=step.id, item=i))
        if step.needs_evidence and not s.evidence:
            self.evidence(step)  # what the step is for: ask for it rather than refuse
        at: datetime | None = None
        facts: dict[str, str] = {}
        if step.submits:  # a report or notice: when it was really filed, and its receipt
            at, facts = ask_filing(self.term, now=self.s.now(), tz=zone(self.s.timezone()))
        self.s.record(lambda s: actions.done(s, step.id, at=at, facts=facts))

    def decide(self, st: RunState, step: Step, line: str) -> None:
        choices = [c.value for c in st.playbook.choices_of(step)]
        value = (
            choices[int(line) - 1] if line.isdigit() and 1 <= int(line) <= len(choices) else line
        )
        proposal = propose(st.playbook, step, st.inputs)
        below = proposal is not None and proposal.below(choices, value)
        actions.decide(st, step.id, value, "?" if below else None)  # a bad choice: refuse now
        if below and proposal is not None:
            why = "say why (recorded, and flagged in the report)"
            self.term.say(f"  {value} is below {proposal.minimum}, the least the facts propose; "
                          + why, "yellow")  # fmt: skip
        rationale = ""
        while not rationale:
            rationale = self.term.ask("why? (recorded; Enter to leave blank) > ").strip()
            if not below:
                break
        self.s.record(lambda s: actions.decide(s, step.id, value, rationale or None))
        self.term.say(f"  decided: {step.sets} = {value}", "green")

    def retry_or_run(self, st: RunState, step: Step) -> None:
        if st.steps[step.id].status == "failed":
            self.s.record(lambda s: actions.retry(s, step.id))
            if not step.runs_itself:
                return
        if not step.runs_itself:
            self.term.say("  r runs a command or probe step, or retries a failed one")
            return
        if step.kind == "probe":
            self.run_probe(step)
            return
        self.term.say("  running…", "dim")
        events = self.s.run_command(step.id, root=self.root, environ=self.environ)
        for e in events:
            if e.type == "command.finished":
                self.term.say(
                    f"  {e.data.get('summary', 'simulated')}",
                    "green" if e.data.get("exit", 0) == 0 else "red",
                )

    def run_probe(self, step: Step) -> None:
        from cslir.runs.probestep import run_probe

        self.term.say("  probing… (Ctrl-C pauses the run)", "dim")
        for e in run_probe(self.s, step.id):
            if e.type == "probe.finished":
                self.term.say(f"  {e.data.get('summary')}", "green" if e.data["held"] else "red")

    def evidence(self, step: Step | None) -> None:
        answer = self.term.ask("file path, or text to record > ")
        path = Path(answer).expanduser()
        sid = step.id if step else None
        if answer and path.is_file():
            events = self.s.add_evidence(path, step_id=sid)
        else:
            events = self.s.add_evidence(text=answer, step_id=sid) if answer else []
        for e in events:
            self.term.say(f"  evidence {e.data['name']} sha256 {e.data['sha256'][:16]}… recorded")
