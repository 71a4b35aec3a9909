"""Safe YAML loading that remembers where every value came from.

Only the YAML core types are accepted, through PyYAML's safe composer (the C one when
present). The composed node graph is checked before anything is built from it: duplicate keys,
non-standard tags (``!!python/...`` and friends), merge keys, alias-expansion bombs, tabs in
indentation, bytes that are not UTF-8, oversized and empty files all get a located message.

The result is plain Python data plus a table from each value's path (``("steps", 2, "needs")``)
to its line and column, so that validators can work on ordinary dicts and lists and still point
at the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cslir.base.files import open_regular
from cslir.opsrepo.diagnostics import Diagnostic

MAX_BYTES = 1024 * 1024
MAX_EXPANDED_NODES = 100_000

PathKey = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlError(Exception):
    """A document that cannot be loaded; carries one located diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.format())
        self.diagnostic = diagnostic


@dataclass(frozen=True)
class Document:
    """Loaded YAML: the data and where each part of it stands in the file."""

    path: str
    text: str
    data: dict[str, Any]
    # path -> (line, col) of the value; key_locs: path -> (line, col) of the mapping key
    locs: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_locs: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def loc(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """The nearest known location of ``path`` (walking up to its parents)."""
        table = self.key_locs if key else self.locs
        p = path
        while p:
            if p in table:
                return table[p]
            if p in self.locs:
                return self.locs[p]
            p = p[:-1]
        return self.locs.get((), (1, 1))


def _fail(path: str, line: int, col: int, message: str) -> YamlError:
    return YamlError(Diagnostic(path, line, col, "error", message))


def _decode(path: str, raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise _fail(path, 1, 1, f"file is larger than 1 MiB ({MAX_BYTES} bytes); split it")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        line = before.count(b"\n") + 1
        col = len(before.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")) + 1
        raise _fail(
            path, line, col, f"byte 0x{raw[e.start]:02x} is not UTF-8; save the file as UTF-8"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def _check_tabs(path: str, text: str) -> None:
    """PyYAML's own message for a tab in indentation is cryptic; say it plainly."""
    in_block_scalar = False
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        if in_block_scalar and (not stripped or indent.startswith(" ")):
            continue
        in_block_scalar = False
        if "\t" in indent and stripped and not stripped.startswith("#"):
            raise _fail(path, n, indent.index("\t") + 1, "tab in indentation; indent with spaces")
        body = stripped.split(" #", 1)[0].rstrip()
        if body.endswith(("|", ">", "|-", ">-", "|+", ">+")):
            in_block_scalar = True


def _compose(path: str, text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.reader.ReaderError as e:  # a character YAML forbids: say where, on one line
        before = text[: e.position]
        line, col = before.count("\n") + 1, e.position - before.rfind("\n")
        char = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or " ")
        raise _fail(path, line, col, f"invalid YAML: {e.reason} (U+{char:04X} here); remove it"
                    ) from None  # fmt: skip
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = e.problem or e.context or "invalid YAML"
        if e.context and e.problem:
            problem = f"{e.problem} ({e.context})"
            start = e.context_mark
            if start and mark and start.line != mark.line:  # the cause is often where it opened
                problem = f"{e.problem} ({e.context} that starts at line {start.line + 1})"
        raise _fail(path, line, col, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as e:
        raise _fail(path, 1, 1, f"invalid YAML: {str(e).splitlines()[0]}") from None


class _Builder:
    """Turns a checked node graph into plain data, recording locations as it goes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.locs: dict[PathKey, tuple[int, int]] = {}
        self.key_locs: dict[PathKey, tuple[int, int]] = {}
        self._sizes: dict[int, int] = {}
        self._constructor = yaml.constructor.SafeConstructor()

    def _where(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def expanded_size(self, node: yaml.Node, depth: int = 0) -> int:
        """Nodes after alias expansion, memoised so a billion-laughs graph costs little."""
        key = id(node)
        if key in self._sizes:
            return self._sizes[key]
        if depth > 200:
            raise _fail(self.path, *self._where(node), "nesting deeper than 200 levels")
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self.expanded_size(n, depth + 1) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                size += self.expanded_size(k, depth + 1) + self.expanded_size(v, depth + 1)
        self._sizes[key] = min(size, MAX_EXPANDED_NODES + 1)
        return self._sizes[key]

    def build(self, node: yaml.Node, at: PathKey) -> Any:
        self.locs.setdefault(at, self._where(node))
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            if tag not in _SCALAR_TAGS:
                raise _fail(self.path, *self._where(node), _tag_message(tag))
            if tag.endswith(":timestamp"):
                return node.value  # kept as written; typed fields parse it
            return self._constructor.construct_object(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            if tag != f"{_CORE}seq":
                raise _fail(self.path, *self._where(node), _tag_message(tag))
            return [self.build(item, (*at, i)) for i, item in enumerate(node.value)]
        if not isinstance(node, yaml.MappingNode) or tag != f"{_CORE}map":
            raise _fail(self.path, *self._where(node), _tag_message(tag))
        out: dict[str, Any] = {}
        for knode, vnode in node.value:
            if knode.tag == f"{_CORE}merge":
                raise _fail(
                    self.path,
                    *self._where(knode),
                    "merge keys (<<) are not supported; write the keys out",
                )
            if not isinstance(knode, yaml.ScalarNode) or knode.tag not in _SCALAR_TAGS:
                raise _fail(self.path, *self._where(knode), "mapping keys must be plain text")
            key = str(self._constructor.construct_object(knode))
            if key in out:
                first = self.key_locs[(*at, key)]
                raise _fail(
                    self.path,
                    *self._where(knode),
                    f"duplicate key '{key}' (first defined at line {first[0]})",
                )
            self.key_locs[(*at, key)] = self._where(knode)
            out[key] = self.build(vnode, (*at, key))
        return out


def _tag_message(tag: str) -> str:
    shown = tag.replace(_CORE, "!!")
    return f"tag '{shown}' is not allowed; only plain YAML values (text, numbers, lists, maps)"


def loads(text_or_bytes: str | bytes, path: str = "<string>") -> Document:
    """Load one YAML document from text or bytes; raise YamlError with a located message."""
    text = _decode(path, text_or_bytes) if isinstance(text_or_bytes, bytes) else text_or_bytes
    if isinstance(text_or_bytes, str) and len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _fail(path, 1, 1, f"file is larger than 1 MiB ({MAX_BYTES} bytes); split it")
    _check_tabs(path, text)
    node = _compose(path, text)
    if node is None:
        raise _fail(path, 1, 1, "file is empty; expected a mapping such as 'cslir: 1'")
    builder = _Builder(path)
    if builder.expanded_size(node) > MAX_EXPANDED_NODES:
        raise _fail(
            path,
            *builder._where(node),
            f"aliases expand to more than {MAX_EXPANDED_NODES} values; refusing to load",
        )
    data = builder.build(node, ())
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({data!r:.40})"
        raise _fail(path, *builder._where(node), f"top level is {kind}; expected a mapping")
    return Document(path, text, data, builder.locs, builder.key_locs)


def load(path: str | Path, display: str | None = None) -> Document:
    """Load a YAML file; ``display`` is the path to show in messages."""
    shown = display or str(path)
    try:
        with open_regular(path) as f:  # a FIFO or a device is refused, never read
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise _fail(shown, 1, 1, f"cannot read file: {e.strerror}") from None
    return loads(_decode(shown, raw), shown)
