"""``cslir init``: scaffold an ops repo that validates."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init(directory: Path, force: bool) -> None:
    """Create DIRECTORY with cslir.yaml, an example playbook, routes, a drill and schemas."""
    from cslir.opsrepo.scaffold import scaffold

    for path in scaffold(directory, force=force):
        click.echo(f"created {path}")
    click.echo(f"next: cd {directory} && cslir validate && cslir run playbooks/leak.yaml")
