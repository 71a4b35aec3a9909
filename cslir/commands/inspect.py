"""Reading runs: ``cslir runs``, ``cslir status``, ``cslir verify``."""

from __future__ import annotations

import json
import time

import click

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
            click.echo(out)
        if not watch:
            return
        time.sleep(1.0)


@click.command()
@click.argument("target", metavar="RUN|BUNDLE.zip")
@click.pass_context
def verify(ctx: click.Context, target: str) -> int:
    """Recompute RUN's hash chain: exit 0 and the head hash, or 1 naming the first bad event.

    Given a .zip from `cslir export`, check the bundle offline instead (no store needed)."""
    from cslir.engine.events import verify_chain

    if target.lower().endswith(".zip"):
        from pathlib import Path

        from cslir.commands.report import verify_bundle

        return verify_bundle(Path(target))
    app = make_app(ctx, None)
    run_id = app.store.resolve_run(target)
    report = verify_chain(app.store.iter_events(run_id))
    if report.ok:
        click.echo(f"{run_id}: {report.count} events, chain intact; head {report.head}")
        return 0
    click.echo(f"{run_id}: verification FAILED: {report.reason}", err=True)
    return 1
