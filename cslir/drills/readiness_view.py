"""The readiness verdict as text (a terminal), Markdown (a wiki), one self-contained HTML page
(for management: inline CSS, no scripts, nothing fetched) or JSON."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from cslir.base.timefmt import local_text
from cslir.engine.events import parse_at

FORMATS = ("text", "md", "html", "json")


def render_readiness(data: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "text":
        return "\n".join(text_lines(data)) + "\n"
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from cslir.report.render import filters

    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(files("cslir").joinpath("templates"))),
        undefined=StrictUndefined, autoescape=fmt == "html", trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True,
    )  # fmt: skip
    env.filters.update(filters("en", data["timezone"], html=fmt == "html"), plan_text=plan_text)
    return env.get_template(f"readiness.{fmt}.j2").render(r=data)


def text_lines(data: dict[str, Any]) -> list[str]:
    tz = data["timezone"]
    books = data["playbooks"]
    lines = [
        f"{data['verdict']}: {len(books) - len(data['not_ready'])} of {len(books)} playbook(s)"
        f" ready, as of {local_text(parse_at(data['as_of']), tz)}"
    ]
    lines += [f"  - {reason}" for reason in data["reasons"]]
    for broken in data["broken_drills"]:
        lines.append(f"  ! drill file {broken['path']} does not validate")
    for b in books:
        lines.append("")
        lines.append(f"{b['playbook']} ({b['path']}): {'READY' if b['ready'] else 'NOT READY'}")
        last = b["last"]
        if last:
            when = local_text(parse_at(last["at"]), tz)
            lines.append(f"  last drilled {when} by {last['drill']} (run {last['run']}): "
                         f"{last['summary']}")  # fmt: skip
        opened = len(b["improvements"]["open"])
        lines.append(f"  drills: {', '.join(b['drills']) or 'none'}; cadence "
                     f"{b['cadence'] or 'none'}; improvement items open: {opened}")  # fmt: skip
        for row in b["plan"]:
            lines.append(f"  clock {row['clock']}: {plan_text(row)}")
        for route in b["routes"]:
            sent = route["last_delivered"]
            seen = local_text(parse_at(sent), tz) if sent else "never"
            lines.append(f"  route {route['route']}: last delivered {seen}")
        lines += [f"  - {reason}" for reason in b["reasons"]]
    return lines


def plan_text(row: dict[str, Any]) -> str:
    """A clock's plan verdict with its slack, e.g. ``feasible (slack 2h 10m)``."""
    from cslir.engine.durations import format_span

    slack = row["slack_seconds"]
    if slack is None or row["verdict"] not in ("feasible", "tight", "infeasible"):
        return str(row["verdict"])
    word = "slack" if slack >= 0 else "late by"
    return f"{row['verdict']} ({word} {format_span(abs(slack))})"
