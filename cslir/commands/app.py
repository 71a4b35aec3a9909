"""Shared wiring for the run commands: settings, store, actor, session."""

from __future__ import annotations

import os
from dataclasses import dataclass

import click

from cslir.opsrepo.settings import Settings, load_settings
from cslir.runs.effects import RunSession
from cslir.runs.session import default_actor
from cslir.store.sqlite import Store


@dataclass
class App:
    settings: Settings
    store: Store
    actor: str

    def session(self, run_prefix: str) -> RunSession:
        from cslir.notify.hook import on_notify_for

        run_id = self.store.resolve_run(run_prefix)
        session = RunSession(
            self.store,
            run_id,
            self.actor,
            on_notify=on_notify_for(self.settings, self.store),
            role_routes=self.settings.role_routes,
        )
        # Every cslir process watches the clocks of the run it touches: a warning or a miss
        # that came due while nobody had the walkthrough open is recorded (and paged) now.
        session.watch()
        return session

    def roles_of(self, actor: str) -> list[str] | None:
        entry = self.settings.responders.get(actor)
        if isinstance(entry, dict) and isinstance(entry.get("roles"), list):
            return [str(r) for r in entry["roles"]]
        return None


def make_app(ctx: click.Context, as_: str | None) -> App:
    from cslir.commands.cli import ctx_options
    from cslir.notify.hook import stop_workers

    opts = ctx_options(ctx)
    settings = load_settings(opts.get("root"), lang=opts.get("lang"))
    actor = as_ or default_actor(os.environ)
    # When the command ends, the delivery worker gets a short grace; the rest stays queued.
    ctx.call_on_close(stop_workers)
    return App(settings, Store(settings.store), actor)


as_option = click.option(
    "--as",
    "as_",
    metavar="NAME",
    help="Who is acting (default: $CSLIR_RESPONDER, else the OS user).",
)
