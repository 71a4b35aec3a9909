"""``cslir readiness``: is each playbook ready to be used tonight, and if not, why not.

Per playbook: whether it validates; the drills that rehearse it, when it was last drilled and
how (ratings), whether that is overdue against the drills' cadence (never drilled counts); the
objectives rated M or U in its last drill; improvement items still open and those past due
(from every run of the playbook, drills and incidents alike); the routes it pages and their
drill routes, with the variables they miss and when each last delivered a message. Every
finding that makes it NOT READY is a reason in words; the overall verdict is READY only when
every playbook is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cslir.drills.catalog import Catalog, Loaded
from cslir.drills.listing import overdue
from cslir.drills.record import Record, RunFacts, ratings_text
from cslir.engine.durations import parse_duration
from cslir.engine.events import format_at
from cslir.engine.model import Playbook, build_playbook, localize
from cslir.notify.routes import RouteSet
from cslir.opsrepo.settings import Settings

if TYPE_CHECKING:
    from cslir.opsrepo.documents import Documents

WEAK = ("M", "U")


def assess(
    settings: Settings,
    catalog: Catalog,
    record: Record,
    routes: RouteSet,
    delivered: Mapping[str, str],
    environ: Mapping[str, str],
    now: datetime,
) -> dict[str, Any]:
    """The verdict: each playbook's findings, and READY only if every playbook is."""
    from cslir.opsrepo.documents import Documents, yaml_files

    documents = Documents()
    routes_named = documents.route_names(settings.root)
    rehearsed = [(Path(d.playbook.path).resolve(), d) for d in catalog.drills()]
    books = []
    for path in yaml_files(settings.root / "playbooks"):
        book = _load(path, documents, routes_named)
        drills = [d for where, d in rehearsed if where == path.resolve()]
        checks = _Checks(settings, record, routes, delivered, environ, now)
        books.append(checks.playbook(path, book, drills))
    ready = bool(books) and all(b["ready"] for b in books)
    reasons = [] if books else ["no playbooks in playbooks/"]
    return {
        "ready": ready,
        "verdict": "READY" if ready else "NOT READY",
        "as_of": format_at(now),
        "timezone": settings.timezone or "UTC",
        "not_ready": [b["playbook"] for b in books if not b["ready"]],
        "reasons": reasons,
        "broken_drills": [{"path": b.path, "error": b.error} for b in catalog.broken.values()],
        "playbooks": books,
    }


def _load(path: Path, documents: Documents, routes: set[str]) -> Playbook | list[str]:
    """The playbook, or its errors."""
    from cslir.opsrepo import yamlload
    from cslir.opsrepo.documents import errors_of

    checked = documents.playbook(path, routes, None)
    doc = documents.get(path)
    if checked is None or isinstance(doc, yamlload.YamlError):
        return [doc.diagnostic.format()] if isinstance(doc, yamlload.YamlError) else []
    expansion, problems = checked
    errors = [d.format() for d in errors_of(problems)]
    return errors or build_playbook(
        expansion.data, path=str(path), text=doc.text, includes=expansion.texts
    )


