"""``cslir schema``: JSON Schema generated from the model the validator uses."""

from __future__ import annotations

import click


@click.command()
@click.argument("kind", type=click.Choice(["playbook", "route", "drill", "settings", "steps"]))
def schema(kind: str) -> None:
    """Print the JSON Schema (2020-12) for KIND files, for editors and CI."""
    from cslir.opsrepo.schemafiles import render_schema

    click.echo(render_schema(kind), nl=False)
