"""The exported JSON Schema and cslir's own validator agree, and the shipped files keep current.

Editors check playbooks with the JSON Schema that ``cslir schema KIND`` prints; ``cslir validate``
checks them with the declarative spec it was generated from. An independent JSON Schema
implementation (``jsonschema``) must accept every valid sample and reject exactly the invalid
samples whose fault is one of shape (marked ``# structural`` on their second line); samples whose
fault is one of meaning (references, cycles, templates, secrets) pass both shape checks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from cslir.__main__ import main
from cslir.opsrepo import yamlload
from cslir.opsrepo.schemafiles import FILENAMES
from cslir.opsrepo.schemas import KINDS

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
SCAFFOLD = REPO / "cslir" / "data" / "scaffold"
FOLDER_KIND = {
    "playbooks": "playbook",
    "notifiers": "route",
    "routes": "route",
    "drills": "drill",
    "settings": "settings",
    "shared": "steps",
}
SCHEMA_KINDS = ("playbook", "route", "drill", "settings", "steps")


def kind_of(path: Path) -> str:
    if path.name == "cslir.yaml":
        return "settings"
    for part in reversed(path.parent.parts):
        if part in FOLDER_KIND:
            return FOLDER_KIND[part]
    raise AssertionError(f"no kind for {path}")


def shipped_yaml() -> list[Path]:
    """The YAML files this project ships: the example ops repo and the scaffold copy of it."""
    files = [REPO / "cslir.yaml", *sorted(SCAFFOLD.rglob("*.yaml"))]
    for folder in ("playbooks", "playbooks/shared", "notifiers", "drills"):
        files += sorted((REPO / folder).glob("*.yaml"))
    return files


def samples(validity: str) -> list[Path]:
    found = [p for p in TESTS.glob(f"*/{validity}/*.yaml")]
    found += TESTS.glob(f"settings/{validity}/*/cslir.yaml")
    return sorted(found)


def valid_documents() -> list[Path]:
    return [*samples("valid"), TESTS / "playbooks" / "notifiers" / "routes.yaml", *shipped_yaml()]


def is_structural(path: Path) -> bool:
    return path.read_text(encoding="utf-8").split("\n")[1] == "# structural"


def loadable(paths: list[Path]) -> list[Path]:
    """Samples whose fault lies past the loader (a document jsonschema can be given)."""
    out = []
    for p in paths:
        try:
            yamlload.load(p)
        except yamlload.YamlError:
            continue
        out.append(p)
    return out


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def exported(kind: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["schema", kind]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


@pytest.fixture(scope="module")
def validators() -> dict[str, Draft202012Validator]:
    from cslir.opsrepo.schemafiles import render_schema

    out = {}
    for kind in SCHEMA_KINDS:
        schema = json.loads(render_schema(kind))
        Draft202012Validator.check_schema(schema)
        out[kind] = Draft202012Validator(schema)
    return out


def spec_problems(kind: str, data: Any) -> list[str]:
    found: list[str] = []
    KINDS[kind][0].check(data, (), lambda at, message, key: found.append(message))
    return found


def schema_problems(validator: Draft202012Validator, data: Any) -> list[str]:
    return [e.message for e in validator.iter_errors(data)]


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_exported_schema_is_a_valid_draft_2020_12_schema(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = json.loads(exported(kind, capsys))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://cslir.dev/schema/{FILENAMES[kind]}"


@pytest.mark.parametrize("path", valid_documents(), ids=_rel)
def test_valid_document_passes_both_jsonschema_and_the_spec(
    path: Path, validators: dict[str, Draft202012Validator]
) -> None:
    data = yamlload.load(path).data
    kind = kind_of(path)
    assert schema_problems(validators[kind], data) == []
    assert spec_problems(kind, data) == []


@pytest.mark.parametrize("path", [p for p in samples("invalid") if is_structural(p)], ids=_rel)
def test_structural_fault_is_rejected_by_both_jsonschema_and_the_spec(
    path: Path, validators: dict[str, Draft202012Validator]
) -> None:
    data = yamlload.load(path).data
    kind = kind_of(path)
    assert schema_problems(validators[kind], data) != []
    assert spec_problems(kind, data) != []


@pytest.mark.parametrize(
    "path", [p for p in loadable(samples("invalid")) if not is_structural(p)], ids=_rel
)
def test_fault_of_meaning_passes_both_shape_checks(
    path: Path, validators: dict[str, Draft202012Validator]
) -> None:
    """Keeps the ``# structural`` marks honest: an unmarked sample has the right shape."""
    data = yamlload.load(path).data
    kind = kind_of(path)
    assert schema_problems(validators[kind], data) == []
    assert spec_problems(kind, data) == []


def test_there_are_structural_samples_of_every_kind() -> None:
    kinds = {kind_of(p) for p in samples("invalid") if is_structural(p)}
    assert kinds == set(SCHEMA_KINDS)


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_committed_schema_file_equals_cslir_schema_output_byte_for_byte(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = (REPO / "schema" / FILENAMES[kind]).read_bytes()
    assert exported(kind, capsys).encode("utf-8") == committed, (
        f"schema/{FILENAMES[kind]} is stale: run `cslir schema {kind} > schema/{FILENAMES[kind]}`"
    )


def test_schema_folder_holds_exactly_the_exported_kinds_and_the_report_schema() -> None:
    # report.schema.json describes cslir's output (cslir report --format json), not an input file
    expected = sorted([*FILENAMES.values(), "report.schema.json"])
    assert sorted(p.name for p in (REPO / "schema").iterdir()) == expected


@pytest.mark.parametrize("path", shipped_yaml(), ids=_rel)
def test_shipped_yaml_starts_with_a_modeline_naming_its_schema(path: Path) -> None:
    base = SCAFFOLD if SCAFFOLD in path.parents else REPO
    target = base / "schema" / FILENAMES[kind_of(path)]
    rel = Path(os.path.relpath(target, path.parent)).as_posix()
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == f"# yaml-language-server: $schema={rel}"


def test_modelines_of_the_example_repo_point_at_files_that_exist() -> None:
    for path in shipped_yaml():
        if SCAFFOLD not in path.parents:
            first = path.read_text(encoding="utf-8").split("\n", 1)[0]
            assert (path.parent / first.split("$schema=", 1)[1]).is_file(), _rel(path)


@pytest.mark.parametrize("path", sorted(SCAFFOLD.rglob("*.yaml")), ids=_rel)
def test_scaffold_copy_equals_the_example_repo_file(path: Path) -> None:
    original = REPO / path.relative_to(SCAFFOLD)
    assert path.read_bytes() == original.read_bytes(), (
        f"{_rel(path)} differs from {_rel(original)}: copy the example repo file over it"
    )


def test_scaffold_carries_every_kind_of_ops_file() -> None:
    assert {kind_of(p) for p in SCAFFOLD.rglob("*.yaml")} == set(SCHEMA_KINDS)


def test_package_data_ships_every_scaffold_file() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    package = REPO / "cslir"
    shipped = {
        p
        for pattern in config["tool"]["setuptools"]["package-data"]["cslir"]
        for p in package.glob(pattern)
        if p.is_file()
    }
    assert sorted(set(SCAFFOLD.rglob("*.yaml")) - shipped) == []
