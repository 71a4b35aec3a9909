"""Shared wiring for the run commands: settings, store, actor, session."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from cslir.base.errors import CslirError
from cslir.opsrepo.settings import Settings, load_settings
from cslir.runs.effects import RunSession
from cslir.runs.session import default_actor
from cslir.store import open_store
from cslir.store.base import EventStore

if TYPE_CHECKING:
    from cslir.trust.keys import SigningKey


@dataclass
class App:
    settings: Settings
    store: EventStore
    actor: str
    environ: Mapping[str, str]  # this process's: secrets are read from it when needed
    sessions: list[RunSession] = field(default_factory=list)
    _signer: tuple[SigningKey | None] | None = None

    def session(self, run_prefix: str) -> RunSession:
        from cslir.drills.holding import attach
        from cslir.notify.hook import on_notify_for

        run_id = self.store.resolve_run(run_prefix)
        session = RunSession(
            self.store,
            run_id,
            self.actor,
            on_notify=on_notify_for(self.settings, self.store),
            role_routes=self.settings.role_routes,
            routes=self.settings.routes,
            signer=self.signer(),
        )
        self.sessions.append(session)
        attach(session)  # a drill run's injects and scoring join the watch
        # Every cslir process watches the clocks of the run it touches: a warning or a miss
        # that came due while nobody had the walkthrough open is recorded (and paged) now.
        session.watch()
        return session

    def signer(self) -> SigningKey | None:
        """The organisation key that signs checkpoints, if cslir.yaml names one and it is set.

        Named but unset (the variable missing where this process runs): one warning, and the
        run goes on unsigned (``cslir verify`` will say so) rather than stop an incident.
        """
        if self._signer is None:
            self._signer = (self._load_signer(),)
        return self._signer[0]

    def _load_signer(self) -> SigningKey | None:
        from cslir.base.secretrefs import missing, resolve

        ref = self.settings.signing_key
        if not ref:
            return None
        unset = missing(ref, self.environ)
        if unset:
            click.echo(
                f"cslir: warning: signing_key in cslir.yaml needs ${unset[0]}, which is not set"
                " here: what this process records is not signed (cslir key sign RUN later)",
                err=True,
            )
            return None
        from cslir.trust.keys import load_signing_key

        return load_signing_key(resolve(ref, self.environ), "signing_key in cslir.yaml")

    def seal(self) -> None:
        """Sign the head of every run this process wrote to (after its worker has stopped)."""
        from cslir.runs.sealing import seal_head

        for session in self.sessions:
            if session.wrote and session.signer is not None:
                try:
                    seal_head(session)
                except CslirError as e:  # the command's own outcome stands; say what was not
                    print(f"cslir: run {session.run_id} not signed: {e.message}", file=sys.stderr)
        self.sessions.clear()

    def roles_of(self, actor: str) -> list[str] | None:
        return self.settings.roles_of(actor)


def make_app(ctx: click.Context, as_: str | None) -> App:
    from cslir.commands.cli import ctx_options
    from cslir.notify.hook import stop_workers

    opts = ctx_options(ctx)
    settings = load_settings(opts.get("root"), lang=opts.get("lang"))
    actor = as_ or default_actor(os.environ)
    store = open_store(settings.store)
    ctx.call_on_close(store.close)  # registered first, so it runs last: after the two below
    app = App(settings, store, actor, os.environ)
    # Close callbacks run last-registered first: the worker stops, then the heads are signed
    # (so the outcomes it recorded in its grace are signed too).
    ctx.call_on_close(app.seal)
    # When the command ends, the delivery worker gets a short grace; the rest stays queued.
    ctx.call_on_close(stop_workers)
    return app


as_option = click.option(
    "--as",
    "as_",
    metavar="NAME",
    help="Who is acting (default: $CSLIR_RESPONDER, else the OS user).",
)
