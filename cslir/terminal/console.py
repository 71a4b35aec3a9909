"""The terminal: line-based input that works over SSH and in tmux, colour only on a terminal.

Input is read a line at a time with a short poll, so that what other responders record appears
while this one is thinking.
"""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Iterable, Mapping
from typing import TextIO

from cslir.base.safetext import printable

Line = tuple[str, tuple[str, ...]]  # a line of text and the styles it is shown in

STYLES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
    "magenta": "35",
}


class Term:
    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        env = os.environ if environ is None else environ
        self.color = _isatty(self.stdout) and "NO_COLOR" not in env and env.get("TERM") != "dumb"
        self.interactive = _isatty(self.stdin)

    def style(self, text: str, *names: str) -> str:
        if not self.color or not names:
            return text
        codes = ";".join(STYLES[n] for n in names)
        return f"\033[{codes}m{text}\033[0m"

    def say(self, text: str = "", *names: str) -> None:
        self.stdout.write(self.style(printable(text), *names) + "\n")
        self.stdout.flush()

    def show(self, lines: Iterable[Line]) -> None:
        for text, styles in lines:
            self.say(text, *styles)

    def prompt(self, text: str) -> None:
        self.stdout.write(self.style(printable(text), "bold"))
        self.stdout.flush()

    def read_line(self, timeout: float | None = None) -> str | None:
        """A line without its newline; None if ``timeout`` passed first. EOF raises EOFError."""
        if timeout is not None and hasattr(self.stdin, "fileno"):
            try:
                ready, _, _ = select.select([self.stdin], [], [], timeout)
            except (OSError, ValueError):
                ready = [self.stdin]
            if not ready:
                return None
        line = self.stdin.readline()
        if line == "":
            raise EOFError
        return line.rstrip("\r\n")

    def ask(self, text: str) -> str:
        self.prompt(text)
        line = self.read_line()
        return "" if line is None else line.strip()


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
