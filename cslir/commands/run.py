"""``cslir run``, ``cslir resume`` and ``cslir join``: the walkthrough."""

from __future__ import annotations

from pathlib import Path

import click

from cslir.commands.app import as_option, make_app
from cslir.commands.cli import parse_vars


@click.command()
@click.argument("playbook", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--var", "vars_", multiple=True, metavar="NAME=VALUE", help="Give an input.")
@click.option(
    "--answers",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="YAML answers for inputs and steps (no terminal needed).",
)
@click.option("--auto", is_flag=True, help="Finish every step; decisions take their default.")
@click.option(
    "--drill", is_flag=True, help="Run as a drill: marked everywhere, commands simulated."
)
@as_option
@click.pass_context
def run(
    ctx: click.Context,
    playbook: Path,
    vars_: tuple[str, ...],
    answers: Path | None,
    auto: bool,
    drill: bool,
    as_: str | None,
) -> int:
    """Start a run of PLAYBOOK and walk through it step by step."""
    from cslir.commands.runflow import start_run

    app = make_app(ctx, as_)
    return start_run(
        app,
        playbook,
        parse_vars(vars_),
        answers=answers,
        auto=auto,
        mode="drill" if drill else "live",
    )


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--answers", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--auto", is_flag=True, help="Finish every remaining step.")
@as_option
@click.pass_context
def resume(
    ctx: click.Context, run_id: str, answers: Path | None, auto: bool, as_: str | None
) -> int:
    """Resume a paused or interrupted run where it stopped."""
    from cslir.commands.runflow import continue_run

    app = make_app(ctx, as_)
    return continue_run(app, run_id, answers=answers, auto=auto, role=None)


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--role", help="Walk only this role's steps.")
@as_option
@click.pass_context
def join(ctx: click.Context, run_id: str, role: str | None, as_: str | None) -> int:
    """Join a run from another terminal, seeing everyone's progress live."""
    from cslir.commands.runflow import continue_run

    app = make_app(ctx, as_)
    return continue_run(app, run_id, answers=None, auto=False, role=role, joining=True)
