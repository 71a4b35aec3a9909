"""The command-line surface: help and docs for every command, exit codes, the error funnel, and
how the ops root and the store are found."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cslir.__main__ import main
from cslir.commands.cli import COMMANDS, cli
from cslir.opsrepo.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
OPS_ROOT = REPO / "tests" / "playbooks"
SCAFFOLDED = [
    ".gitignore",
    "cslir.yaml",
    "playbooks/ai-incident.yaml",
    "playbooks/cross-border.yaml",
    "playbooks/leak.yaml",
    "playbooks/regulator-notice.yaml",
    "playbooks/supply-chain.yaml",
    "playbooks/takedown.yaml",
    "playbooks/shared/first-report.yaml",
    "playbooks/shared/grading.yaml",
    "playbooks/shared/legal-hold.yaml",
    "playbooks/shared/leniency-file.yaml",
    "playbooks/shared/open-incident.yaml",
    "notifiers/oncall.yaml",
    "drills/ai-incident-tabletop.yaml",
    "drills/cross-border-tabletop.yaml",
    "drills/leak-quarterly.yaml",
    "drills/regulator-notice-tabletop.yaml",
    "drills/supply-chain-tabletop.yaml",
    "drills/takedown-staging.yaml",
    "schema/playbook.schema.json",
    "schema/route.schema.json",
    "schema/drill.schema.json",
    "schema/settings.schema.json",
    "schema/steps.schema.json",
]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def readme() -> str:
    path = REPO / "README.md"
    if not path.is_file():
        pytest.fail("README.md is missing: it must carry a command table listing every command")
    return path.read_text(encoding="utf-8")


def readme_commands() -> set[str]:
    """Command names in the README's table: rows such as | `cslir validate [PATH...]` | ... |."""
    return set(re.findall(r"^\| `cslir ([a-z][a-z-]*)", readme(), flags=re.MULTILINE))


@pytest.fixture
def no_root_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSLIR_ROOT", raising=False)
    monkeypatch.delenv("CSLIR_STORE", raising=False)


# -- help and docs ------------------------------------------------------------------------------


