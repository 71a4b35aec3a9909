"""``cslir notify``: routes, a test page, the state of deliveries, and flushing the outbox."""

from __future__ import annotations

import os

import click

from cslir.commands.app import App, as_option, make_app


@click.group()
def notify() -> None:
    """Page routes: list them, test one, show deliveries, deliver what is pending, retry."""


@notify.command()
@click.pass_context
def routes(ctx: click.Context) -> None:
    """Each route, its channel, and whether its secrets are in the environment."""
    from cslir.notify.service import route_lines

    lines = route_lines(make_app(ctx, None).settings, os.environ)
    width = max((len(line.name) for line in lines), default=0)
    for line in lines:
        click.echo(f"{line.name.ljust(width)}  {line.channel:9}  {line.state}")
    if not lines:
        click.echo("no routes in notifiers/")


@notify.command()
@click.argument("route")
@click.pass_context
def test(ctx: click.Context, route: str) -> int:
    """Send a test message to ROUTE now and show exactly what came back."""
    from cslir.notify.service import test_route

    ok, lines = test_route(make_app(ctx, None).settings, route, os.environ)
    for line in lines:
        click.echo(line)
    return 0 if ok else 1


@notify.command()
@click.argument("run_id", metavar="[RUN]", required=False)
@click.pass_context
def status(ctx: click.Context, run_id: str | None) -> None:
    """Every delivery (of RUN, if given): route, status, attempts and last error."""
    from cslir.notify.service import status_lines

    for line in status_lines(make_app(ctx, None).store, run_id):
        click.echo(line)


@notify.command()
@click.pass_context
def flush(ctx: click.Context) -> int:
    """Deliver what is pending, waiting for retries; exit 1 if anything fails."""
    return _deliver(make_app(ctx, None))


@notify.command()
@click.argument("delivery", metavar="[ID]", type=int, required=False)
@click.option("--run", "run_id", metavar="RUN", help="Every failed delivery of this run.")
@as_option
@click.pass_context
def retry(ctx: click.Context, delivery: int | None, run_id: str | None, as_: str | None) -> int:
    """Send failed deliveries again (delivery ID, a run's, or all) with a fresh retry budget."""
    from cslir.notify.service import retry_failed

    app = make_app(ctx, as_)
    ids = retry_failed(app.store, app.actor, delivery=delivery, run=run_id)
    if not ids:
        click.echo("no failed deliveries to send again")
        return 0
    click.echo(f"sending again: {', '.join(f'#{i}' for i in ids)}")
    return _deliver(app)


def _deliver(app: App) -> int:
    from cslir.notify.policy import policy_from_env
    from cslir.notify.service import describe_result, flush

    report = flush(app.settings, os.environ, policy_from_env(os.environ),
                   lambda result: click.echo(describe_result(result)),
                   on_progress=click.echo)  # fmt: skip
    delivered = sum(r.status == "delivered" for r in report.results)
    failed = len(report.results) - delivered
    click.echo(f"{delivered} delivered, {failed} failed, {report.left} still pending")
    return 0 if report.ok else 1
