"""The responder's walkthrough: one ready step at a time, the clocks always in view.

Actions are one letter and Enter. Ctrl-C or ``q`` records a pause and prints the command that
resumes; nothing recorded is ever lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from functools import partial
from pathlib import Path

from cslir.base.errors import ActionRefused, CslirError, Interrupted
from cslir.engine import actions
from cslir.engine.clocks import ClockView, views
from cslir.engine.durations import format_span
from cslir.engine.events import Event
from cslir.engine.model import Step, localize
from cslir.engine.state import RunState
from cslir.runs.effects import RunSession
from cslir.terminal.console import Term

HELP = """actions (type the letter, then Enter):
  d  done            (confirms checklist items one by one; a decision takes a choice number)
  s  skip            (asks for the reason)
  f  fail            (asks for the reason)
  r  retry a failed step / run a command step
  n  note            (free text into the record)
  e  evidence        (a file path, or text)
  p  page a route    (route name, then message)
  t  status          (every step and clock)
  w  next            (show the next ready step)
  q  pause           (exit now; resume later with the command shown)
  ?  this help"""

URGENT = 15 * 60
DRILL_WORDS = {"simulate": "simulated", "skip": "skipped"}


class Walkthrough:
    def __init__(
        self,
        session: RunSession,
        term: Term,
        *,
        root: Path,
        environ: Mapping[str, str],
        lang: str | None = None,
        role: str | None = None,
        roles: list[str] | None = None,
        joining: bool = False,
        poll: float = 1.0,
    ) -> None:
        self.s = session
        self.term = term
        self.root = root
        self.environ = environ
        self.lang = lang
        self.role = role
        self.roles = roles  # the responder's roles from cslir.yaml, if it names them
        self.joining = joining  # a second responder: leaving does not pause the run
        self.poll = poll
        self.shown: str | None = None  # the step currently on screen
        self.prompted = False  # a prompt is on screen, waiting for a line
        self.seen_seq = 0
        self.offset = 0  # rotate among several ready steps with 'w'

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
        return f"run {rid} paused; resume with: cslir resume {rid}"

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
                self.term.prompt(self.prompt_text(st, step))
                self.prompted = True
            # a short poll, so that what others record shows up while this responder thinks
            line = self.term.read_line(timeout=self.poll)
            if line is None:
                continue
            self.prompted = False
            self.handle(self.s.state(), step, line.strip())

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
            if s.status == "waiting" and s.requested_by in (None, self.s.actor):
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
            self.term.prompt("[n]ote [e]vidence [p]age s[t]atus [q]pause > ")
            self.shown, self.prompted = "__idle__" + text, True
        line = self.term.read_line(timeout=self.poll)
        if line is not None:
            self.shown, self.prompted = None, False
            self.handle(self.s.state(), None, line.strip())

    # -- showing -----------------------------------------------------------------------------

    def show_step(self, st: RunState, step: Step) -> None:
        s = st.steps[step.id]
        title = localize(step.title, self.lang) or step.id
        self.term.say("")
        head = f"▶ {step.id}: {self.s.render(title, self.lang)}"
        self.term.say(head + (f"  [{step.kind}]" if step.kind != "task" else ""), "bold", "cyan")
        if step.owner:
            self.term.say(f"  owner: {step.owner}")
        if s.status == "failed":
            self.term.say(f"  FAILED: {s.reason}", "red")
        if s.status == "running":
            self.term.say(
                "  its last attempt was cut short (the process running it ended); r runs it again",
                "yellow",
            )
        if step.instructions:
            self.term.say("  " + self.s.render(step.instructions, self.lang).strip())
        for i, item in enumerate(step.checklist):
            mark = "x" if i in s.checked else " "
            self.term.say(f"  [{mark}] {self.s.render(item, self.lang)}")
        if step.kind == "decision":
            for i, c in enumerate(st.playbook.choices_of(step), 1):
                label = localize(c.label, self.lang)
                self.term.say(f"  {i}. {c.value}" + (f" — {label}" if label else ""))
        if step.kind == "command":
            drill = st.drill and step.in_drill != "execute"
            self.term.say(
                "  command: "
                + self.command_text(step)
                + (f" ({DRILL_WORDS[step.in_drill]} in this drill)" if drill else "")
            )
        if step.needs_evidence:
            self.term.say("  evidence required before done", "yellow")
        if step.stops:
            self.show_clocks(st, only=step.stops)

    def command_text(self, step: Step) -> str:
        import shlex

        from cslir.engine.templating import TemplateProblem

        try:
            return shlex.join(self.s.command_argv(step))  # quoted as it is passed: one per item
        except TemplateProblem as e:
            return f"{' '.join(step.run)}  [template error: {e}]"

    def prompt_text(self, st: RunState, step: Step) -> str:
        if step.kind == "decision":
            n = len(st.playbook.choices_of(step))
            return f"choose 1-{n}, or [n]ote [s]kip [t]status [?]help [q]pause > "
        if step.kind == "command":
            return "[r]un [s]kip [n]ote [t]status [?]help [q]pause > "
        if step.kind == "approval":
            return "[d] approve (as the approver) [s]kip [n]ote [t]status [q]pause > "
        if st.steps[step.id].status == "failed":
            return "[r]etry [s]kip [n]ote [t]status [?]help [q]pause > "
        return "[d]one [s]kip [f]ail [n]ote [e]vidence [p]age [t]status [?]help [q]pause > "

    def clock_line(self, v: ClockView) -> tuple[str, tuple[str, ...]]:
        title = localize(v.clock.title, self.lang) or v.id
        conf = (
            f" [{v.clock.confidence} confidence]" if v.clock.confidence in ("medium", "low") else ""
        )
        prov = f" [provisional: {v.provisional}]" if v.provisional else ""
        maybe = " (if it applies)" if v.applies is None else ""
        if v.state in ("running", "overdue") and v.due_at and v.left is not None:
            secs = v.left.total_seconds()
            when = f"due {self.s.local(v.due_at)}"
            if secs < 0:
                return (
                    f"  ⏰ {title}: OVERDUE by {format_span(-secs)} ({when}){maybe}{conf}{prov}",
                    ("red", "bold"),
                )
            style = ("red", "bold") if secs < URGENT else (("yellow",) if secs < 3600 else ())
            return f"  ⏱ {title}: {format_span(secs)} left ({when}){maybe}{conf}{prov}", style
        if v.state in ("met", "missed", "waived"):
            return f"  ✓ {title}: {v.state}", ("green",) if v.state == "met" else ("red",)
        return f"  · {title}: {v.state}", ("dim",)

    def show_clocks(self, st: RunState, only: tuple[str, ...] | None = None) -> None:
        for v in views(st, self.s.now()):
            if (only is None and v.state in ("n/a",)) or (only is not None and v.id not in only):
                continue
            text, style = self.clock_line(v)
            self.term.say(text, *style)

    def show_status(self, st: RunState) -> None:
        self.term.say(
            f"run {st.run_id} ({st.mode}) — {localize(st.playbook.title, self.lang)}", "bold"
        )
        for step in st.playbook.steps:
            s = st.steps[step.id]
            who = f" by {s.actor}" if s.actor else ""
            why = f" — {s.reason}" if s.reason else (f" ({s.waiting_for})" if s.waiting_for else "")
            self.term.say(f"  {s.status:8} {step.id}{who}{why}")
        self.show_clocks(st)

    def announce(self, e: Event) -> None:
        d = e.data
        prov = f" [provisional: {d['provisional']}]" if d.get("provisional") else ""
        if e.type == "clock.warned":
            self.say(f"⚠ clock {d['clock']}: due in under {d['warn']}{prov}", "yellow", "bold")
        elif e.type == "clock.missed":
            self.say(f"⚠ clock {d['clock']} MISSED (was due {d['due']}){prov}", "red", "bold")
        elif e.type == "notify.requested":
            self.say(f"  → paging {d['route']}: {d['message']}", "magenta")
        elif e.type == "step.done" and e.actor == "cslir":
            self.say(f"  ✓ {d['step']}: {d.get('reason', 'done')}", "green")
        elif e.type == "notify.failed":
            then = f"fell back to {d['fallback']}" if d.get("fallback") else "no fallback"
            self.say(f"⚠ paging {d['route']} failed: {d['detail']}; {then}", "red", "bold")

    def show_others(self, st: RunState) -> None:
        if st.last_seq <= self.seen_seq:
            return
        for e in self.s.store.iter_events(self.s.run_id, self.seen_seq):
            if e.type == "notify.failed":  # the delivery worker's news: a page did not arrive
                self.announce(e)
            elif e.actor not in (self.s.actor, "cslir"):
                what = e.data.get("step") or e.data.get("text") or ""
                self.say(f"  ↳ {e.actor}: {e.type} {what}".rstrip(), "cyan")
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
            elif cmd == "?" or line == "help":
                self.term.say(HELP)
            elif cmd == "q":
                self.pause("paused by responder")
                raise Interrupted(self._resume_hint())
            elif cmd == "t":
                self.show_status(self.s.state())
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
            elif step is None:
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
        except ActionRefused as e:
            self.term.say(f"  refused: {e.message}", "red")
            self.shown = None
        except Interrupted:
            raise
        except CslirError as e:  # a missing secret, an unreadable file: say so, keep the run
            self.term.say(f"  could not do that: {e.message}", "red")
            self.shown = None
        self.shown = None if cmd not in ("?", "t") else self.shown

    def done(self, st: RunState, step: Step) -> None:
        if step.kind == "command":
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
        self.s.record(lambda s: actions.done(s, step.id))

    def decide(self, st: RunState, step: Step, line: str) -> None:
        choices = [c.value for c in st.playbook.choices_of(step)]
        value = (
            choices[int(line) - 1] if line.isdigit() and 1 <= int(line) <= len(choices) else line
        )
        actions.decide(st, step.id, value)  # refuse a bad choice before asking why
        rationale = self.term.ask("why? (recorded; Enter to leave blank) > ")
        self.s.record(lambda s: actions.decide(s, step.id, value, rationale or None))
        self.term.say(f"  decided: {step.sets} = {value}", "green")

    def retry_or_run(self, st: RunState, step: Step) -> None:
        if st.steps[step.id].status == "failed":
            self.s.record(lambda s: actions.retry(s, step.id))
            if step.kind != "command":
                return
        if step.kind != "command":
            self.term.say("  r runs a command step or retries a failed one")
            return
        self.term.say("  running…", "dim")
        events = self.s.run_command(step.id, root=self.root, environ=self.environ)
        for e in events:
            if e.type == "command.finished":
                self.term.say(
                    f"  {e.data.get('summary', 'simulated')}",
                    "green" if e.data.get("exit", 0) == 0 else "red",
                )

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