def test_help_lists_every_command_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(["--help"], capsys)
    flat = " ".join(out.split())  # summaries may wrap
    assert (rc, err) == (0, "")
    for name, (_, _, summary) in COMMANDS.items():
        assert f" {name} {summary}" in flat


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_has_help_text(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert COMMANDS[name][2].strip()
    assert (command.help or "").strip()
    rc, out, err = run([name, "--help"], capsys)
    assert (rc, err) == (0, "")
    assert out.startswith(f"Usage: cslir {name} ")
    first_paragraph = (command.help or "").split("\n\n", 1)[0]
    assert " ".join(first_paragraph.split()) in " ".join(out.split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_appears_in_the_readme_command_table(name: str) -> None:
    assert name in readme_commands(), f"README.md's command table has no row for `cslir {name}`"


def test_readme_command_table_names_only_real_commands() -> None:
    assert readme_commands() - set(COMMANDS) == set()


def test_readme_test_command_is_the_one_ci_runs() -> None:
    def quiet(line: str) -> str:  # CI may quieten pip; the commands must otherwise be the same
        return " ".join(word for word in line.split() if word != "-q")

    command = next(line for line in readme().splitlines() if "pytest" in line and "pip" in line)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert quiet(command) in [quiet(line) for line in ci]


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], *([name, "--help"] for name in sorted(COMMANDS))], ids=str
)
def test_help_does_not_import_the_network_template_or_scheduler_libraries(args: list[str]) -> None:
    probe = (
        "import sys, io, contextlib\n"
        "from cslir.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main({args!r})\n"
        "heavy = {'requests', 'jinja2', 'apscheduler', 'psycopg', 'cryptography'}\n"
        "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout == "0 []\n"


# -- validate -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_root_env")
def test_validate_on_the_project_root_exits_0_without_a_word(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["--root", str(REPO), "validate"], capsys) == (0, "", "")


@pytest.mark.usefixtures("no_root_env")
def test_validate_reads_and_parses_each_file_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cslir.opsrepo import yamlload

    real_load, loads = yamlload.load, []

    def counting(path: Path, *args: object, **kwargs: object) -> yamlload.Document:
        loads.append(Path(path).resolve().relative_to(REPO).as_posix())
        return real_load(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(yamlload, "load", counting)
    assert run(["--root", str(REPO), "validate"], capsys) == (0, "", "")
    assert "playbooks/leak.yaml" in loads and "notifiers/oncall.yaml" in loads
    assert sorted(loads) == sorted(set(loads))


@pytest.mark.usefixtures("no_root_env")
def test_validate_finds_the_root_from_a_subfolder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO / "playbooks")
    assert run(["validate"], capsys) == (0, "", "")


def test_validate_json_output_is_exact(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    sample = "tests/playbooks/invalid/needs-unknown.yaml"
    rc, out, err = run(["--root", str(OPS_ROOT), "validate", "--format", "json", sample], capsys)
    assert out == (
        "[\n"
        "  {\n"
        '    "path": "tests/playbooks/invalid/needs-unknown.yaml",\n'
        '    "line": 9,\n'
        '    "col": 22,\n'
        '    "severity": "error",\n'
        "    \"message\": \"step 'report' needs unknown step 'grade-it' (did you mean 'grade'?)\"\n"
        "  }\n"
        "]\n"
    )
    assert json.loads(out)[0]["line"] == 9
    assert (rc, err) == (1, "")


def test_validate_json_output_of_a_clean_file_is_an_empty_list(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    args = ["--root", str(OPS_ROOT), "validate", "--format", "json", "tests/playbooks/valid"]
    assert run(args, capsys) == (0, "[]\n", "")


# -- init ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_root_env")
def test_init_creates_a_repo_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "ops"
    rc, out, err = run(["init", str(target)], capsys)
    assert (rc, err) == (0, "")
    assert out.splitlines() == [
        *(f"created {target / rel}" for rel in SCAFFOLDED),
        f"next: cd {target} && cslir validate && cslir run playbooks/leak.yaml",
    ]
    assert run(["--root", str(target), "validate"], capsys) == (0, "", "")


def test_init_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "ops"
    assert run(["init", str(target)], capsys)[0] == 0
    (target / "cslir.yaml").write_text("cslir: 1\nname: mine\n", encoding="utf-8")
    assert run(["init", str(target)], capsys) == (
        2,
        "",
        f"cslir: error: {target} already has {', '.join(SCAFFOLDED)}; use --force to overwrite\n",
    )
    assert (target / "cslir.yaml").read_text(encoding="utf-8") == "cslir: 1\nname: mine\n"


def test_init_force_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "ops"
    assert run(["init", str(target)], capsys)[0] == 0
    (target / "cslir.yaml").write_text("cslir: 1\nname: mine\n", encoding="utf-8")
    assert run(["init", "--force", str(target)], capsys)[0] == 0
    assert (target / "cslir.yaml").read_bytes() == (REPO / "cslir.yaml").read_bytes()


def test_init_refuses_even_when_only_one_file_is_in_the_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "leak.yaml").write_text("# mine\n", encoding="utf-8")
    rc, out, err = run(["init", str(tmp_path)], capsys)
    assert (rc, out) == (2, "")
    assert err == (
        f"cslir: error: {tmp_path} already has playbooks/leak.yaml; use --force to overwrite\n"
    )
    assert not (tmp_path / "cslir.yaml").exists()


# -- exit codes and the error funnel ------------------------------------------------------------


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["frobnicate"], capsys) == (
        2,
        "",
        "Usage: cslir [OPTIONS] COMMAND [ARGS]...\n"
        "Try 'cslir --help' for help.\n"
        "\n"
        "Error: No such command 'frobnicate'.\n",
    )


def test_unknown_schema_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(["schema", "runbook"], capsys)
    assert (rc, out) == (2, "")
    assert err.endswith(
        "Error: Invalid value for '{playbook|route|drill|settings|steps}': 'runbook' is not "
        "one of 'playbook', 'route', 'drill', 'settings', 'steps'.\n"
    )


def test_unexpected_exception_is_one_line_and_a_crash_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import cslir.opsrepo.validate

    def explode(paths: list[Path], root: Path, **_: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(cslir.opsrepo.validate, "validate", explode)
    monkeypatch.setenv("CSLIR_CRASH_DIR", str(tmp_path))
    rc, out, err = run(["--root", str(tmp_path), "validate"], capsys)
    match = re.fullmatch(r"cslir: internal error: RuntimeError: boom \(details in (.+)\)\n", err)
    assert match, err
    log = Path(match.group(1))
    assert log.parent == tmp_path
    assert log.name.startswith("cslir-crash-")
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert text.rstrip().endswith("RuntimeError: boom")
    assert (rc, out) == (3, "")


# -- where the ops root and the store are ------------------------------------------------------


def _ops(tmp_path: Path, settings: str = "cslir: 1\n") -> Path:
    root = tmp_path / "ops"
    (root / "playbooks" / "deep").mkdir(parents=True)
    (root / "cslir.yaml").write_text(settings, encoding="utf-8")
    return root


def test_root_option_wins_over_environment_and_working_directory(tmp_path: Path) -> None:
    root = _ops(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    found = load_settings(str(other), environ={"CSLIR_ROOT": str(root)}, cwd=root / "playbooks")
    assert found.root == other.resolve()


def test_root_environment_wins_over_working_directory(tmp_path: Path) -> None:
    root = _ops(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    found = load_settings(environ={"CSLIR_ROOT": str(other)}, cwd=root / "playbooks")
    assert found.root == other.resolve()


def test_root_is_the_nearest_ancestor_holding_cslir_yaml(tmp_path: Path) -> None:
    root = _ops(tmp_path)
    assert load_settings(environ={}, cwd=root / "playbooks" / "deep").root == root.resolve()


def test_root_is_the_nearest_of_two_nested_repos(tmp_path: Path) -> None:
    outer = _ops(tmp_path)
    inner = outer / "playbooks"
    (inner / "cslir.yaml").write_text("cslir: 1\n", encoding="utf-8")
    assert load_settings(environ={}, cwd=inner / "deep").root == inner.resolve()


def test_root_is_the_working_directory_when_no_cslir_yaml_is_found(tmp_path: Path) -> None:
    # tmp_path has no cslir.yaml above it; a stray one would make this test meaningless
    assert not any((p / "cslir.yaml").exists() for p in (tmp_path, *tmp_path.parents))
    assert load_settings(environ={}, cwd=tmp_path).root == tmp_path.resolve()


def test_store_defaults_to_dot_cslir_under_the_root(tmp_path: Path) -> None:
    root = _ops(tmp_path)
    settings = load_settings(environ={}, cwd=root / "playbooks" / "deep")
    assert (settings.root, settings.store) == (root.resolve(), root.resolve() / ".cslir/cslir.db")


def test_store_setting_is_relative_to_the_root(tmp_path: Path) -> None:
    root = _ops(tmp_path, "cslir: 1\nstore: data/incidents.db\n")
    settings = load_settings(environ={}, cwd=root / "playbooks")
    assert settings.store == root.resolve() / "data" / "incidents.db"


def test_store_environment_wins_over_the_setting(tmp_path: Path) -> None:
    root = _ops(tmp_path, "cslir: 1\nstore: data/incidents.db\n")
    elsewhere = tmp_path / "elsewhere.db"
    settings = load_settings(environ={"CSLIR_STORE": str(elsewhere)}, cwd=root)
    assert settings.store == elsewhere


def test_settings_follow_the_root_option(tmp_path: Path) -> None:
    root = _ops(tmp_path, "cslir: 1\nstore: /var/lib/cslir/ops.db\ntimezone: Asia/Shanghai\n")
    settings = load_settings(str(root), environ={}, cwd=tmp_path)
    assert (settings.root, settings.store, settings.timezone) == (
        root.resolve(),
        Path("/var/lib/cslir/ops.db"),
        "Asia/Shanghai",
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [("cslir: 1\nroutes: ic-pager\n", "cslir.yaml:2:9: error: routes must be a mapping, not text"),
     ("cslir: 1\ntimezone: Mars/Olympus\n",
      "cslir.yaml:2:11: error: unknown time zone 'Mars/Olympus' (use an IANA name such as"
      " Asia/Shanghai)")],
)  # fmt: skip
def test_settings_of_the_wrong_shape_are_a_located_error_before_any_command_uses_them(
    tmp_path: Path, text: str, error: str
) -> None:
    """A mutated cslir.yaml once crashed a run (exit 3: 'str' object has no attribute 'get')."""
    from cslir.base.errors import InvalidInput

    root = _ops(tmp_path, text)
    with pytest.raises(InvalidInput) as caught:
        load_settings(environ={}, cwd=root)
    assert caught.value.message == f"{root.resolve()}/{error}"


def test_broken_settings_file_is_a_located_error(tmp_path: Path) -> None:
    from cslir.base.errors import InvalidInput

    root = _ops(tmp_path, "cslir: 1\nstore: [\n")
    with pytest.raises(InvalidInput) as caught:
        load_settings(environ={}, cwd=root)
    assert caught.value.message == (
        f"{root.resolve() / 'cslir.yaml'}:3:1: error: invalid YAML: did not find expected node "
        "content (while parsing a flow node)"
    )
