"""A small declarative type language for cslir's YAML files.

One description serves twice: it checks loaded data (reporting every problem at its path, with
"did you mean" hints) and it exports JSON Schema 2020-12 for editors. We write it ourselves
rather than use a model library because the messages must name the YAML line and column and
speak a playbook author's language, and because ``cslir validate`` must start like a small
script; the JSON Schema it exports is checked against an independent validator in the tests.

Here: the base ``Type``, the leaves (text, numbers, true/false, constants, enums, anything,
refused) and the export; lists, mappings, objects and choices of shape are in ``speccompound``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cslir.opsrepo.diagnostics import did_you_mean

PathKey = tuple[str | int, ...]
# report(path, message, at_key): at_key points the message at the mapping key, not the value
Report = Callable[[PathKey, str, bool], None]


def show_path(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "the top level"


def kind_of(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class Type(ABC):
    """Base of all spec types."""

    expected = "a value"
    description = ""

    @abstractmethod
    def check(self, value: Any, at: PathKey, report: Report) -> None:
        """Report every problem of ``value`` (found at path ``at``)."""

    @abstractmethod
    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this type, without its description."""

    def json_schema(self) -> dict[str, Any]:
        s = self.schema()
        if self.description:
            s = {"description": self.description, **s}
        return s

    def wrong_type(self, value: Any, at: PathKey, report: Report) -> None:
        hint = " (put it in quotes)" if isinstance(value, int | float | bool) else ""
        if self.expected == "text" and hint:
            report(at, f"{show_path(at)} must be text, not {kind_of(value)}{hint}", False)
        else:
            report(at, f"{show_path(at)} must be {self.expected}, not {kind_of(value)}", False)


@dataclass
class Str(Type):
    pattern: str | None = None
    pattern_message: str = ""
    description: str = ""
    expected: str = "text"

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        scalar = isinstance(value, int | float | bool)
        if scalar and self.pattern and not re.fullmatch(self.pattern, str(value)):
            # `estimate: 30` quoted is still no duration: say what is, not "put it in quotes"
            report(at, f"{show_path(at)}: {value!r} {self.pattern_message}", False)
        elif not isinstance(value, str):
            self.wrong_type(value, at, report)
        elif not value.strip():
            report(at, f"{show_path(at)} must not be empty", False)
        elif self.pattern and not re.fullmatch(self.pattern, value):
            report(at, f"{show_path(at)}: '{value}' {self.pattern_message}", False)

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": r"\S"}
        if self.pattern:
            s["pattern"] = f"^(?:{self.pattern})$"
        return s


@dataclass
class Int(Type):
    minimum: int | None = None
    description: str = ""
    expected: str = "a whole number"

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong_type(value, at, report)
        elif self.minimum is not None and value < self.minimum:
            report(at, f"{show_path(at)} must be at least {self.minimum}, not {value}", False)

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            s["minimum"] = self.minimum
        return s


@dataclass
class Bool(Type):
    description: str = ""
    expected: str = "true or false"

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        if not isinstance(value, bool):
            self.wrong_type(value, at, report)

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass
class Const(Type):
    value: Any = None
    description: str = ""

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        if value != self.value or isinstance(value, bool) != isinstance(self.value, bool):
            report(at, f"{show_path(at)} must be {self.value!r}, not {value!r}", False)

    def schema(self) -> dict[str, Any]:
        return {"const": self.value}


@dataclass
class Enum(Type):
    values: tuple[str, ...] = ()
    description: str = ""

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        if not isinstance(value, str) or value not in self.values:
            hint = did_you_mean(value, self.values) if isinstance(value, str) else ""
            report(
                at,
                f"{show_path(at)} must be one of {', '.join(self.values)}, not {value!r}{hint}",
                False,
            )

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


@dataclass
class AnyValue(Type):
    description: str = ""

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        return None

    def schema(self) -> dict[str, Any]:
        return {}


@dataclass
class Refused(Type):
    """A shape that is never right here; the message says what to do instead."""

    message: str = ""
    description: str = ""

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        report(at, self.message, False)

    def schema(self) -> dict[str, Any]:
        return {"not": {}}


def to_json_schema(root: Type, *, title: str, schema_id: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "title": title,
        **root.json_schema(),
    }
