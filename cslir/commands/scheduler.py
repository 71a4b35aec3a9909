"""``cslir scheduler``: the daemon that keeps the drills' schedules and every open run's clocks."""

from __future__ import annotations

import os

import click

from cslir.commands.app import make_app


def _seconds(option: str, text: str) -> float:
    from cslir.engine.durations import DurationError, parse_duration

    if text.strip() == "0":
        return 0.0
    try:
        span = parse_duration(text)
    except DurationError as e:
        raise click.UsageError(f"{option} {text}: {e}") from None
    if span.is_working_days:
        raise click.UsageError(f"{option} {text}: give it in s, m, h or d, not working days")
    return float(span.seconds)


@click.command()
@click.option("--once", is_flag=True, help="Do what is due now (fire, remind, watch, deliver), "
              "then exit: for system cron and for checks.")  # fmt: skip
@click.option("--remind", default="24h", show_default=True, metavar="DURATION",
              help="Page a drill's participants this long ahead of it (0: never).")  # fmt: skip
@click.option("--grace", default="1h", show_default=True, metavar="DURATION",
              help="A drill found this late or less is still held; later, it is recorded "
              "missed and paged.")  # fmt: skip
@click.option("--tick", default="10s", show_default=True, metavar="DURATION",
              help="How often every open run's clocks and injects are looked at.")  # fmt: skip
@click.pass_context
def scheduler(ctx: click.Context, once: bool, remind: str, grace: str, tick: str) -> int:
    """Keep every drill's schedule and watch every open run's clocks; one per store.

    Fires each drill at its cron time in its time zone (participants reminded ahead, then paged
    with the join command), runs unattended drills to the end, delivers timed injects, records
    and pages every clock warning and miss of every open run (live incidents too), delivers the
    outbox, reloads drills/ when a file changes, and records every fire: a fire missed while it
    was down is recorded and paged, never made twice. SIGTERM stops it cleanly.
    """
    from cslir.drills.daemon import Daemon, clock_from
    from cslir.drills.scheduler import Options
    from cslir.notify.policy import policy_from_env

    app = make_app(ctx, "cslir-scheduler")
    options = Options(remind=_seconds("--remind", remind), grace=_seconds("--grace", grace))
    interval = max(_seconds("--tick", tick), 0.05)
    daemon = Daemon(app.settings, os.environ, clock_from(os.environ), _log,
                    policy_from_env(os.environ), options, tick=interval,
                    signer=app.signer())  # fmt: skip
    return daemon.run(once=once)


def _log(line: str) -> None:
    click.echo(line)  # one line per event, flushed: journald reads it as it comes
