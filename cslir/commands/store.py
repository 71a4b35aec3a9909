"""``cslir store``: check that the store answers and may be written; copy runs between stores."""

from __future__ import annotations

import click

from cslir.commands.cli import ctx_options


@click.group()
def store() -> None:
    """Team mode: check the store, copy runs between SQLite and PostgreSQL."""


def _configured(ctx: click.Context) -> str:
    from cslir.opsrepo.settings import load_settings

    opts = ctx_options(ctx)
    return str(load_settings(opts.get("root"), lang=opts.get("lang")).store)


@store.command()
@click.argument("target", metavar="[STORE]", required=False)
@click.pass_context
def check(ctx: click.Context, target: str | None) -> None:
    """Connect to STORE (default: the configured one), apply its migrations, check permissions.

    A wrong URL, a refused connection, a missing database or a bad password is one line and
    exit 1; a password is never shown."""
    from cslir.store import open_store

    with open_store(target or _configured(ctx)) as opened:
        for line in opened.check():
            click.echo(line)
    click.echo("store ok")


@store.command()
@click.argument("src", metavar="SRC")
@click.argument("dst", metavar="DST")
@click.option("--run", "run_id", metavar="RUN", help="Copy only this run (default: every run).")
def copy(src: str, dst: str, run_id: str | None) -> None:
    """Copy runs, their events and evidence from SRC to DST (a file or a postgresql:// URL).

    Every chain is verified on arrival with the same head hash; a run already in DST with the
    same head is left as it is. The delivery queue and the scheduler's fire records stay."""
    from cslir.store import open_store
    from cslir.store.copy import Copied, copy_runs

    def said(c: Copied) -> None:
        how = "already there" if c.already else "copied"
        click.echo(f"{c.run}: {how}, {c.events} events, {c.evidence} evidence; head {c.head}")

    with open_store(src) as source, open_store(dst) as target:
        done = copy_runs(source, target, run_id, on_run=said)
        runs = f"{len(done)} run{'s' * (len(done) != 1)}"
        click.echo(f"{runs} of {source.where} in {target.where}, each with the same head hash")
