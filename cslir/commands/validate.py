"""``cslir validate``: every problem in playbooks, routes, drills and settings, located."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cslir.commands.cli import ctx_options


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="json prints a list of {path, line, col, severity, message}.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Also fail on a clock whose steps cannot finish in time (see cslir plan).",
)
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], fmt: str, strict: bool) -> int:
    """Check PATHS (files or folders; default: the whole ops repo).

    Prints each problem as path:line:col: severity: message. Exits 1 if any is an error, and
    when there is nothing to check (a folder without YAML files is a mistake, not a pass).
    """
    import os

    from cslir.base.timefmt import utcnow
    from cslir.opsrepo.settings import find_root
    from cslir.opsrepo.validate import validate as run_validate

    root = find_root(ctx_options(ctx).get("root"), os.environ, Path.cwd())
    diags = run_validate(list(paths), root, strict_at=utcnow() if strict else None)
    if fmt == "json":
        click.echo(json.dumps([d.to_json() for d in diags], ensure_ascii=False, indent=2))
    else:
        for d in diags:
            click.echo(d.format())
        errors = sum(d.severity == "error" for d in diags)
        warnings = len(diags) - errors
        if errors or warnings:
            click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
    return 1 if any(d.severity == "error" for d in diags) else 0
