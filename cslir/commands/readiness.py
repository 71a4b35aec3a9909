"""``cslir readiness``: READY or NOT READY, per playbook and overall, with every reason."""

from __future__ import annotations

import os
from pathlib import Path

import click

from cslir.commands.app import make_app


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "html", "json"]),
              default="text", show_default=True,
              help="text, Markdown, one HTML page, or JSON.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: standard output).")  # fmt: skip
@click.pass_context
def readiness(ctx: click.Context, as_json: bool, fmt: str, output: Path | None) -> int:
    """Say whether every playbook is ready, and why not; exit 1 when one is not.

    Per playbook: last drilled and how, overdue against its drills' cadence (or never drilled),
    objectives rated M or U, improvement items open and past due, the routes it pages with the
    variables they miss and their last delivery, and whether it validates.
    """
    from cslir.base.timefmt import utcnow
    from cslir.drills.catalog import Catalog
    from cslir.drills.readiness import assess
    from cslir.drills.readiness_view import render_readiness
    from cslir.drills.record import read_record
    from cslir.notify.routes import load_routes

    app = make_app(ctx, None)
    catalog = Catalog(app.settings.root)
    catalog.reload()
    data = assess(app.settings, catalog, read_record(app.store), load_routes(app.settings.root),
                  app.store.outbox.last_delivered(), os.environ, utcnow())  # fmt: skip
    text = render_readiness(data, "json" if as_json else fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{output}: {data['verdict']}", err=True)
    return 0 if data["ready"] else 1
