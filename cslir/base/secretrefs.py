"""Secret references (``${env:NAME}``): the one pattern, and resolving it at the moment of use.

Secrets are never written in cslir's files, only referenced: the checks of route files and
playbooks hold values to ``ENV_REF``, and the sender resolves them from the environment just
before a request. Anything that could print or record a resolved value passes through
``cslir.base.redaction.redact``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from cslir.base.errors import InvalidInput

ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def resolve(value: str, environ: Mapping[str, str]) -> str:
    """Replace each ``${env:NAME}`` with the variable's value; a missing one is an error."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in environ:
            raise InvalidInput(
                f"environment variable {name} is not set (referenced as ${{env:{name}}})"
            )
        return environ[name]

    return ENV_REF.sub(one, value)


def missing(value: str, environ: Mapping[str, str]) -> list[str]:
    return [m.group(1) for m in ENV_REF.finditer(value) if m.group(1) not in environ]
