"""The report's per-event sections: the timeline, notes, notifications, command outputs, evidence.

Each is a ``Rows``: it knows how many rows it has (counted while the run was folded) and either
holds rows kept during the fold, within one byte budget for the whole report (``Kept``), or reads
the events again from the source when it is rendered. So a typical run is read twice (the fold,
then the timeline) and a run of any length is still rendered in flat memory. The sentences the
timeline uses come from the label table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from cslir.engine.events import Event
from cslir.engine.model import Playbook, localize
from cslir.engine.templating import render_shown

Source = Callable[[], Iterable[Event]]
Row = dict[str, Any]

EXCERPT_CHARS = 1000  # of a command's output; the recorded digest covers all of it
TIMELINE_TEXT = 200  # characters of a note or message in a timeline row
KEEP_CHARS = 2 << 20  # of section rows kept from the fold, for all sections together


class Kept:
    """Section rows made during the fold, as compact JSON, within one budget for them all.

    A section that would overflow the budget gives up what it kept and is read again from the
    source when it is rendered.
    """

    def __init__(self, budget: int | None = None) -> None:
        self._rows: dict[str, list[str] | None] = {}
        self._used = 0
        self._budget = KEEP_CHARS if budget is None else budget

    def add(self, section: str, row: Row) -> None:
        kept = self._rows.setdefault(section, [])
        if kept is None:
            return
        text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
        if self._used + len(text) > self._budget:
            self._used -= sum(map(len, kept))
            self._rows[section] = None
            return
        kept.append(text)
        self._used += len(text)

    def rows(self, section: str) -> list[str] | None:
        """The section's kept rows, or None if it must be read again."""
        return self._rows.get(section, [])


class Rows:
    """The rows of one section: kept ones, or made on demand from events of the given types.

    ``finish`` completes each row with what was learnt after its event (a delivery's fate).
    """

    def __init__(
        self,
        source: Source,
        types: Iterable[str],
        make: Callable[[Event], Row],
        count: int,
        *,
        kept: list[str] | None = None,
        finish: Callable[[Row], Row] | None = None,
    ) -> None:
        self._source = source
        self._types = frozenset(types)
        self._make = make
        self._count = count
        self._kept = kept
        self._finish = finish

    def __iter__(self) -> Iterator[Row]:
        finish = self._finish or (lambda row: row)
        if self._kept is not None:
            for text in self._kept:
                yield finish(json.loads(text))
            return
        if not self._count:  # nothing to find: do not read the whole run again
            return
        for event in self._source():
            if event.type in self._types:
                yield finish(self._make(event))

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0


def materialize(value: Any) -> Any:
    """The report as plain JSON values (every ``Rows`` read into a list)."""
    if isinstance(value, Mapping):
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, list | tuple | Rows):
        return [materialize(v) for v in value]
    return value


