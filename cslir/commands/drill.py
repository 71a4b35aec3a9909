"""``cslir drill run|advance|rate|list``: hold a drill, move its scenario time, rate it, list
every drill with its next fire."""

from __future__ import annotations

from pathlib import Path

import click

from cslir.commands.app import as_option, make_app


@click.group()
def drill() -> None:
    """Hold drills, move their scenario time, rate their objectives, list them."""


@drill.command("run")
@click.argument("drill_file", metavar="DRILL", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--answers",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="YAML answers for inputs and steps, over the drill's own answers:.",
)
@click.option("--auto", is_flag=True, help="Finish every step unattended; decisions take the "
              "scenario's value, else their default.")  # fmt: skip
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="Run scenario time this many times faster than the wall clock.")  # fmt: skip
@as_option
@click.pass_context
def run_drill(ctx: click.Context, drill_file: Path, answers: Path | None, auto: bool,
              speed: float, as_: str | None) -> int:  # fmt: skip
    """Hold DRILL: a drill-mode run of its playbook with its scenario, participants paged."""
    from cslir.commands.drillflow import hold

    app = make_app(ctx, as_)
    return hold(app, drill_file, answers=answers, auto=auto, speed=speed)


@drill.command()
@click.argument("run_id", metavar="RUN")
@click.argument("duration", metavar="DURATION")
@click.option("--reason", help="What the jump stands for (recorded).")
@as_option
@click.pass_context
def advance(ctx: click.Context, run_id: str, duration: str, reason: str | None,
            as_: str | None) -> None:  # fmt: skip
    """Move RUN's scenario time forward by DURATION (e.g. 4h): "it is now four hours later"."""
    from cslir.drills.holding import advance as jump
    from cslir.drills.holding import scenario_line

    s = make_app(ctx, as_).session(run_id)
    before = s.state().last_seq
    jump(s, duration, reason)
    s.watch()  # what the jump made due: injects, clock warnings and misses
    click.echo(f"{s.run_id}: {scenario_line(s.state(), s.now(), s.local)}")
    for e in s.store.iter_events(s.run_id, before):
        if e.type in ("drill.inject", "clock.warned", "clock.missed"):
            what = e.data.get("message") or e.data.get("clock")
            click.echo(f"  {e.type} {what}")


@drill.command()
@click.argument("run_id", metavar="RUN")
@click.argument("objective")
@click.argument("rating", type=click.Choice(["P", "S", "M", "U"], case_sensitive=False))
@click.option("--reason", required=True, help="Why this rating (recorded).")
@as_option
@click.pass_context
def rate(ctx: click.Context, run_id: str, objective: str, rating: str, reason: str,
         as_: str | None) -> None:  # fmt: skip
    """Rate OBJECTIVE of drill run RUN (P, S, M or U), overriding the provisional rating."""
    from cslir.base.errors import ActionRefused
    from cslir.drills.live import drill_of
    from cslir.drills.scoring import RATINGS
    from cslir.drills.scoring import rate as rated

    s = make_app(ctx, as_).session(run_id)
    found = drill_of(s.state())
    if found is None:
        raise ActionRefused(f"run {s.run_id} was not opened from a drill file: nothing to rate")
    s.record(lambda st: rated(st, found, objective, rating, reason))
    click.echo(f"{s.run_id}: {objective} rated {rating.upper()} ({RATINGS[rating.upper()]})")


@drill.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_drills(ctx: click.Context, as_json: bool) -> None:
    """List every drill: schedule, next fire, last run and ratings, overdue against cadence."""
    import json

    from cslir.base.timefmt import utcnow
    from cslir.drills.catalog import Catalog
    from cslir.drills.listing import drill_lines, drill_rows
    from cslir.drills.record import read_record

    app = make_app(ctx, None)
    catalog = Catalog(app.settings.root)
    catalog.reload()
    rows = drill_rows(catalog, read_record(app.store), utcnow(), app.settings.timezone)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for line in drill_lines(rows, app.settings.timezone):
        click.echo(line)
