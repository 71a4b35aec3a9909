"""The command-line surface: parse, dispatch, print. Commands load lazily.

Each command lives in ``cslir/commands/<module>.py``; this group imports a module only when its
command runs, so ``cslir --help`` stays as light as a small script (no requests, Jinja2 or
APScheduler).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from cslir import __version__

# name -> (module under cslir.commands, attribute, one-line help shown by `cslir --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("validate", "validate", "Check playbooks, routes, drills and settings."),
    "schema": ("schema", "schema", "Print the JSON Schema of a playbook, route or drill file."),
    "init": ("init", "init", "Scaffold a new ops repo that validates."),
    "plan": ("plan", "plan", "Can each clock's steps finish in time? The critical path."),
    "run": ("run", "run", "Start a run of a playbook and walk through it."),
    "resume": ("run", "resume", "Resume a paused or interrupted run."),
    "join": ("run", "join", "Join a run from another terminal (optionally one role)."),
    "runs": ("inspect", "runs", "List the runs in the store."),
    "status": ("inspect", "status", "Show every step and clock of a run."),
    "verify": ("inspect", "verify", "Recompute a run's hash chain, or check a bundle offline."),
    "step": ("record", "step", "Record a step's outcome from another terminal."),
    "note": ("record", "note", "Add a note to a run's record."),
    "evidence": ("record", "evidence", "Add a file to a run's evidence."),
    "approve": ("record", "approve", "Sign off an approval step."),
    "regulator": ("regulator", "regulator", "Log a dealing with a regulator (in or out)."),
    "report": ("report", "report", "Render a run's after-action record (md, html, json)."),
    "export": ("report", "export", "Write a run's record as a bundle that verifies offline."),
    "improve": ("improve", "improve", "Add, close or list a run's improvement items."),
    "notify": ("notify", "notify", "Page routes: list, test, show deliveries, flush the outbox."),
    "key": ("key", "key", "Make the signing key; sign a run's head by hand."),
    "drill": ("drill", "drill", "Hold a drill, advance its scenario time, rate it, list drills."),
    "scheduler": ("scheduler", "scheduler", "Keep drill schedules; watch every open clock."),
    "readiness": ("readiness", "readiness", "Say whether every playbook is ready, and why not."),
    "store": ("store", "store", "Team mode: check the store, copy runs between stores."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*COMMANDS, *self.commands])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(f"cslir.commands.{module}"), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cslir")
@click.option(
    "--root",
    type=click.Path(file_okay=False),
    envvar="CSLIR_ROOT",
    help="Ops repo root (default: $CSLIR_ROOT, else the nearest cslir.yaml upwards, else .).",
)
@click.option("--lang", type=click.Choice(["en", "zh"]), help="Language of playbook text.")
@click.pass_context
def cli(ctx: click.Context, root: str | None, lang: str | None) -> None:
    """Run incident-response playbooks with the legal clocks running, and prove it afterwards."""
    ctx.obj = {"root": root, "lang": lang}


def ctx_options(ctx: click.Context) -> dict[str, Any]:
    """The group-level options, for commands that need the ops root or language."""
    root = ctx.find_root()
    obj: dict[str, Any] = root.obj or {}
    return obj


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--var NAME=VALUE`` options as a mapping; a pair without ``=`` is a usage error."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.UsageError(f"--var {pair!r}: write name=value")
        out[name.strip()] = value
    return out