def cut(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Describer:
    """Turns events into rows, with the playbook's text in the report's language."""

    def __init__(
        self,
        playbook: Playbook,
        table: Mapping[str, str],
        lang: str,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.pb = playbook
        self.t = table
        self.lang = lang
        self._steps = {s.id: s for s in playbook.steps}
        # what templated text (``Contain {{ system }}``) is rendered with, as the walkthrough
        # does; without it (while the events are still being folded) text is left as written
        self._context = dict(context) if context is not None else None
        self._shown: dict[str, str] = {}

    def shown(self, text: str) -> str:
        """Playbook text as the run saw it: its template rendered (once per distinct text)."""
        if self._context is None:
            return text
        if text not in self._shown:
            self._shown[text] = render_shown(text, self._context)
        return self._shown[text]

    def step_title(self, step_id: str | None) -> str:
        step = self._steps.get(step_id or "")
        if step is None:
            return step_id or ""
        title = self.shown(localize(step.title, self.lang))
        if not title and step.kind == "notify" and step.route:
            title = self.t["page_route"].format(route=step.route)
        return title or step.id

    def titled(self, row: Row) -> Row:
        """A row made while folding, given its step's title as rendered once the fold is done."""
        return {**row, "title": self.step_title(row.get("step"))}

    def role_title(self, role: str | None) -> str | None:
        """A role as the playbook names it in this language, else its id."""
        if not role:
            return None
        return localize(self.pb.roles.get(role), self.lang) or role

    def clock_title(self, clock_id: str) -> str:
        clock = self.pb.clocks.get(clock_id)
        return (localize(clock.title, self.lang) if clock else "") or clock_id

    def choice_label(self, step_id: str | None, value: Any) -> str:
        step = self._steps.get(step_id or "")
        if step is not None:
            for choice in self.pb.choices_of(step):
                if choice.value == str(value).lower() or choice.value == str(value):
                    return localize(choice.label, self.lang) or choice.value
        return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value

    # -- the timeline ---------------------------------------------------------------------

    def timeline_row(self, e: Event) -> Row:
        return {
            "seq": e.seq,
            "at": e.at,
            "actor": e.actor,
            "type": e.type,
            "text": self.text(e),
            "hash": e.hash,
        }

    def text(self, e: Event) -> str:
        d = e.data
        template = self.t.get(f"ev.{e.type}")
        if template is None:
            return cut(f"{e.type} {json.dumps(dict(d), ensure_ascii=False, sort_keys=True)}", 160)
        fields = {k: cut(str(v), TIMELINE_TEXT) for k, v in d.items() if isinstance(v, str | int)}
        fields.update(self._fields(e))
        try:
            text = template.format_map(_Blank(fields))
        except (ValueError, IndexError):  # braces in recorded text are data, not a format
            text = template
        extra = d.get("reason") or d.get("rationale")
        if isinstance(extra, str) and extra and e.type != "notify.requested":
            text += f" — {cut(extra, TIMELINE_TEXT)}"
        return text

    def _fields(self, e: Event) -> dict[str, str]:
        d = e.data
        step_id = _name(d, "step")
        out = {"step": self.step_title(step_id)}
        if e.type == "run.opened":
            pb = d.get("playbook") or {}
            out["title"] = localize(self.pb.title, self.lang)
            out["sha"] = str(pb.get("sha256", ""))[:12]
            out["mode"] = self.t.get(f"s.{d.get('mode', 'live')}", str(d.get("mode")))
        elif e.type == "step.checked":
            out["item"] = self._checklist_item(step_id, d.get("item"))
        elif e.type.startswith("approval."):
            out["role"] = self.role_title(d.get("role") or d.get("by")) or "?"
        elif e.type == "decision.made":
            out["value"] = cut(self.choice_label(step_id, d.get("value")), TIMELINE_TEXT)
        elif e.type in ("input.set",):
            out["value"] = cut(json.dumps(d.get("value"), ensure_ascii=False), TIMELINE_TEXT)
        elif e.type.startswith("clock."):
            out["clock"] = self.clock_title(str(d.get("clock", "")))
        elif e.type == "notify.failed":
            error = d.get("detail") or d.get("error") or d.get("last_error") or "?"
            out["error"] = cut(str(error), TIMELINE_TEXT)
        return out

    def _checklist_item(self, step_id: str | None, item: Any) -> str:
        step = self._steps.get(step_id or "")
        if step is not None and isinstance(item, int) and 0 <= item < len(step.checklist):
            return self.shown(localize(step.checklist[item], self.lang))
        return str(item)

    # -- the other sections -----------------------------------------------------------------

    def note_row(self, e: Event) -> Row:
        return {**_who_when(e), "step": _name(e.data, "step"), "text": str(e.data.get("text", ""))}

    def evidence_row(self, e: Event) -> Row:
        d = e.data
        return {
            **_who_when(e),
            "name": str(d.get("name", "")),
            "kind": str(d.get("kind", "file")),
            "sha256": str(d.get("sha256", "")),
            "size": int(d.get("size") or 0),
            "step": _name(d, "step"),
        }

    def command_row(self, e: Event) -> Row:
        d = e.data
        argv = d.get("argv")
        return {
            "seq": e.seq,
            "at": e.at,
            "step": str(d.get("step", "")),
            "title": self.step_title(str(d.get("step", ""))),
            "argv": [str(a) for a in argv] if isinstance(argv, list) else [],
            "simulated": bool(d.get("simulated", False)),
            "exit": d.get("exit") if isinstance(d.get("exit"), int) else None,
            "timed_out": bool(d.get("timed_out", False)),
            "duration_seconds": _number(d.get("duration")),
            "summary": str(d.get("summary", "")),
            "stdout": _output(d, "stdout"),
            "stderr": _output(d, "stderr"),
        }


def notification_row(e: Event) -> Row:
    """A notify.requested event, as yet undelivered (``delivered`` adds what became of it)."""
    d = e.data
    return {
        **_who_when(e),
        "route": str(d.get("route", "")),
        "reason": str(d.get("reason", "")),
        "step": _name(d, "step"),
        "clock": _name(d, "clock"),
        "message": str(d.get("message", "")),
        "status": "pending",
        "status_at": None,
        "attempts": None,
        "error": None,
        "fallback": None,
    }


def delivered(deliveries: Mapping[int, Row]) -> Callable[[Row], Row]:
    """Completes a notification row with its delivery, once every event has been seen."""

    def finish(row: Row) -> Row:
        got = deliveries.get(row["seq"])
        if got:
            row.update(status=got["status"], status_at=got["at"], attempts=got["attempts"],
                       error=got["error"], fallback=got["fallback"])  # fmt: skip
        return row

    return finish


def _who_when(e: Event) -> Row:
    """The fields every row of a recorded act opens with."""
    return {"seq": e.seq, "at": e.at, "actor": e.actor}


def _name(d: Mapping[str, Any], key: str) -> str | None:
    """A field naming a step or a clock, or None when the record lacks it (or holds no name)."""
    value = d.get(key)
    return value if isinstance(value, str) else None


def _output(d: Mapping[str, Any], stream: str) -> Row:
    text = str(d.get(stream) or "")
    size = d.get(f"{stream}_bytes")
    return {
        "sha256": str(d.get(f"{stream}_sha256") or ""),
        "bytes": size if isinstance(size, int) else len(text.encode("utf-8")),
        "excerpt": text[:EXCERPT_CHARS],
        "cut": len(text) > EXCERPT_CHARS or (isinstance(size, int) and size > len(text.encode())),
    }


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


class _Blank(dict[str, str]):
    """Format fields an event lacks as "?" rather than fail on an old or odd record."""

    def __missing__(self, key: str) -> str:
        return "?"
