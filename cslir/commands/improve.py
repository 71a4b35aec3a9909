"""``cslir improve``: the run's improvement plan, recorded as events."""

from __future__ import annotations

from itertools import takewhile

import click

from cslir.commands.app import as_option, make_app
from cslir.engine.state import RunState
from cslir.report.improvements import Improvements
from cslir.runs.session import RunCore


def _plan(s: RunCore, st: RunState) -> Improvements:
    # Exactly the events the state was folded from, so the id given matches the seq expected.
    return Improvements(takewhile(lambda e: e.seq <= st.last_seq, s.store.iter_events(s.run_id)))


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("text", required=False)
@click.option("--owner", metavar="NAME", help="Who owns the new item.")
@click.option("--due", metavar="DATE", help="When the new item is due (YYYY-MM-DD).")
@click.option("--close", "close_id", metavar="ID", help="Close item ID (I1, I2...).")
@as_option
@click.pass_context
def improve(ctx: click.Context, run_id: str, text: str | None, owner: str | None, due: str | None,
            close_id: str | None, as_: str | None) -> None:  # fmt: skip
    """Add TEXT to RUN's improvement plan (--owner, --due), close an item, or list the plan."""
    s = make_app(ctx, as_).session(run_id)
    if text is not None and close_id is not None:
        raise click.UsageError("give TEXT to add an item or --close ID to close one, not both")
    if close_id is not None:
        events = s.record(lambda st: _plan(s, st).close(close_id))
        click.echo(f"{s.run_id}: improvement {events[0].data['id']} closed")
    elif text is not None:
        if not owner or not due:
            raise click.UsageError("a new item needs --owner NAME and --due DATE")
        events = s.record(lambda st: _plan(s, st).add(text, owner, due))
        d = events[0].data
        click.echo(f"{s.run_id}: improvement {d['id']} added (owner {d['owner']}, due {d['due']})")
    else:
        items = _plan(s, s.state()).rows()
        for i in items:
            click.echo(f"{i['id']:4} {i['status']:6} due {i['due']}  {i['owner']}: {i['text']}")
        if not items:
            click.echo(f"{s.run_id}: no improvement items yet")
