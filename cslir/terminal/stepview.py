"""What the walkthrough shows of a step and of what happens: the step card, its prompt, the
help, and one line per event worth announcing. Clocks and the status view are in
``cslir.terminal.statusview``.

Lines are (text, styles); nothing here reads input or records anything.
"""

from __future__ import annotations

import shlex

from cslir.engine.events import Event
from cslir.engine.floors import propose
from cslir.engine.model import Choice, Step, localize
from cslir.engine.state import RunState
from cslir.engine.templating import TemplateProblem
from cslir.runs.effects import RunSession
from cslir.terminal.console import Line
from cslir.terminal.statusview import clock_lines

HELP = """actions (type the letter, then Enter):
  d  done            (confirms checklist items one by one; a decision takes a choice number)
  s  skip            (asks for the reason)
  f  fail            (asks for the reason)
  r  retry a failed step / run a command or probe step
  n  note            (free text into the record)
  e  evidence        (a file path, or text)
  p  page a route    (route name, then message)
  t  status          (every step and clock)
  w  next            (show the next ready step)
  q  pause           (exit now; resume later with the command shown)
  ?  this help"""

IDLE_PROMPT = "[n]ote [e]vidence [p]age s[t]atus [q]pause > "
DRILL_WORDS = {"simulate": "simulated", "skip": "skipped"}


def choice_lines(choices: tuple[Choice, ...], lang: str | None) -> list[Line]:
    """Numbered choices, as a decision step and an input's prompt offer them."""
    out: list[Line] = []
    for i, c in enumerate(choices, 1):
        label = localize(c.label, lang)
        out.append((f"  {i}. {c.value}" + (f" — {label}" if label else ""), ()))
    return out


def step_lines(s: RunSession, st: RunState, step: Step, lang: str | None) -> list[Line]:
    """The step card: title, owner, what went wrong last time, instructions, checklist,
    choices or command, whether evidence is needed, and the clocks the step stops."""
    x = st.steps[step.id]
    title = s.render(localize(step.title, lang) or step.id, lang)
    kind = f"  [{step.kind}]" if step.kind != "task" else ""
    out: list[Line] = [("", ()), (f"▶ {step.id}: {title}{kind}", ("bold", "cyan"))]
    if step.owner:
        out.append((f"  owner: {step.owner}", ()))
    if x.status == "failed":
        out.append((f"  FAILED: {x.reason}", ("red",)))
    if x.status == "running":
        out.append(("  its last attempt was cut short (the process running it ended); "
                    "r runs it again", ("yellow",)))  # fmt: skip
    if step.instructions:
        out.append(("  " + s.render(step.instructions, lang).strip(), ()))
    for i, item in enumerate(step.checklist):
        out.append((f"  [{'x' if i in x.checked else ' '}] {s.render(item, lang)}", ()))
    if step.kind == "decision":
        out += choice_lines(st.playbook.choices_of(step), lang)
        proposal = propose(st.playbook, step, st.inputs)
        if proposal is not None:
            met = "; ".join(localize(f.indicator, lang) for f in proposal.met)
            out.append((f"  the facts propose at least {proposal.minimum}: {met}", ("yellow",)))
    if step.kind == "command":
        drill = st.drill and step.in_drill != "execute"
        how = f" ({DRILL_WORDS[step.in_drill]} in this drill)" if drill else ""
        out.append((f"  command: {command_text(s, step)}{how}", ()))
    if step.kind == "probe":
        out.append((f"  probe: {probe_text(s, st, step)}", ()))
    if step.needs_evidence:
        out.append(("  evidence required before done", ("yellow",)))
    if step.stops:
        out += clock_lines(st, s, lang, only=step.stops)
    return out


def command_text(s: RunSession, step: Step) -> str:
    """The command as it will run, quoted as it is passed: one shell word per argv item."""
    try:
        return shlex.join(s.command_argv(step))
    except TemplateProblem as e:
        return f"{' '.join(step.run)}  [template error: {e}]"


def probe_text(s: RunSession, st: RunState, step: Step) -> str:
    """What a probe step will try, how often and for how long (a drill's target in a drill)."""
    from cslir.probes.model import describe
    from cslir.runs.probestep import probe_target

    try:
        target = describe(probe_target(step, s.context(), drill=st.drill))
    except (TemplateProblem, ValueError) as e:
        return f"[cannot be built: {e}]"
    words = DRILL_WORDS.get(step.in_drill, "run against its drill target")
    drill = f" ({words} in this drill)" if st.drill else ""
    return f"{target}, every {step.every or '30s'} for up to {step.within or '5m'}{drill}"


def prompt_text(st: RunState, step: Step) -> str:
    if step.kind == "decision":
        n = len(st.playbook.choices_of(step))
        return f"choose 1-{n}, or [n]ote [s]kip [t]status [?]help [q]pause > "
    if step.runs_itself:
        return "[r]un [s]kip [n]ote [t]status [?]help [q]pause > "
    if step.kind == "approval":
        return "[d] approve (as the approver) [s]kip [n]ote [t]status [q]pause > "
    if st.steps[step.id].status == "failed":
        return "[r]etry [s]kip [n]ote [t]status [?]help [q]pause > "
    return "[d]one [s]kip [f]ail [n]ote [e]vidence [p]age [t]status [?]help [q]pause > "


def event_line(e: Event) -> Line | None:
    """What cslir itself did or learnt, worth interrupting for: clock warnings and misses,
    pages sent and failed, timers ended. None for anything else."""
    d = e.data
    prov = f" [provisional: {d['provisional']}]" if d.get("provisional") else ""
    if e.type == "clock.warned":
        return f"⚠ clock {d['clock']}: due in under {d['warn']}{prov}", ("yellow", "bold")
    if e.type == "clock.missed":
        return f"⚠ clock {d['clock']} MISSED (was due {d['due']}){prov}", ("red", "bold")
    if e.type == "notify.requested":
        return f"  → paging {d['route']}: {d['message']}", ("magenta",)
    if e.type == "step.done" and e.actor == "cslir":
        return f"  ✓ {d['step']}: {d.get('reason', 'done')}", ("green",)
    if e.type == "notify.failed":
        then = f"fell back to {d['fallback']}" if d.get("fallback") else "no fallback"
        return f"⚠ paging {d['route']} failed: {d['detail']}; {then}", ("red", "bold")
    if e.type == "drill.inject":
        return f"▶▶ INJECT {d['inject']} ({d['when']}): {d['message']}", ("yellow", "bold")
    if e.type == "drill.advanced":
        why = f": {d['reason']}" if d.get("reason") else ""
        return f"▶▶ scenario time advanced {d['by']}{why}", ("yellow", "bold")
    return None


def other_line(e: Event) -> Line:
    """Another responder's event, as this responder sees it arrive."""
    what = e.data.get("step") or e.data.get("text") or ""
    return f"  ↳ {e.actor}: {e.type} {what}".rstrip(), ("cyan",)
