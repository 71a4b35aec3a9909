"""``cslir plan``: can each clock's stopping steps finish in time, and along which path?"""

from __future__ import annotations

import json
from pathlib import Path

import click

from cslir.commands.cli import ctx_options, parse_vars


@click.command()
@click.argument("target", metavar="PLAYBOOK|RUN")
@click.option("--var", "vars_", multiple=True, metavar="NAME=VALUE", help="Give an input.")
@click.option("--start", metavar="WHEN", help="Plan a run that opens then (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plan(
    ctx: click.Context, target: str, vars_: tuple[str, ...], start: str | None, as_json: bool
) -> int:
    """Critical path to each clock's stopping step against its deadline (working days
    included), the slack and the verdict: feasible, tight or infeasible. A RUN is projected
    from now using what has finished. Exits 1 if any clock is infeasible."""
    from cslir.base.timefmt import utcnow, zone
    from cslir.opsrepo.settings import load_settings
    from cslir.opsrepo.validate import load_playbook
    from cslir.runs.planning import is_playbook, plan_playbook, plan_run, start_time
    from cslir.terminal.planview import plan_json, plan_lines

    opts = ctx_options(ctx)
    settings = load_settings(opts.get("root"), lang=opts.get("lang"))
    tz = settings.timezone
    if is_playbook(target):  # a playbook needs no store: this stays as light as validate
        pb = load_playbook(Path(target), settings.root)
        opened = start_time(start, utcnow(), zone(tz))
        plans = plan_playbook(pb, parse_vars(vars_), start=opened, tz=zone(tz))
    elif vars_ or start:
        raise click.UsageError("--var and --start plan a playbook; a run has its own inputs")
    else:
        from cslir.commands.app import make_app

        plans = plan_run(make_app(ctx, None).session(target).state(), utcnow())
    lines = plan_lines(plans, tz, settings.language)
    click.echo(json.dumps(plan_json(plans), indent=2) if as_json else "\n".join(lines))
    return 1 if any(p.verdict == "infeasible" for p in plans) else 0
