"""Every YAML file cslir ships, scaffolds or tests with reads the same with either PyYAML loader.

cslir composes with libyaml's C loader where it exists and with PyYAML's pure-Python loader
where it does not; the two disagree on some plain scalars in flow collections (the pure scanner
ends a flow scalar at ``?``, so ``{en: Who is it?, zh: ...}`` fails there). A file that only one
of them reads is a playbook that breaks on the next machine without libyaml.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tools
import yaml

from cslir.opsrepo import yamlload

REPO = Path(__file__).resolve().parents[1]
# Folders whose YAML files are meant to load: the example ops repo, the scaffold, the fixtures.
ROOTS = ("cslir.yaml", "playbooks", "notifiers", "drills", "cslir/data/scaffold", "tests")


def yaml_files() -> list[Path]:
    found: list[Path] = []
    for name in ROOTS:
        top = REPO / name
        found += [top] if top.is_file() else sorted(top.rglob("*.yaml"))
    # broken samples are broken on purpose (a tab, a python tag): both loaders refuse them
    return [p for p in found if "invalid" not in p.relative_to(REPO).parts]


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_the_file_list_covers_what_cslir_ships() -> None:
    names = {_rel(p) for p in yaml_files()}
    assert {"playbooks/leak.yaml", "cslir/data/scaffold/playbooks/leak.yaml",
            "drills/leak-quarterly.yaml", "cslir.yaml"} <= names  # fmt: skip


@pytest.mark.parametrize("path", yaml_files(), ids=_rel)
def test_both_loaders_read_the_same_data_at_the_same_places(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not hasattr(yaml, "CSafeLoader"):
        tools.missing("PyYAML was built without libyaml: the C loader cannot be compared")
    monkeypatch.setattr(yamlload, "_Loader", yaml.CSafeLoader)
    with_c = yamlload.load(path)
    monkeypatch.setattr(yamlload, "_Loader", yaml.SafeLoader)
    pure = yamlload.load(path)
    assert pure.data == with_c.data
    assert (pure.locs, pure.key_locs) == (with_c.locs, with_c.key_locs)
