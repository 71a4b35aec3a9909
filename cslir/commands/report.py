"""The record: ``cslir report``, ``cslir export``, and the bundle half of ``cslir verify``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.decorators import FC

from cslir.commands.app import App, make_app
from cslir.store.base import EventStore

FORMATS = ("md", "html", "json")
LANGS = ("en", "zh")

lang_option = click.option(
    "--lang",
    type=click.Choice(LANGS),
    help="Language of the labels and of the playbook's text (default: the settings' language).",
)
template_option = click.option(
    "--template",
    "template_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A directory whose report.md.j2 / report.html.j2 replace cslir's own templates.",
)


def output_option(help_text: str) -> Callable[[FC], FC]:
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help=help_text
    )


def _report(app: App, run_id: str, lang: str | None) -> dict[str, Any]:
    from cslir.base.timefmt import utcnow
    from cslir.drills.aar import drill_section, history
    from cslir.engine.state import RunState
    from cslir.report.model import build_report

    language = lang or app.settings.language
    language = language if language in LANGS else "en"

    def drill_part(state: RunState, source: Any) -> dict[str, Any]:
        if state.drill_spec is None:
            return {}
        past = history(app.store, str(state.drill_spec.get("id")), run_id)
        return {"drill": drill_section(state, source(), past, language)}

    return build_report(
        lambda: app.store.iter_events(run_id),
        lang=language,
        clock=utcnow,  # only for a run still open; a closed run is reported as of its last event
        default_tz=app.settings.timezone,
        more=drill_part,
        drills=earlier_drills(app.store, run_id),
    )


def earlier_drills(store: EventStore, run_id: str) -> list[dict[str, Any]]:
    """Drill runs of the same playbook before this run: evidence of preparedness."""
    runs = store.runs()
    this = next(r for r in runs if r.id == run_id)
    return [
        {"run": r.id, "opened": r.created_at, "title": r.title}
        for r in sorted(runs, key=lambda r: r.created_at)
        if r.mode == "drill"
        and r.playbook_id == this.playbook_id
        and r.created_at < this.created_at
    ]


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="md",
    show_default=True,
    help="Markdown for a wiki, one self-contained HTML file, or versioned JSON.",
)
@output_option("Write to this file (default: standard output).")
@lang_option
@template_option
@click.pass_context
def report(ctx: click.Context, run_id: str, fmt: str, output: Path | None, lang: str | None,
           template_dir: Path | None) -> None:  # fmt: skip
    """Render RUN's after-action record from its event log alone."""
    from cslir.report.render import render, write_file

    app = make_app(ctx, None)
    data = _report(app, app.store.resolve_run(run_id), lang)
    if output is None:
        stdout = sys.stdout.buffer  # UTF-8 whatever the locale: the report may be Chinese

        def write(text: str) -> None:
            stdout.write(text.encode("utf-8"))

        render(data, fmt, write, template_dir=template_dir)
        stdout.flush()
        return
    write_file(data, fmt, output, template_dir=template_dir)
    click.echo(f"{output}: {fmt} report of {data['overview']['run']}", err=True)


@click.command()
@click.argument("run_id", metavar="RUN")
@output_option("The bundle to write (default: RUN.zip here).")
@lang_option
@click.pass_context
def export(ctx: click.Context, run_id: str, output: Path | None, lang: str | None) -> None:
    """Write RUN's record as one zip: reports, events, evidence and a manifest of hashes.

    The reports use cslir's own templates, so that `cslir verify` can render them again from the
    events and prove they say what the events say."""
    from cslir.report.bundle import export_bundle
    from cslir.report.render import render

    app = make_app(ctx, None)
    run = app.store.resolve_run(run_id)
    out = output or Path(f"{run}.zip")
    if out.suffix.lower() != ".zip":
        raise click.UsageError(f"the bundle must be a .zip file, not {out}")
    data = _report(app, run, lang)
    manifest = export_bundle(
        run,
        lambda: app.store.iter_events(run),
        app.store,
        out,
        lambda fmt, write: render(data, fmt, write),
        last_seq=data["chain"]["events"],
        rendered=data,
    )
    evidence = sum(1 for name in manifest["files"] if name.startswith("evidence/"))
    click.echo(f"{out}: run {run}, {manifest['events']} events, {evidence} evidence files;"
               f" chain head {manifest['chain_head']}")  # fmt: skip
    click.echo(f"check it anywhere with: cslir verify {out}")


def verify_bundle(path: Path, key: Any, heads: tuple[str, ...] = ()) -> int:
    """``cslir verify bundle.zip``: every problem on its own line and exit 1, else the head."""
    from cslir.report.bundlecheck import check_bundle

    if not path.is_file():
        raise click.UsageError(f"no bundle {path}")
    result = check_bundle(path, key, heads)
    if result.ok:
        click.echo(f"{path}: run {result.run}, {result.events} events, {result.evidence} evidence"
                   f" files; every file matches; chain intact; head {result.head}")  # fmt: skip
        if result.verdict is not None:
            click.echo(result.verdict.proof())
        return 0
    for problem in result.problems:
        click.echo(problem, err=True)
    count = len(result.problems)
    click.echo(f"{path}: verification FAILED ({count} problem{'s' * (count != 1)})", err=True)
    return 1
