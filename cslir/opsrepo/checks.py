"""Checks a playbook's meaning once its shape is right: references, cycles, templates.

Clocks and durations are checked in ``timechecks``, what only some step kinds carry in
``kindchecks``; both run from ``PlaybookChecker.run``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from cslir.base.secretrefs import ENV_REF
from cslir.opsrepo.diagnostics import did_you_mean
from cslir.opsrepo.kindchecks import check_floor, check_probe
from cslir.opsrepo.lenient import dicts, entries, ids_of, listed, text_fields
from cslir.opsrepo.playbookschema import INPUT_TYPES
from cslir.opsrepo.spec import PathKey
from cslir.opsrepo.timechecks import check_clocks, check_durations, check_unstopped_clocks

# report(path, message, at_key, severity)
Report = Callable[[PathKey, str, bool, str], None]

# Names every template may read besides the playbook's inputs.
CONTEXT_NAMES = frozenset({"clocks", "run", "steps", "playbook", "inputs", "drill", "now"})
SECRET_KEY = re.compile(r"(?i)(secret|token|password|passwd|api_?key|private_?key|credential)")


class PlaybookChecker:
    """Semantic checks; they tolerate shape errors, which the schema reports."""

    def __init__(self, data: Mapping[str, Any], routes: set[str] | None, report: Report) -> None:
        self.data = data
        self.routes = routes
        self.report = report
        self.inputs: dict[str, dict[str, Any]] = dicts(data.get("inputs"))
        self.clocks: dict[str, dict[str, Any]] = dicts(data.get("clocks"))
        # names declared at all, even with a malformed body: referring to them is no error
        self.input_names = {k for k, _ in entries(data.get("inputs"))}
        self.clock_ids = {k for k, _ in entries(data.get("clocks"))}
        roles = data.get("roles")
        # None: roles is malformed, so any owner may be right (the schema reports the shape)
        self.roles: set[str] | None = (
            set(roles) if isinstance(roles, dict) else None if "roles" in data else set()
        )
        # (index in the file, step): indices locate messages, so non-mappings keep their place
        self.steps: list[tuple[int, dict[str, Any]]] = [
            (i, s) for i, s in enumerate(listed(data.get("steps"))) if isinstance(s, dict)
        ]
        self.step_ids: list[str] = [s["id"] for _, s in self.steps if isinstance(s.get("id"), str)]
        self.names = self.input_names | CONTEXT_NAMES

    def error(self, at: PathKey, message: str, *, key: bool = False) -> None:
        self.report(at, message, key, "error")

    def warning(self, at: PathKey, message: str) -> None:
        self.report(at, message, False, "warning")

    def run(self) -> None:
        self.check_unique_steps()
        self.check_needs()
        self.check_inputs()
        check_clocks(self)
        for i, step in self.steps:
            self.check_step(i, step)
        check_durations(self.data, self.report)
        check_unstopped_clocks(self)

    def check_unique_steps(self) -> None:
        seen: dict[str, int] = {}
        for i, step in self.steps:
            sid = step.get("id")
            if isinstance(sid, str):
                if sid in seen:
                    self.error(
                        ("steps", i, "id"), f"duplicate step id '{sid}' (also steps[{seen[sid]}])"
                    )
                seen.setdefault(sid, i)

    def check_needs(self) -> None:
        known = set(self.step_ids)
        graph: dict[str, list[str]] = {}
        where: dict[str, int] = {}
        previous: str | None = None
        for i, step in self.steps:
            sid = step.get("id")
            needs = step.get("needs")
            # without needs, a step follows the one before it in the list
            deps = [previous] if needs is None and previous else ids_of(needs)
            for j, dep in enumerate(listed(needs)):
                if not isinstance(dep, str):
                    continue  # the schema reports it
                if dep == sid:
                    self.error(("steps", i, "needs", j), f"step '{sid}' needs itself")
                elif dep not in known:
                    self.error(
                        ("steps", i, "needs", j),
                        f"step '{sid}' needs unknown step '{dep}'{did_you_mean(dep, known)}",
                    )
            if isinstance(sid, str):
                graph.setdefault(sid, [d for d in deps if d in known and d != sid])
                where.setdefault(sid, i)
                previous = sid
        cycle = _find_cycle(graph)
        if cycle:
            self.error(
                ("steps", where[cycle[0]], "needs"), "steps form a cycle: " + " -> ".join(cycle)
            )

    def check_inputs(self) -> None:
        for name, inp in self.inputs.items():
            at: PathKey = ("inputs", name)
            if inp.get("type") == "choice" and not inp.get("choices"):
                self.error(at, f"input '{name}' is a choice but has no choices")
            if inp.get("type") not in ("choice", None) and "choices" in inp:
                self.error(
                    (*at, "choices"),
                    f"input '{name}' has choices but its type is "
                    f"{inp.get('type')}; use type: choice",
                )
            if "default" in inp and inp.get("type", "string") in INPUT_TYPES:
                from cslir.engine.inputs import InputValueError, parse_value

                try:
                    parse_value(
                        inp.get("type", "string"),
                        inp["default"],
                        [_choice_value(c) for c in listed(inp.get("choices"))],
                    )
                except InputValueError as e:
                    self.error((*at, "default"), f"default of input '{name}': {e}")

    def check_route(self, route: Any, at: PathKey) -> None:
        if isinstance(route, str) and self.routes is not None and route not in self.routes:
            self.error(
                at,
                f"unknown route '{route}'{did_you_mean(route, self.routes)}"
                "; routes are defined in notifiers/*.yaml",
            )

    def check_role(self, role: Any, at: PathKey) -> None:
        if isinstance(role, str) and self.roles is not None and role not in self.roles:
            self.error(
                at,
                f"unknown role '{role}'{did_you_mean(role, self.roles)}; declare it under roles:",
            )

    def check_template(
        self, source: str, at: PathKey, *, expression: bool = False, key: bool = False
    ) -> None:
        if not expression and "{" not in source:
            return  # plain text: every Jinja2 delimiter starts with '{'; compiling it is slow
        from cslir.engine.templating import TemplateProblem, names_in

        what = "expression" if expression else "template"
        try:
            names = names_in(source, expression=expression)
        except TemplateProblem as e:
            self.error(at, f"{what} does not compile: {e}", key=key)
            return
        for name in sorted(names - self.names):
            self.error(
                at,
                f"{what} uses '{name}', which the playbook does not declare"
                f"{did_you_mean(name, self.names)}",
                key=key,
            )

    def check_step(self, i: int, step: dict[str, Any]) -> None:
        at: PathKey = ("steps", i)
        sid = step.get("id", f"#{i}")
        self.check_role(step.get("owner"), (*at, "owner"))
        self.check_role(step.get("by"), (*at, "by"))
        self.check_route(step.get("route"), (*at, "route"))
        stops = step.get("stops")
        for j, cid in enumerate([stops] if isinstance(stops, str) else listed(stops)):
            where = (*at, "stops") if isinstance(stops, str) else (*at, "stops", j)
            if isinstance(cid, str) and cid not in self.clock_ids:
                self.error(
                    where,
                    f"step '{sid}' stops unknown clock '{cid}'{did_you_mean(cid, self.clock_ids)}",
                )
        if isinstance(step.get("when"), str):
            self.check_template(step["when"], (*at, "when"), expression=True)
        for key in ("title", "instructions", "message", "link"):
            for sub, src in text_fields(step.get(key)):
                self.check_template(src, (*at, key, *sub))
        for j, item in enumerate(listed(step.get("checklist"))):
            for sub, src in text_fields(item):
                self.check_template(src, (*at, "checklist", j, *sub))
        for j, arg in enumerate(listed(step.get("run"))):
            if isinstance(arg, str):
                self.check_template(arg, (*at, "run", j))
        for name, value in entries(step.get("env")):
            if isinstance(value, str):
                if SECRET_KEY.search(name) and not ENV_REF.fullmatch(value.strip()):
                    self.error(
                        (*at, "env", name),
                        f"env {name} looks like a secret written "
                        "into the playbook; use a reference such as ${env:" + name + "}",
                    )
                else:
                    self.check_template(ENV_REF.sub("", value), (*at, "env", name))
        if step.get("kind") == "decision":
            self.check_decision(sid, step, at)
            check_floor(self, sid, step, at)
        if step.get("kind") == "probe":
            check_probe(self, sid, step, at)

    def check_decision(self, sid: str, step: dict[str, Any], at: PathKey) -> None:
        target = step.get("sets")
        inp = self.inputs.get(target) if isinstance(target, str) else None
        if isinstance(target, str) and target in self.input_names and inp is None:
            return  # declared, but malformed: the schema says how
        if isinstance(target, str) and inp is None:
            self.error(
                (*at, "sets"),
                f"decision '{sid}' sets unknown input '{target}'"
                f"{did_you_mean(target, self.inputs)}",
            )
            return
        own = [_choice_value(c) for c in listed(step.get("choices"))]
        from_input = [_choice_value(c) for c in listed((inp or {}).get("choices"))]
        if not own and not from_input and (inp or {}).get("type") != "bool":
            self.error(
                at,
                f"decision '{sid}' has no choices: give it choices: or make it set a choice input",
            )
        if own and from_input:
            for j, value in enumerate(own):
                if value not in from_input:
                    self.error(
                        (*at, "choices", j),
                        f"choice '{value}' is not among the choices "
                        f"of input '{target}'{did_you_mean(value, from_input)}",
                    )

    def decision_choices(self, step: dict[str, Any]) -> list[str]:
        """A decision's own choices, else those of the input it sets."""
        own = [_choice_value(c) for c in listed(step.get("choices"))]
        target = step.get("sets")
        inp = self.inputs.get(target) if isinstance(target, str) else None
        return own or [_choice_value(c) for c in listed((inp or {}).get("choices"))]


def _choice_value(c: Any) -> str:
    return str(c.get("value")) if isinstance(c, dict) else str(c)


def _find_cycle(graph: Mapping[str, list[str]]) -> list[str]:
    """A cycle in the needs graph, as a closed path, or []. Iterative: playbooks can be long."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in graph:
        if root in state:
            continue
        path: list[str] = [root]
        iters = [iter(graph.get(root, []))]
        state[root] = 1
        while iters:
            dep = next(iters[-1], None)
            if dep is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            elif dep not in state:
                state[dep] = 1
                path.append(dep)
                iters.append(iter(graph.get(dep, [])))
    return []
