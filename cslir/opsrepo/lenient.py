"""Reading a document's values as the shape they should have, or as empty.

The meaning checks run even when the shape is wrong, so that all problems show at once; these
readers never trip over a wrong shape (the schema reports it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def entries(value: Any) -> Iterable[tuple[str, Any]]:
    return value.items() if isinstance(value, dict) else ()


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def ids_of(value: Any) -> list[str]:
    """A ``stops:`` value (one id or a list of them) as a list of the ids in it."""
    return [value] if isinstance(value, str) else [v for v in listed(value) if isinstance(v, str)]


def dicts(value: Any) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in entries(value) if isinstance(v, dict)}


def text_fields(value: Any) -> Iterable[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield (), value
    elif isinstance(value, dict):
        for lang, s in value.items():
            if isinstance(s, str):
                yield (lang,), s
