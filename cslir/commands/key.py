"""``cslir key``: the organisation's signing key (make it; sign a run's head by hand)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from cslir.commands.app import as_option, make_app


@click.group()
def key() -> None:
    """The organisation's Ed25519 key that signs each run's checkpoints."""


def _default_private() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cslir" / "signing.key"


@key.command()
@click.option(
    "--private",
    "private",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the private key (default: ~/.config/cslir/signing.key), owner-only.",
)
@click.option(
    "--public",
    "public",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the public key (default: keys/signing.pub in the ops repo).",
)
@click.pass_context
def init(ctx: click.Context, private: Path | None, public: Path | None) -> None:
    """Make a key pair: the private key outside the ops repo and store, the public one in it."""
    from cslir.commands.cli import ctx_options
    from cslir.opsrepo.settings import load_settings
    from cslir.trust.keyfiles import write_key_pair

    settings = load_settings(ctx_options(ctx).get("root"))
    private = private or _default_private()
    public = public or settings.root / "keys" / "signing.pub"
    store_dir = settings.store.parent if isinstance(settings.store, Path) else None
    key_id = write_key_pair(private, public, settings.root, store_dir)
    inside = public.is_relative_to(settings.root)
    shown = os.path.relpath(public, settings.root) if inside else public
    click.echo(f"key {key_id}: private key {private} (owner-only; keep it out of git),"
               f" public key {public}")  # fmt: skip
    click.echo("add to cslir.yaml, and commit the public key:")
    click.echo("  signing_key: ${env:CSLIR_SIGNING_KEY}   # set to the private key's path or PEM")
    click.echo(f"  verify_key: {shown}")


@key.command()
@click.argument("run_id", metavar="RUN")
@as_option
@click.pass_context
def sign(ctx: click.Context, run_id: str, as_: str | None) -> int:
    """Sign RUN's head now (after checking the events a process without the key recorded)."""
    from cslir.runs.sealing import seal_head

    app = make_app(ctx, as_)
    if app.signer() is None:
        raise click.UsageError(
            "no signing key: set signing_key in cslir.yaml (e.g. ${env:CSLIR_SIGNING_KEY})"
            " and the variable it names"
        )
    session = app.session(run_id)
    events = seal_head(session, "by hand")
    st = session.state()
    if events:
        head = events[-1].prev_hash
        click.echo(f"{session.run_id}: signed event {st.last_seq - 1} (head {head})")
    else:
        click.echo(f"{session.run_id}: already signed up to its last event ({st.last_seq})")
    return 0
