"""The pieces every file's shape is built from: id, name and duration patterns, text in
one language or several, and a legal basis.

The shapes themselves are in ``playbookschema`` (playbooks and step files) and ``schemas``
(routes, drills, settings, and the table of every kind).
"""

from __future__ import annotations

from cslir.opsrepo.spec import Str, Type
from cslir.opsrepo.speccompound import ListOf, MapOf, OneOf

ID = r"[a-z0-9][a-z0-9_-]*"
ID_MSG = "is not a valid id: use lower-case letters, digits, '-' and '_'"
NAME = r"[a-z_][a-z0-9_]*"
NAME_MSG = (
    "is not a valid input name: use lower-case letters, digits and '_' (it is used in expressions)"
)
LANG = r"[a-z]{2}(-[A-Za-z]{2,4})?"
DURATION = r"\s*[0-9]+\s*(s|m|h|d|wd)\s*"
DURATION_MSG = "is not a duration: write a number and a unit, as in 30m, 4h, 30d or 10wd"


def text(description: str = "") -> Type:
    """A text field: a string, or a mapping of language to string ({en: ..., zh: ...})."""
    return OneOf(
        (
            Str(),
            MapOf(
                Str(),
                key_pattern=LANG,
                key_message="is not a language code such as en or zh",
                min_items=1,
            ),
        ),
        expected="text or a mapping of language to text",
        description=description,
    )


def duration(description: str = "") -> Str:
    return Str(DURATION, DURATION_MSG, description=description)


def ident(description: str = "") -> Str:
    return Str(ID, ID_MSG, description=description)


def expr(description: str) -> Str:
    return Str(description=description)


BASIS = OneOf(
    (Str(), ListOf(Str(), min_items=1)),
    expected="text or a list of text",
    description="The law and article this rests on, e.g. 'PIPL Art 57'.",
)
