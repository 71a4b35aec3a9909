"""Secret references (``${env:NAME}``) and their redaction.

Secrets are never written in cslir's files, only referenced; they are resolved at the moment
of use, and anything that could print or record them passes through ``redact``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from cslir.base.errors import InvalidInput

REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
MASK = "[redacted]"


def resolve(value: str, environ: Mapping[str, str]) -> str:
    """Replace each ``${env:NAME}`` with the variable's value; a missing one is an error."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in environ:
            raise InvalidInput(
                f"environment variable {name} is not set (referenced as ${{env:{name}}})"
            )
        return environ[name]

    return REF.sub(one, value)


def missing(value: str, environ: Mapping[str, str]) -> list[str]:
    return [m.group(1) for m in REF.finditer(value) if m.group(1) not in environ]


def redact(text: str, secrets: Iterable[str]) -> str:
    """Mask every secret (longest first, so a URL goes before the token inside it)."""
    for s in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(s, MASK)
    return text