class _Checks:
    def __init__(
        self, settings: Settings, record: Record, routes: RouteSet,
        delivered: Mapping[str, str], environ: Mapping[str, str], now: datetime,
    ) -> None:  # fmt: skip
        self.settings, self.record, self.routes = settings, record, routes
        self.delivered, self.environ, self.now = delivered, environ, now

    def playbook(
        self, path: Path, book: Playbook | list[str], drills: list[Loaded]
    ) -> dict[str, Any]:
        from cslir.opsrepo.documents import display

        reasons: list[str] = []
        out: dict[str, Any] = {"path": display(path), "valid": isinstance(book, Playbook)}
        if isinstance(book, Playbook):
            out.update(playbook=book.id, title=localize(book.title))
            out["errors"] = []
        else:
            out.update(playbook=path.stem, title=path.stem, errors=book[:5])
            reasons.append(f"does not validate ({len(book)} error(s)): {book[0]}")
        out["drills"] = [d.drill.id for d in drills]
        out.update(self._drilled(drills, reasons))
        playbook_id = book.id if isinstance(book, Playbook) else path.stem
        out["improvements"] = self._improvements(playbook_id, reasons)
        out["routes"] = self._routes(book, reasons) if isinstance(book, Playbook) else []
        out["plan"] = self._plan(book, reasons) if isinstance(book, Playbook) else []
        out["ready"], out["reasons"] = not reasons, reasons
        return out

    def _plan(self, book: Playbook, reasons: list[str]) -> list[dict[str, Any]]:
        """``cslir plan``'s verdict per clock for a run opening now, worst case of the inputs."""
        from cslir.engine.plan import plan

        rows = []
        for p in plan(book, {}, opened=self.now):
            slack = p.slack.total_seconds() if p.slack is not None else None
            rows.append({"clock": p.id, "verdict": p.verdict, "slack_seconds": slack,
                         "scenario": dict(p.scenario), "path": [s for s, _ in p.path],
                         "unestimated": list(p.unestimated)})  # fmt: skip
            if p.verdict == "infeasible":
                case = ", ".join(f"{k}={v}" for k, v in p.scenario.items())
                when = f" when {case}" if case else ""
                reasons.append(f"clock {p.id} cannot be met with the playbook's estimates{when}"
                               f" (see: cslir plan {book.path})")  # fmt: skip
        return rows

    def _drilled(self, drills: list[Loaded], reasons: list[str]) -> dict[str, Any]:
        if not drills:
            reasons.append("no drill in drills/ rehearses it")
            return {"cadence": None, "last": None, "overdue": True, "due": None, "weak": []}
        cadences = [d.drill.cadence for d in drills if d.drill.cadence]
        cadence = min(cadences, key=lambda c: parse_duration(c).seconds, default=None)
        last = self.record.last_held(d.drill.id for d in drills)
        late, due = overdue(last.at if last else None, cadence, self.now)
        if last is None:
            reasons.append(f"never drilled (drills: {', '.join(d.drill.id for d in drills)})")
        elif late:
            reasons.append(
                f"last drilled {last.at[:10]} ({last.row.drill}, run {last.row.id}); "
                f"overdue against its {cadence} cadence (was due {(due or '?')[:10]})"
            )
        weak = self._weak(last, reasons) if last else []
        return {"cadence": cadence, "last": _last(last), "overdue": late, "due": due,
                "weak": weak}  # fmt: skip

    def _weak(self, last: RunFacts, reasons: list[str]) -> list[dict[str, str]]:
        weak = [{"objective": o, "rating": r} for o, r in last.ratings.items() if r in WEAK]
        for w in weak:
            reasons.append(f"objective {w['objective']} was rated {w['rating']} in the last drill"
                           f" (run {last.row.id})")  # fmt: skip
        return weak

    def _improvements(self, playbook_id: str, reasons: list[str]) -> dict[str, list[Any]]:
        today = self.now.date()
        open_items, past_due = [], []
        for facts in self.record.of_playbook(playbook_id):
            for item in facts.improvements.rows():
                if item["status"] != "open":
                    continue
                row = {**item, "run": facts.row.id}
                open_items.append(row)
                if date.fromisoformat(item["due"]) < today:
                    past_due.append(row)
                    reasons.append(
                        f"improvement {item['id']} of run {facts.row.id} is past due "
                        f"({item['due']}, owner {item['owner']}): {item['text']}"
                    )
        return {"open": open_items, "past_due": past_due}

    def _routes(self, book: Playbook, reasons: list[str]) -> list[dict[str, Any]]:
        names = [s.route for s in book.steps if s.route]
        names += [c.escalate for c in book.clocks.values() if c.escalate]
        names += [self.settings.role_routes.get(s.by or "") or "" for s in book.steps if s.by]
        out, seen = [], set()
        for name in [n for n in dict.fromkeys(names) if n]:
            out.append(self._route(name, None, reasons))
            seen.add(name)
            drill_route = self._drill_route(name)
            if drill_route and drill_route not in seen:
                seen.add(drill_route)
                out.append(self._route(drill_route, name, reasons))
        return out

    def _drill_route(self, name: str) -> str | None:
        route = self.routes.routes.get(name)
        return route.drill_route if route else None

    def _route(self, name: str, drill_of: str | None, reasons: list[str]) -> dict[str, Any]:
        row: dict[str, Any] = {"route": name, "drill_route_of": drill_of,
                               "last_delivered": self.delivered.get(name)}  # fmt: skip
        route = self.routes.routes.get(name)
        if route is None:
            row["problem"] = self.routes.broken.get(name, "not defined in notifiers/")
            reasons.append(f"route {name} cannot be used: {row['problem']}")
            return row
        row["channel"], row["missing"] = route.channel, route.missing_variables(self.environ)
        if row["missing"]:
            reasons.append(f"route {name} misses environment variable(s) "
                           f"{', '.join(row['missing'])}")  # fmt: skip
        if row["last_delivered"] is None:
            reasons.append(f"route {name} has never delivered a message "
                           f"(test it: cslir notify test {name})")  # fmt: skip
        return row


def _last(last: RunFacts | None) -> dict[str, Any] | None:
    if last is None:
        return None
    return {"run": last.row.id, "drill": last.row.drill, "at": last.at,
            "ratings": dict(last.ratings), "summary": ratings_text(last.ratings)}  # fmt: skip
