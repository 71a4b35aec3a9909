"""Render a report as Markdown or HTML (Jinja2 in its sandbox) or as JSON, streamed.

Templates ship in ``cslir/templates`` and a ``--template DIR`` holding ``report.md.j2`` or
``report.html.j2`` overrides them. They run in ``SandboxedEnvironment`` with ``StrictUndefined``
(a missing name is an error, never a blank in a record shown to a regulator); HTML is
autoescaped, and Markdown output escapes the characters that would turn recorded text into
markup; in both, control characters are spelled out (``base.safetext``). Output is written a
piece at a time, so a long run never sits in memory as one string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cslir.base.errors import InvalidInput
from cslir.base.files import staged
from cslir.base.safetext import printable
from cslir.engine.durations import format_span
from cslir.report import chart
from cslir.report.labels import labels, state_word
from cslir.report.sections import Rows, materialize

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

FORMATS = ("md", "html", "json")
TEMPLATES = {"md": "report.md.j2", "html": "report.html.j2"}
Write = Callable[[str], object]

_MD_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*[]<>|"})
_ZH_UNITS = {"d": "天", "h": "小时", "m": "分", "s": "秒"}


def render(
    report: Mapping[str, Any], fmt: str, write: Write, *, template_dir: Path | None = None
) -> None:
    """Write ``report`` in ``fmt`` (md, html or json) through ``write``, piece by piece."""
    if fmt == "json":
        write_json(report, write)
        write("\n")
        return
    if fmt not in TEMPLATES:
        raise InvalidInput(f"unknown report format '{fmt}'; choose one of {', '.join(FORMATS)}")
    from jinja2 import TemplateError, TemplateNotFound

    name = TEMPLATES[fmt]
    try:
        env = environment(fmt, report, template_dir)
        template = env.get_template(name)
        table = labels(report["lang"])
        context: dict[str, Any] = {"r": report, "t": table}
        if fmt == "html":
            context["chart"] = chart.build(materialize(_small(report)), env.filters["word"])
        for piece in template.generate(context):
            write(piece)
    except TemplateNotFound:
        raise InvalidInput(f"no template {name} in {template_dir} or cslir's own") from None
    except TemplateError as e:
        where = f"{getattr(e, 'filename', None) or name}"
        line = getattr(e, "lineno", None)
        raise InvalidInput(f"{where}{f':{line}' if line else ''}: template error: {e}") from None
    except Exception as e:
        if template_dir is None:
            raise  # a bug in cslir's own template: the funnel's crash log, not a user error
        raise InvalidInput(f"{name} in {template_dir}: template error: {e}") from None


def write_file(
    report: Mapping[str, Any], fmt: str, path: Path, *, template_dir: Path | None = None
) -> None:
    """Write the report to ``path``, replacing it only once the whole report is written."""
    try:
        with (
            staged(path.parent, path, private=True) as stage,
            open(stage.tmp, "w", encoding="utf-8", newline="\n") as f,
        ):
            render(report, fmt, f.write, template_dir=template_dir)
    except OSError as e:
        raise InvalidInput(f"{path}: cannot be written: {e.strerror}") from None


def _small(report: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of the report the chart reads (none of the per-event sections)."""
    keys = ("as_of", "timezone", "overview", "clocks", "steps")
    return {k: report[k] for k in keys}


# -- Jinja2 -------------------------------------------------------------------------------------


def environment(
    fmt: str, report: Mapping[str, Any], template_dir: Path | None
) -> SandboxedEnvironment:
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    own = FileSystemLoader(str(files("cslir").joinpath("templates")))
    loaders = [FileSystemLoader(str(template_dir)), own] if template_dir else [own]
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=fmt == "html",
        finalize=_md_escape if fmt == "md" else _html_printable,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(filters(report["lang"], report["timezone"], html=fmt == "html"))
    return env


class Raw(str):
    """Markdown a filter built on purpose (a fenced block), exempt from escaping."""


def _md_escape(value: Any) -> Any:
    """Recorded text is shown as written, never read as Markdown or HTML."""
    if isinstance(value, str) and not isinstance(value, Raw):
        return printable(value.translate(_MD_ESCAPES))
    if isinstance(value, Raw):
        return Raw(printable(value))
    return value


