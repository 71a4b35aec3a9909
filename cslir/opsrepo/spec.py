"""A small declarative type language for cslir's YAML files.

One description serves twice: it checks loaded data (reporting every problem at its path, with
"did you mean" hints) and it exports JSON Schema 2020-12 for editors. We write it ourselves
rather than use a model library because the messages must name the YAML line and column and
speak a playbook author's language, and because ``cslir validate`` must start like a small
script; the JSON Schema it exports is checked against an independent validator in the tests.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


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


def _sized(
    shape: Type,
    value: Any,
    kind: type[list[Any]] | type[dict[Any, Any]],
    min_items: int,
    noun: str,
    at: PathKey,
    report: Report,
) -> bool:
    """Whether ``value`` is a ``kind`` whose items to check; reports it when it is too short."""
    if not isinstance(value, kind):
        shape.wrong_type(value, at, report)
        return False
    if len(value) < min_items:
        report(at, f"{show_path(at)} must have at least {_count(min_items, noun)}", False)
    return True


@dataclass
class ListOf(Type):
    item: Type = field(default_factory=AnyValue)
    min_items: int = 0
    description: str = ""

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "a list"

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        if _sized(self, value, list, self.min_items, "item", at, report):
            for i, v in enumerate(value):
                self.item.check(v, (*at, i), report)

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "array", "items": self.item.json_schema()}
        if self.min_items:
            s["minItems"] = self.min_items
        return s


@dataclass
class MapOf(Type):
    value: Type = field(default_factory=AnyValue)
    key_pattern: str | None = None
    key_message: str = ""
    min_items: int = 0
    description: str = ""
    expected: str = "a mapping"

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        if not _sized(self, value, dict, self.min_items, "entry", at, report):
            return
        for k, v in value.items():
            if self.key_pattern and not re.fullmatch(self.key_pattern, k):
                report((*at, k), f"{show_path(at)}: '{k}' {self.key_message}", True)
            self.value.check(v, (*at, k), report)

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "object", "additionalProperties": self.value.json_schema()}
        if self.key_pattern:
            s["propertyNames"] = {"pattern": f"^(?:{self.key_pattern})$"}
        if self.min_items:
            s["minProperties"] = self.min_items
        return s


@dataclass
class OneOf(Type):
    """Either of a few shapes, told apart by the YAML kind (text, list, mapping...)."""

    options: tuple[Type, ...] = ()
    expected: str = "a value"
    description: str = ""

    def _pick(self, value: Any) -> Type | None:
        for opt in self.options:
            errors: list[str] = []
            opt.check(value, (), lambda p, m, k, errors=errors: errors.append(m))  # type: ignore[misc]
            if not errors:
                return opt
        for opt in self.options:  # same YAML kind: let it report its own precise problem
            if _same_kind(opt, value):
                return opt
        return None

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        opt = self._pick(value)
        if opt is None:
            self.wrong_type(value, at, report)
        else:
            opt.check(value, at, report)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [o.json_schema() for o in self.options]}


def _same_kind(t: Type, value: Any) -> bool:
    if isinstance(t, Str | Enum):
        return isinstance(value, str)
    if isinstance(t, ListOf):
        return isinstance(value, list)
    if isinstance(t, MapOf | Obj):
        return isinstance(value, dict)
    if isinstance(t, OneOf):
        return any(_same_kind(o, value) for o in t.options)
    return False


@dataclass
class Obj(Type):
    name: str = "mapping"
    fields: Mapping[str, Type] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    description: str = ""
    expected: str = "a mapping"
    # keys that belong to sibling shapes (e.g. other step kinds): name -> where it belongs
    elsewhere: Mapping[str, str] = field(default_factory=dict)

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        if not isinstance(value, dict):
            self.wrong_type(value, at, report)
            return
        for key in self.required:
            if key not in value:
                report(at, f"{self.name} is missing required key '{key}'", False)
        for key, v in value.items():
            t = self.fields.get(key)
            if t is not None:
                t.check(v, (*at, key), report)
            elif key in self.elsewhere:
                report(
                    (*at, key),
                    f"'{key}' is not a field of a {self.name}; it belongs to {self.elsewhere[key]}",
                    True,
                )
            else:
                hint = did_you_mean(key, list(self.fields))
                report((*at, key), f"unknown key '{key}' in {self.name}{hint}", True)

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {
            "type": "object",
            "properties": {k: t.json_schema() for k, t in self.fields.items()},
            "additionalProperties": False,
        }
        if self.required:
            s["required"] = list(self.required)
        return s


@dataclass
class Tagged(Type):
    """A mapping whose allowed keys depend on a discriminating key (a step's ``kind``)."""

    key: str = "kind"
    default: str = ""
    variants: Mapping[str, Obj] = field(default_factory=dict)
    description: str = ""
    expected: str = "a mapping"

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        if not isinstance(value, dict):
            self.wrong_type(value, at, report)
            return
        tag = value.get(self.key, self.default)
        variant = self.variants.get(tag) if isinstance(tag, str) else None
        if variant is None:
            Enum(tuple(self.variants)).check(tag, (*at, self.key), report)
            return
        variant.check(value, at, report)

    def schema(self) -> dict[str, Any]:
        rules: list[dict[str, Any]] = []
        for tag, obj in self.variants.items():
            cond: dict[str, Any] = {
                "properties": {self.key: {"const": tag}},
                "required": [self.key],
            }
            if tag == self.default:
                cond = {"anyOf": [cond, {"not": {"required": [self.key]}}]}
            rules.append({"if": cond, "then": obj.json_schema()})
        return {
            "type": "object",
            "properties": {self.key: {"enum": list(self.variants)}},
            "allOf": rules,
        }


def to_json_schema(root: Type, *, title: str, schema_id: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        "title": title,
        **root.json_schema(),
    }


@dataclass
class Keyed(Type):
    """A mapping that is one shape when it holds ``key`` and another when it does not
    (a playbook's ``- include: FILE`` beside its steps)."""

    key: str = ""
    with_key: Type = field(default_factory=AnyValue)
    without: Type = field(default_factory=AnyValue)
    description: str = ""
    expected: str = "a mapping"

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        chosen = self.with_key if isinstance(value, dict) and self.key in value else self.without
        chosen.check(value, at, report)

    def schema(self) -> dict[str, Any]:
        return {
            "if": {"type": "object", "required": [self.key]},
            "then": self.with_key.json_schema(),
            "else": self.without.json_schema(),
        }


@dataclass
class Refused(Type):
    """A shape that is never right here; the message says what to do instead."""

    message: str = ""
    description: str = ""

    def check(self, value: Any, at: PathKey, report: Report) -> None:
        report(at, self.message, False)

    def schema(self) -> dict[str, Any]:
        return {"not": {}}
