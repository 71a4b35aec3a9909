"""The report's own words in English and Simplified Chinese: one table, not two templates.

The table is data (``cslir/data/labels.toml``), read once, when a report is first built.

Templates look labels up by key (``t.clocks``); the report model uses the ``ev.*`` sentences to
describe events in the timeline. A key missing from a language is a test failure, never a blank.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from functools import cached_property
from importlib import resources

LANGS = ("en", "zh")


class _Table(Mapping[str, tuple[str, ...]]):
    """The labels file (``cslir/data/labels.toml``), read at the first look and kept:
    key -> its text in each of LANGS, in that order."""

    @cached_property
    def _rows(self) -> dict[str, tuple[str, ...]]:
        text = (resources.files("cslir") / "data" / "labels.toml").read_text(encoding="utf-8")
        return {key: tuple(texts) for key, texts in tomllib.loads(text).items()}

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self._rows[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


_TABLE = _Table()


def labels(lang: str) -> dict[str, str]:
    """Every label in ``lang`` (``en`` or ``zh``)."""
    if lang not in LANGS:
        raise ValueError(f"no labels for language {lang!r}; choose one of {', '.join(LANGS)}")
    i = LANGS.index(lang)
    return {key: texts[i] for key, texts in _TABLE.items()}


def state_word(table: Mapping[str, str], code: str | None) -> str:
    """A state code (``met``, ``done``...) in words, or the code itself if it is new to us."""
    if code is None:
        return table["nothing"]
    return table.get(f"s.{code}", code)
