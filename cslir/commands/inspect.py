"""Reading runs: ``cslir runs``, ``cslir status``, ``cslir verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cslir.base.safetext import printable
from cslir.commands.app import as_option, make_app


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def runs(ctx: click.Context, as_json: bool) -> None:
    """List the runs in the store, newest first."""
    app = make_app(ctx, None)
    rows = sorted(app.store.runs(), key=lambda r: r.created_at, reverse=True)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=2))
        return
    for r in rows:
        click.echo(f"{r.id}  {r.mode:5}  {r.playbook_id:16}  {r.created_at}  {r.last_seq} events")


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--watch", is_flag=True, help="Redraw as the run changes (Ctrl-C to stop).")
@as_option
@click.pass_context
def status(ctx: click.Context, run_id: str, as_json: bool, watch: bool, as_: str | None) -> None:
    """Show every step and every clock of RUN."""
    from cslir.terminal.statusview import status_json, status_text

    app = make_app(ctx, as_)
    s = app.session(run_id)
    last = -1
    while True:
        st = s.state()
        if st.last_seq != last:
            last = st.last_seq
            out = (
                json.dumps(status_json(s), ensure_ascii=False, indent=2)
                if as_json
                else status_text(s, app.settings.language)
            )
            click.echo(printable(out))
        if not watch:
            return
        s.store.wait_for_events(s.run_id, last, 1.0)  # PostgreSQL wakes it at once


key_option = click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The organisation's public key (default: verify_key in cslir.yaml, if any).",
)


@click.command()
@click.argument("target", metavar="RUN|BUNDLE.zip")
@key_option
@click.option(
    "--head",
    "heads",
    multiple=True,
    metavar="HASH",
    help="A chain head a witness holds (the audit route's copy): it must still be in the chain.",
)
@click.pass_context
def verify(ctx: click.Context, target: str, key_path: Path | None, heads: tuple[str, ...]) -> int:
    """Recompute RUN's hash chain and check its signed checkpoints: exit 0 saying what that
    proves, or 1 naming each problem.

    Given a .zip from `cslir export`, check the bundle offline instead (no store needed)."""
    from cslir.trust.verify import check_events, check_run_row

    if target.lower().endswith(".zip"):
        from cslir.commands.report import verify_bundle

        return verify_bundle(Path(target), verify_key(ctx, key_path), heads)
    app = make_app(ctx, None)
    run_id = app.store.resolve_run(target)
    key = verify_key(ctx, key_path, app.settings.verify_key)
    verdict = check_events(app.store.iter_events(run_id), key, heads)
    rows = app.store.runs(run_id)
    opened = next(iter(app.store.iter_events(run_id)), None)
    verdict.problems += check_run_row(rows[0] if rows else None, opened)
    if verdict.ok:
        click.echo(f"{run_id}: {verdict.count} events, chain intact; head {verdict.head}")
        click.echo(verdict.proof())
        return 0
    for problem in verdict.problems:
        click.echo(f"{run_id}: {problem}", err=True)
    count = len(verdict.problems)
    click.echo(f"{run_id}: verification FAILED ({count} problem{'s' * (count != 1)})", err=True)
    return 1


def verify_key(ctx: click.Context, given: Path | None, configured: Path | None = None) -> Any:
    """The public key: ``--key``, else cslir.yaml's ``verify_key`` (read only if needed)."""
    from cslir.trust.keys import load_verify_key

    if given is None and configured is None:
        from cslir.commands.cli import ctx_options
        from cslir.opsrepo.settings import load_settings

        configured = load_settings(ctx_options(ctx).get("root")).verify_key
    path = given or configured
    return load_verify_key(path) if path is not None else None
