"""The compound types of the spec language: lists, mappings, objects with named fields, and
the shapes chosen among by what a value is (``OneOf``), by a tag (``Tagged``) or by a key
(``Keyed``). The leaves they hold are in ``spec``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cslir.opsrepo.diagnostics import did_you_mean
from cslir.opsrepo.spec import AnyValue, Enum, PathKey, Report, Str, Type, show_path


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


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
