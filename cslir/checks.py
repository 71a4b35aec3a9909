"""Checks a playbook's meaning once its shape is right: references, cycles, templates."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cslir.diagnostics import did_you_mean
from cslir.spec import PathKey

# report(path, message, at_key, severity)
Report = Callable[[PathKey, str, bool, str], None]

# Names every template may read besides the playbook's inputs.
CONTEXT_NAMES = frozenset({"clocks", "run", "steps", "playbook", "inputs", "drill", "now"})
SECRET_KEY = re.compile(r"(?i)(secret|token|password|passwd|api_?key|private_?key|credential)")
ENV_REF = re.compile(r"\$\{env:[A-Za-z_][A-Za-z0-9_]*\}")


def check_durations(data: Mapping[str, Any], report: Report) -> None:
    """The schema checks the form of a duration; this checks its value (no zero, etc.)."""
    from cslir.durations import DurationError, parse_duration
    from cslir.schemas import DURATION
    from cslir.spec import show_path

    def one(value: Any, at: PathKey) -> None:
        # a value of the wrong form is the schema's to report; reporting it twice is noise
        if isinstance(value, str) and re.fullmatch(DURATION, value):
            try:
                parse_duration(value)
            except DurationError as e:
                report(at, f"{show_path(at)}: {e}", False, "error")

    for cid, clock in _items(data.get("clocks")):
        for key in ("due",):
            one(clock.get(key), ("clocks", cid, key))
        for i, w in enumerate(clock.get("warn") or []):
            one(w, ("clocks", cid, "warn", i))
        for cond, d in _items(clock.get("due_if")):
            one(d, ("clocks", cid, "due_if", cond))
    for i, step in enumerate(data.get("steps") or []):
        if isinstance(step, dict):
            for key in ("estimate", "timeout", "duration"):
                one(step.get(key), ("steps", i, key))


def _items(value: Any) -> Iterable[tuple[str, Any]]:
    return value.items() if isinstance(value, dict) else ()


def _text_fields(value: Any) -> Iterable[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield (), value
    elif isinstance(value, dict):
        for lang, s in value.items():
            if isinstance(s, str):
                yield (lang,), s


class PlaybookChecker:
    """Semantic checks over data that passed the schema (steps are dicts with ids)."""

    def __init__(self, data: Mapping[str, Any], routes: set[str] | None, report: Report) -> None:
        self.data = data
        self.routes = routes
        self.report = report
        self.inputs: dict[str, Any] = dict(data.get("inputs") or {})
        self.clocks: dict[str, Any] = dict(data.get("clocks") or {})
        self.roles: set[str] = set(data.get("roles") or {})
        self.steps: list[dict[str, Any]] = [
            s for s in data.get("steps") or [] if isinstance(s, dict)
        ]
        self.step_ids: list[str] = [s["id"] for s in self.steps if isinstance(s.get("id"), str)]
        self.names = set(self.inputs) | CONTEXT_NAMES

    def error(self, at: PathKey, message: str, *, key: bool = False) -> None:
        self.report(at, message, key, "error")

    def warning(self, at: PathKey, message: str) -> None:
        self.report(at, message, False, "warning")

    def run(self) -> None:
        self.check_unique_steps()
        self.check_needs()
        self.check_inputs()
        self.check_clocks()
        for i, step in enumerate(self.steps):
            self.check_step(i, step)
        check_durations(self.data, self.report)
        self.check_unstopped_clocks()

    def check_unique_steps(self) -> None:
        seen: dict[str, int] = {}
        for i, step in enumerate(self.steps):
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
        for i, step in enumerate(self.steps):
            sid = step.get("id")
            deps = step.get("needs")
            if deps is None:
                deps = [self.step_ids[i - 1]] if i > 0 and i - 1 < len(self.step_ids) else []
            for j, dep in enumerate(step.get("needs") or []):
                if dep == sid:
                    self.error(("steps", i, "needs", j), f"step '{sid}' needs itself")
                elif dep not in known:
                    self.error(
                        ("steps", i, "needs", j),
                        f"step '{sid}' needs unknown step '{dep}'{did_you_mean(dep, known)}",
                    )
            if isinstance(sid, str):
                graph[sid] = [d for d in deps if d in known and d != sid]
        cycle = _find_cycle(graph)
        if cycle:
            i = self.step_ids.index(cycle[0])
            self.error(("steps", i, "needs"), "steps form a cycle: " + " -> ".join(cycle))

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
            if "default" in inp:
                from cslir.inputs import InputValueError, parse_value

                try:
                    parse_value(
                        inp.get("type", "string"),
                        inp["default"],
                        [_choice_value(c) for c in inp.get("choices") or []],
                    )
                except InputValueError as e:
                    self.error((*at, "default"), f"default of input '{name}': {e}")

    def check_clocks(self) -> None:
        for cid, clock in self.clocks.items():
            at: PathKey = ("clocks", cid)
            start = clock.get("from")
            if isinstance(start, str):
                self.check_clock_start(cid, start, (*at, "from"))
            for cond in clock.get("due_if") or {}:
                self.check_template(cond, (*at, "due_if", cond), expression=True, key=True)
            if isinstance(clock.get("when"), str):
                self.check_template(clock["when"], (*at, "when"), expression=True)
            self.check_route(clock.get("escalate"), (*at, "escalate"))

    def check_clock_start(self, cid: str, start: str, at: PathKey) -> None:
        if start == "start":
            return
        if start.startswith("step:"):
            sid = start[5:]
            if sid not in self.step_ids:
                self.error(
                    at,
                    f"clock '{cid}' starts at unknown step '{sid}'"
                    f"{did_you_mean(sid, self.step_ids)}",
                )
            return
        inp = self.inputs.get(start)
        if inp is None:
            self.error(
                at,
                f"clock '{cid}' starts from '{start}', which is not a datetime input, "
                f"'start' or 'step:<id>'{did_you_mean(start, self.inputs)}",
            )
        elif inp.get("type") != "datetime":
            self.error(
                at,
                f"clock '{cid}' starts from input '{start}', which is "
                f"{inp.get('type')}, not datetime",
            )

    def check_unstopped_clocks(self) -> None:
        stopped: set[str] = set()
        for step in self.steps:
            stops = step.get("stops")
            stopped.update([stops] if isinstance(stops, str) else stops or [])
        for cid in self.clocks:
            if cid not in stopped:
                self.warning(("clocks", cid), f"no step stops clock '{cid}'; it can only be missed")

    def check_route(self, route: Any, at: PathKey) -> None:
        if isinstance(route, str) and self.routes is not None and route not in self.routes:
            self.error(
                at,
                f"unknown route '{route}'{did_you_mean(route, self.routes)}"
                "; routes are defined in notifiers/*.yaml",
            )

    def check_role(self, role: Any, at: PathKey) -> None:
        if isinstance(role, str) and role not in self.roles:
            self.error(
                at,
                f"unknown role '{role}'{did_you_mean(role, self.roles)}; declare it under roles:",
            )

    def check_template(
        self, source: str, at: PathKey, *, expression: bool = False, key: bool = False
    ) -> None:
        from cslir.templating import TemplateProblem, names_in

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
        for j, cid in enumerate([stops] if isinstance(stops, str) else stops or []):
            where = (*at, "stops") if isinstance(stops, str) else (*at, "stops", j)
            if cid not in self.clocks:
                self.error(
                    where,
                    f"step '{sid}' stops unknown clock '{cid}'{did_you_mean(cid, self.clocks)}",
                )
        if isinstance(step.get("when"), str):
            self.check_template(step["when"], (*at, "when"), expression=True)
        for key in ("title", "instructions", "message"):
            for sub, src in _text_fields(step.get(key)):
                self.check_template(src, (*at, key, *sub))
        for j, item in enumerate(step.get("checklist") or []):
            for sub, src in _text_fields(item):
                self.check_template(src, (*at, "checklist", j, *sub))
        for j, arg in enumerate(step.get("run") or []):
            if isinstance(arg, str):
                self.check_template(arg, (*at, "run", j))
        for name, value in (step.get("env") or {}).items():
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

    def check_decision(self, sid: str, step: dict[str, Any], at: PathKey) -> None:
        target = step.get("sets")
        inp = self.inputs.get(target) if isinstance(target, str) else None
        if isinstance(target, str) and inp is None:
            self.error(
                (*at, "sets"),
                f"decision '{sid}' sets unknown input '{target}'"
                f"{did_you_mean(target, self.inputs)}",
            )
            return
        own = [_choice_value(c) for c in step.get("choices") or []]
        from_input = [_choice_value(c) for c in (inp or {}).get("choices") or []]
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
