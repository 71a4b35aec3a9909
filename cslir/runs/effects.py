"""What steps do beyond recording: pages, approval requests, evidence and commands.

``RunSession`` is the session the commands, the walkthrough and ``--auto`` use: the core in
``cslir.runs.session`` (state, durable recording, templates, the watch) plus these effects.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cslir.base.errors import ActionRefused, NotFound
from cslir.base.procs import alive
from cslir.engine import actions
from cslir.engine.durations import parse_duration
from cslir.engine.events import Event
from cslir.engine.model import Step, localize
from cslir.engine.state import RunState
from cslir.engine.templating import TemplateProblem, render, render_shown
from cslir.runs.session import RunCore


@dataclass(eq=False, kw_only=True)
class RunSession(RunCore):
    """One process's handle on one run, able to page, request approvals, keep evidence and run
    commands. ``role_routes`` names the route that pages each role for its approvals."""

    role_routes: Mapping[str, str] = field(default_factory=dict)
    _running: set[str] = field(default_factory=set, init=False, repr=False)  # commands run now

    def notify_step(self, step_id: str) -> list[Event]:
        st = self.state()
        step = st.playbook.step(step_id)
        message = self.render(step.message or step.title or step.id)
        link = {"link": self.render(step.link)} if step.link else {}
        return self.record(
            lambda s: [
                *actions.start(s, step_id),
                (
                    "notify.requested",
                    {"route": step.route, "message": message, "step": step_id, "reason": "step"}
                    | link,
                ),
                ("step.done", {"step": step_id}),
            ]
        )

    def page(self, route: str, message: str) -> list[Event]:
        return self.record(
            lambda s: [("notify.requested", {"route": route, "message": message, "reason": "page"})]
        )

    def request_approval(self, step_id: str) -> list[Event]:
        """Ask for an approval and, if cslir.yaml routes that role, page it in the same commit."""

        def build(s: RunState) -> actions.Events:
            items = actions.request_approval(s, step_id)
            step = s.playbook.step(step_id)
            route = self.role_routes.get(step.by or "")
            if items and route:
                title = render_shown(localize(step.title), self.context(s)) or step_id
                message = (
                    f"Approval needed from the {step.by} role: {title} "
                    f"(run {self.run_id}, {localize(s.playbook.title)}). "
                    f"Sign off with: cslir approve {self.run_id} {step_id} --as NAME"
                )
                data = {"route": route, "message": message, "step": step_id, "reason": "approval"}
                items.append(("notify.requested", data))
            return items

        return self.record(build)

    def add_evidence(
        self, path: Path | None = None, *, text: str | None = None, step_id: str | None = None
    ) -> list[Event]:
        from cslir.runs.evidence import store_file, store_text

        steps = self.state().index.step
        if step_id and step_id not in steps:
            raise NotFound(
                f"no step '{step_id}' in run {self.run_id}'s playbook (its steps: "
                f"{', '.join(steps)}); nothing was recorded"
            )
        if path is not None:
            item = store_file(path, self.store)
        elif text is not None:
            item = store_text(text, self.store)
        else:
            raise ActionRefused("give a file or a text as evidence")
        data: dict[str, Any] = dict(item)
        if step_id:
            data["step"] = step_id
        return self.record(lambda s: [("evidence.added", data)])

    def run_command(self, step_id: str, *, root: Path, environ: Mapping[str, str]) -> list[Event]:
        """Run a command step (or simulate or skip it in a drill) and record its outcome.

        The attempt is recorded, with this process's id and host, before the command starts:
        if the process dies mid-command the step is left running by a runner that is gone,
        and ``orphaned`` lets the next process run it again.
        """
        from cslir.runs.commandstep import execute

        st = self.state()
        step = st.index.step[step_id]
        if st.drill and step.in_drill == "skip":
            return self.record(lambda s: actions.skip(s, step_id, "skipped in drill"))
        try:
            argv = self.command_argv(step)
            env = {k: self._env_value(v, environ) for k, v in step.env.items()}
        except TemplateProblem as e:
            raise ActionRefused(f"step '{step_id}': its command cannot be built: {e}") from None
        runner = {"pid": os.getpid(), "host": socket.gethostname()}
        self.record(lambda s: [(t, {**d, **runner}) for t, d in actions.begin_attempt(s, step_id)])
        if st.drill and step.in_drill != "execute":
            outcome: dict[str, Any] = {"argv": argv, "exit": 0, "simulated": True,
                                       "summary": "simulated in drill"}  # fmt: skip
            return self.record(lambda s: actions.finish_command(s, step_id, outcome))
        self._running.add(step_id)
        try:
            timeout = parse_duration(step.timeout).seconds if step.timeout else 600
            result = execute(argv, env=env, base_env=environ, cwd=root / (step.cwd or "."),
                             timeout=timeout)  # fmt: skip
        finally:
            self._running.discard(step_id)
        return self.record(lambda s: actions.finish_command(s, step_id, result))

    def orphaned(self, st: RunState) -> list[str]:
        """Command and probe steps left running by a process on this host that is gone."""
        here = socket.gethostname()
        out = []
        for sid in st.in_order("running"):
            runner = st.steps[sid].runner or {}
            if not st.index.step[sid].runs_itself or sid in self._running:
                continue
            if runner.get("host", here) != here:
                continue  # another machine's process: it may still be running
            pid = runner.get("pid")
            if not isinstance(pid, int) or pid == os.getpid() or not alive(pid):
                out.append(sid)  # our own pid here means an earlier process that had it
        return out

    def command_argv(self, step: Step) -> list[str]:
        """A command step's argv, each item rendered as a template (never through a shell)."""
        ctx = self.context()
        return [render(a, ctx) for a in step.run]

    def _env_value(self, value: str, environ: Mapping[str, str]) -> str:
        from cslir.base.secretrefs import resolve

        return render(resolve(value, environ), self.context())
