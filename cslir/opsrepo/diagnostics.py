"""Located problems, printed the way editors and compilers print them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    severity: str  # "error" or "warning"
    message: str

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """A hint such as " (did you mean 'needs'?)", or "" when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, sorted(str(o) for o in options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
