"""Entry point: ``cslir`` and ``python -m cslir``; the one error funnel."""

from __future__ import annotations

import sys

from cslir.base.crashlog import write_crash_log
from cslir.base.errors import EXIT_BUG, CslirError, Interrupted


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else ""


def main(argv: list[str] | None = None) -> int:
    import click

    from cslir.commands.cli import cli

    try:
        rc = cli.main(args=argv, prog_name="cslir", standalone_mode=False)
    except click.exceptions.Abort:
        print("cslir: interrupted", file=sys.stderr)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except Interrupted as e:
        print(e.message, file=sys.stderr)
        return e.exit_code
    except CslirError as e:
        print(f"cslir: error: {e.message}", file=sys.stderr)
        return e.exit_code
    except SystemExit as e:  # click's own exits (usage errors, --help)
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    except KeyboardInterrupt:
        print("cslir: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the funnel: one line to the user, the traceback to a log
        path = write_crash_log(e, heading=f"cslir crashed: argv={sys.argv!r}")
        print(
            f"cslir: internal error: {type(e).__name__}: {_first_line(e)} (details in {path})",
            file=sys.stderr,
        )
        return EXIT_BUG
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
