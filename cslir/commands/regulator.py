"""``cslir regulator``: log a dealing with a regulator as a structured event."""

from __future__ import annotations

import click

from cslir.commands.app import as_option, make_app
from cslir.engine.dealings import KINDS


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.argument("summary")
@click.option("--authority", required=True, help="Who: CAC Shanghai, MIIT, public security...")
@click.option("--due", metavar="WHEN", help="A deadline the authority set.")
@click.option("--ref", help="Its reference: a notice number, a receipt number.")
@click.option("--step", "step_id", help="The step it belongs to.")
@as_option
@click.pass_context
def regulator(
    ctx: click.Context,
    run_id: str,
    kind: str,
    summary: str,
    authority: str,
    due: str | None,
    ref: str | None,
    step_id: str | None,
    as_: str | None,
) -> None:
    """Record a dealing with a regulator in RUN: a notice, request, interview, inspection or
    deadline that came in; an answer, submission or report that went out."""
    from cslir.base.timefmt import utcnow, zone
    from cslir.engine.dealings import dealing

    app = make_app(ctx, as_)
    s = app.session(run_id)
    tz = zone(app.settings.timezone)
    events = s.record(lambda st: dealing(st, kind, summary, authority=authority, due=due, ref=ref,
                                         step_id=step_id, now=utcnow(), tz=tz))  # fmt: skip
    click.echo(f"{s.run_id}: {kind} ({KINDS[kind]}) recorded as event {events[0].seq}")
