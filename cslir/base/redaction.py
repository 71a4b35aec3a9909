"""Hiding secrets in text: every known secret replaced by ``[redacted]``.

Which strings are secret is the caller's to say (``notify.channels.redaction.secrets_of`` for
a route); this only replaces them.
"""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"
MIN_SECRET = 4  # shorter strings are no secret and replacing them would shred the text


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in ``text`` with ``[redacted]``, longest first.

    Longest first, so that a whole URL goes before the token inside it leaves a stub behind.
    """
    usable = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
    for secret in usable:
        text = text.replace(secret, REDACTED)
    return text