def _html_printable(value: Any) -> Any:
    """Recorded text with its control characters spelled out, before HTML autoescaping: a
    report opened with ``cat`` or ``less`` must not run the ESC and OSC sequences it quotes."""
    if isinstance(value, str) and not hasattr(value, "__html__"):  # Markup is cslir's own
        return printable(value)
    return value


def fence(text: str) -> Raw:
    """A fenced code block that no backticks in ``text`` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    return Raw(f"{marks}\n{text.rstrip()}\n{marks}")


def filters(lang: str, tz_name: str, *, html: bool = False) -> dict[str, Callable[..., str]]:
    """The template filters: times in the run's zone and UTC, spans, state words, margins."""
    table = labels(lang)
    tz = ZoneInfo(tz_name)
    none = table["nothing"]
    # In HTML a narrow column may wrap a time after its date, never inside the time itself.
    tie = "\u00a0" if html else " "

    def when(at: str | None) -> str:
        if not at:
            return none
        local = _moment(at).astimezone(tz)
        minutes = round((local.utcoffset() or timedelta()).total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        return f"{local.isoformat(' ', 'seconds')[:19]}{tie}{offset}"

    def utc(at: str | None) -> str:
        return _moment(at).astimezone(UTC).isoformat(" ", "seconds")[:19] + "Z" if at else none

    def span(seconds: float | None) -> str:
        if seconds is None:
            return none
        text = format_span(seconds)
        if lang == "zh":
            text = re.sub(r"(\d+)([dhms])", lambda m: m[1] + _ZH_UNITS[m[2]], text).replace(" ", "")
        return text

    def word(code: str | None) -> str:
        return state_word(table, code)

    def margin(row: Mapping[str, Any]) -> str:
        seconds = row.get("margin_seconds")
        if seconds is None:
            return none
        if seconds < 0:
            return table["late"].format(span=span(-seconds))
        key = "left" if row.get("state") in ("running", "overdue") else "early"
        return table[key].format(span=span(seconds))

    def against(row: Mapping[str, Any]) -> str:
        took, planned = row.get("duration_seconds"), row.get("estimate_seconds")
        if took is None:
            return none
        if not planned:
            return span(took)
        diff = took - planned
        key = "over" if diff > 0 else "under"
        return f"{span(took)} / {span(planned)} ({table[key].format(span=span(abs(diff)))})"

    def label(key: str) -> str:
        return table.get(key, key)

    def cell(text: Any) -> str:
        return " ".join(str(text).split()) if text not in (None, "") else none

    def short(sha: str | None) -> str:
        return sha[:12] if sha else none

    def size(n: int) -> str:
        return f"{n:,}"

    return {
        "when": when, "utc": utc, "span": span, "word": word, "margin": margin,
        "against": against, "cell": cell, "short": short, "size": size, "fence": fence,
        "label": label,
    }  # fmt: skip


def _moment(text: str) -> datetime:
    """An event time (``...T03:04:05.123456Z``), or any ISO time with a zone."""
    # fromisoformat rather than events.parse_at's strptime: a timeline formats every event's
    # time twice, and strptime would be most of the cost of a long report.
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- JSON, streamed -----------------------------------------------------------------------------


def write_json(value: Any, write: Write, level: int = 0) -> None:
    """Write ``value`` exactly as ``json.dumps(materialize(value), indent=2,
    ensure_ascii=False)`` would, reading each ``Rows`` section as it goes."""
    pad = "  " * (level + 1)
    if isinstance(value, Mapping):
        if not value:
            write("{}")
            return
        sep = "{"
        for key, item in value.items():
            write(f"{sep}\n{pad}{json.dumps(key, ensure_ascii=False)}: ")
            write_json(item, write, level + 1)
            sep = ","
        write("\n" + "  " * level + "}")
    elif isinstance(value, list | tuple | Rows):
        sep = "["
        for item in value:
            if isinstance(item, Rows):
                write(f"{sep}\n{pad}")
                write_json(item, write, level + 1)
            else:  # no section inside: one dumps, indented to its depth, is much faster
                text = json.dumps(item, indent=2, ensure_ascii=False, allow_nan=False)
                write(f"{sep}\n{pad}" + text.replace("\n", "\n" + pad))
            sep = ","
        write("[]" if sep == "[" else "\n" + "  " * level + "]")
    else:
        write(json.dumps(value, ensure_ascii=False, allow_nan=False))
