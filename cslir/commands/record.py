"""Recording from another terminal: ``cslir step``, ``note``, ``evidence``, ``approve``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import cast

import click

from cslir.commands.app import as_option, make_app
from cslir.engine import actions
from cslir.engine.state import RunState


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("step_id", metavar="STEP")
@click.option("--done", "outcome", flag_value="done", help="Mark the step done.")
@click.option("--skip", "outcome", flag_value="skip", help="Skip it (needs --reason).")
@click.option("--fail", "outcome", flag_value="fail", help="Mark it failed (needs --reason).")
@click.option("--choice", help="For a decision: the choice.")
@click.option("--reason", default="", help="Why (recorded).")
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="With --done: when it was really done, if not now (e.g. '2026-03-02 10:55', 10m ago).",
)
@click.option("--recipient", help="With --done: who a report or notice went to.")
@click.option("--channel", help="With --done: how it was sent (online form, letter, phone...).")
@click.option("--reference", help="With --done: the receipt or reference number it was given.")
@as_option
@click.pass_context
def step(
    ctx: click.Context,
    run_id: str,
    step_id: str,
    outcome: str | None,
    choice: str | None,
    reason: str,
    at_text: str | None,
    recipient: str | None,
    channel: str | None,
    reference: str | None,
    as_: str | None,
) -> None:
    """Record a step's outcome in RUN (for --done, also when and how it was really done)."""
    facts = {"recipient": recipient, "channel": channel, "reference": reference}
    given = {k: v for k, v in facts.items() if v is not None}
    if (at_text is not None or given) and outcome != "done":
        raise click.UsageError("--at, --recipient, --channel and --reference go with --done")
    app = make_app(ctx, as_)
    at = act_time(at_text, app.settings.timezone) if at_text is not None else None
    s = app.session(run_id)
    if choice is not None:
        s.record(lambda st: actions.decide(st, step_id, choice, reason or None))
    elif outcome == "done":
        s.record(lambda st: actions.done(st, step_id, reason=reason or None, at=at, facts=given))
    elif outcome == "skip":
        s.record(lambda st: actions.skip(st, step_id, reason))
    elif outcome == "fail":
        s.record(lambda st: actions.fail(st, step_id, reason))
    else:
        raise click.UsageError("say what happened: --done, --skip, --fail or --choice")
    when = f" (done at {s.local(at)})" if at is not None else ""
    click.echo(f"{s.run_id}: {step_id} {choice or outcome}{when}")


def act_time(text: str, timezone: str | None) -> datetime:
    """``--at``: read as any datetime input is (in the configured zone), never in the future."""
    from cslir.base.timefmt import utcnow, zone
    from cslir.engine.inputs import InputValueError, parse_value

    try:  # with ``now`` given, "now" and "10m ago" are times too
        return cast(datetime, parse_value("datetime", text, now=utcnow(), tz=zone(timezone)))
    except InputValueError as e:
        raise click.BadParameter(str(e), param_hint="--at") from None


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("text")
@click.option("--step", "step_id", help="The step the note is about.")
@click.option("--strength", "tag", flag_value="strength",
              help="A strength, for the after-action report.")  # fmt: skip
@click.option("--improve", "tag", flag_value="improve",
              help="An area for improvement, for the after-action report.")  # fmt: skip
@as_option
@click.pass_context
def note(ctx: click.Context, run_id: str, text: str, step_id: str | None, tag: str | None,
         as_: str | None) -> None:  # fmt: skip
    """Add a note to RUN's record (tagged a strength or an area for improvement, if said)."""
    s = make_app(ctx, as_).session(run_id)

    def build(st: RunState) -> actions.Events:
        return [(t, {**d, "tag": tag} if tag else d) for t, d in actions.note(st, text, step_id)]

    events = s.record(build)
    kind = {"strength": "strength", "improve": "area for improvement"}.get(tag or "", "note")
    click.echo(f"{s.run_id}: {kind} recorded as event {events[0].seq}")


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--step", "step_id", help="The step the evidence belongs to.")
@as_option
@click.pass_context
def evidence(
    ctx: click.Context, run_id: str, file: Path, step_id: str | None, as_: str | None
) -> None:
    """Copy FILE into RUN's content-addressed evidence and record its sha256."""
    s = make_app(ctx, as_).session(run_id)
    events = s.add_evidence(file, step_id=step_id)
    click.echo(f"{s.run_id}: evidence {file.name} sha256 {events[0].data['sha256']}")


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("step_id", metavar="STEP")
@click.option("--note", "rationale", default="", help="Why it is approved (recorded).")
@as_option
@click.pass_context
def approve(ctx: click.Context, run_id: str, step_id: str, rationale: str, as_: str | None) -> None:
    """Sign off an approval step as someone holding its role (in a live run, as cslir.yaml's
    responders: lists them); the requester cannot approve their own request."""
    app = make_app(ctx, as_)
    s = app.session(run_id)
    s.record(
        lambda st: actions.approve(
            st, step_id, app.actor, app.roles_of(app.actor), rationale or None
        )
    )
    click.echo(f"{s.run_id}: {step_id} approved by {app.actor}")
