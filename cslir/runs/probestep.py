"""Running a probe step: render its target, try it until it holds, record every attempt.

Each attempt is recorded as a ``probe.attempt`` event as soon as it is made (status, resolved
address, a hash of the body, the error), so a crash mid-probe leaves its trace; at the end the
whole attempt log is also stored as one evidence file of the step, and the step is done if the
probe held or failed if time ran out. In a drill a probe runs against its ``drill_target``
(else the target the drill's inputs give it), unless the step says ``in_drill: simulate|skip``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

from cslir.base.errors import ActionRefused
from cslir.engine import actions
from cslir.engine.durations import parse_duration
from cslir.engine.events import Event
from cslir.engine.model import Step, Text
from cslir.engine.templating import TemplateProblem, render
from cslir.probes.dns import Resolver
from cslir.probes.model import DnsTarget, HttpTarget, Observation, Target, TcpTarget, describe
from cslir.runs.effects import RunSession

DEFAULT_WITHIN, DEFAULT_EVERY, DEFAULT_TIMEOUT = "5m", "30s", "10s"


def run_probe(
    session: RunSession,
    step_id: str,
    *,
    resolver: Resolver | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Event]:
    """Run probe step ``step_id`` to its verdict; return the events of the verdict."""
    from cslir.probes.runner import checker, keep_trying

    st = session.state()
    step = st.index.step[step_id]
    if st.drill and step.in_drill == "skip":
        return session.record(lambda s: actions.skip(s, step_id, "skipped in drill"))
    try:
        target = probe_target(step, session.context(), drill=st.drill)
    except (TemplateProblem, ValueError) as e:
        raise ActionRefused(f"step '{step_id}': its probe cannot be built: {e}") from None
    runner = {"pid": os.getpid(), "host": socket.gethostname(), "target": describe(target)}
    session.record(lambda s: [(t, {**d, **runner}) for t, d in actions.begin_attempt(s, step_id)])
    if st.drill and step.in_drill == "simulate":
        result = {"held": True, "simulated": True, "attempts": 0,
                  "summary": "simulated in drill", "target": describe(target)}  # fmt: skip
        return session.record(lambda s: actions.finish_probe(s, step_id, result))
    log: list[dict[str, Any]] = []

    def on_attempt(n: int, seen: Observation) -> None:
        data = {"step": step_id, "attempt": n, "target": describe(target), "held": seen.held,
                "summary": seen.summary, **seen.facts}  # fmt: skip
        (event,) = session.record(lambda s: [("probe.attempt", data)])
        log.append({"at": event.at, **data})

    timeout = _seconds(step.timeout, DEFAULT_TIMEOUT)
    check = checker(target, timeout=timeout, resolver=resolver)
    held, count, last = keep_trying(check, within=_seconds(step.within, DEFAULT_WITHIN),
                                    every=_seconds(step.every, DEFAULT_EVERY),
                                    on_attempt=on_attempt, monotonic=monotonic,
                                    sleep=sleep)  # fmt: skip
    record = {"step": step_id, "target": describe(target), "held": held, "attempts": log}
    session.add_evidence(text=json.dumps(record, ensure_ascii=False, indent=2), step_id=step_id)
    summary = _verdict(held, count, last, step)
    result = {"held": held, "attempts": count, "summary": summary, "target": describe(target)}
    return session.record(lambda s: actions.finish_probe(s, step_id, result))


def probe_target(step: Step, context: Mapping[str, Any], *, drill: bool) -> Target:
    """The step's target with its templates rendered; a drill's ``drill_target`` replaces the
    URL, host or name."""
    spec = dict(step.probe or {})
    kind = next(iter(spec), None)
    if kind is None:
        raise ValueError("it names no http:, tcp: or dns: target")
    body: Mapping[str, Any] = spec[kind]
    aim = render(step.drill_target, dict(context)) if drill and step.drill_target else None

    def text(key: str) -> str:
        return render(str(body[key]), dict(context)).strip()

    if kind == "http":
        return HttpTarget(
            url=aim or text("url"),
            method=str(body.get("method", "GET")),
            expect_status=tuple(int(s) for s in body.get("expect_status", ())),
            absent=_variants(body.get("absent"), context),
            present=_variants(body.get("present"), context),
            unreachable_ok=bool(body.get("unreachable_ok", False)),
        )
    if kind == "tcp":
        port = text("port")
        if not port.isdigit():
            raise ValueError(f"port {port!r} is not a number")
        return TcpTarget(host=aim or text("host"), port=int(port), expect=str(body["expect"]))
    expect = body["expect"]
    wanted = (
        ("nxdomain",)
        if expect == "nxdomain"
        else tuple(render(str(a), dict(context)).strip() for a in expect)
    )
    server = text("server") if body.get("server") else None
    return DnsTarget(name=aim or text("name"), expect=wanted, server=server)


def _variants(value: Text | None, context: Mapping[str, Any]) -> tuple[str, ...]:
    if value is None:
        return ()
    texts = [value] if isinstance(value, str) else list(value.values())
    return tuple(render(t, dict(context)) for t in texts)


def _seconds(text: str | None, default: str) -> float:
    return float(parse_duration(text or default).seconds)


def _verdict(held: bool, count: int, last: Observation, step: Step) -> str:
    tries = f"{count} attempt{'s' if count != 1 else ''}"
    if held:
        return f"held after {tries}: {last.summary}"
    return f"did not hold within {step.within or DEFAULT_WITHIN} ({tries}); last: {last.summary}"
