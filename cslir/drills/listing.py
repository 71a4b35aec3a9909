"""``cslir drill list``: every drill with its schedule, next fire, last run and whether it is
overdue against its cadence. The next fire comes from the drill's APScheduler trigger, the same
one the scheduler fires by."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cslir.base.timefmt import local_text
from cslir.drills.catalog import Catalog
from cslir.drills.record import Record, ratings_text
from cslir.engine.durations import parse_duration
from cslir.engine.events import format_at, parse_at
from cslir.opsrepo.cron import CronError, cron_trigger


def overdue(last_at: str | None, cadence: str | None, now: datetime) -> tuple[bool, str | None]:
    """(overdue?, when the next rehearsal is due) against a cadence; never held is overdue."""
    if not cadence:
        return False, None
    if last_at is None:
        return True, None
    due = parse_at(last_at) + timedelta(seconds=parse_duration(cadence).seconds)
    return now > due, format_at(due)


def drill_rows(
    catalog: Catalog, record: Record, now: datetime, tz: str | None
) -> list[dict[str, Any]]:
    rows = []
    for loaded in catalog.drills():
        drill = loaded.drill
        zone = drill.timezone or tz or "UTC"
        next_fire = None
        if drill.cron:
            try:
                fire = cron_trigger(drill.cron, zone).get_next_fire_time(None, now)
                next_fire = format_at(fire) if fire else None
            except CronError:
                next_fire = None
        last = record.last_held([drill.id])
        late, due = overdue(last.at if last else None, drill.cadence, now)
        rows.append({
            "id": drill.id, "title": drill.name(), "path": drill.path,
            "playbook": loaded.playbook.id, "cron": drill.cron, "timezone": zone,
            "next_fire": next_fire, "cadence": drill.cadence,
            "runs": len(record.of_drill(drill.id)),
            "last_run": last.row.id if last else None, "last_at": last.at if last else None,
            "last_ratings": dict(last.ratings) if last else {},
            "overdue": late, "due": due,
        })  # fmt: skip
    for broken in catalog.broken.values():
        rows.append({"path": broken.path, "broken": broken.error})
    return rows


def drill_lines(rows: list[dict[str, Any]], tz: str | None) -> list[str]:
    def local(at: str | None) -> str:
        return local_text(parse_at(at), tz) if at else "—"

    lines = []
    for r in rows:
        if "broken" in r:
            lines.append(f"{r['path']}: BROKEN: {r['broken'].splitlines()[-1].strip()}")
            continue
        when = (
            f"{r['cron']} ({r['timezone']}), next {local(r['next_fire'])}"
            if r["cron"]
            else ("no schedule")
        )
        held = (
            f"last run {r['last_run']} {local(r['last_at'])}: {ratings_text(r['last_ratings'])}"
            if r["last_run"] else "never held"
        )  # fmt: skip
        late = ""
        if r["cadence"]:
            late = (
                f"; OVERDUE (cadence {r['cadence']})"
                if r["overdue"]
                else (f"; due again by {local(r['due'])}")
            )
        lines.append(f"{r['id']} ({r['playbook']}): {when}; {held}{late}")
    return lines or ["no drills in drills/"]
