"""The validator's contract, as sample files: every broken sample prints exactly its diagnostic.

Each file under ``tests/*/invalid/`` (and ``tests/settings/invalid/*/cslir.yaml``) starts with
``# expect: LINE:COL: SEVERITY: MESSAGE``, the one line ``cslir validate`` must print after its
path. One fault per sample: a sample that yields two diagnostics is a sample to fix. Samples are
validated with ``tests/playbooks`` as the ops root, so routes resolve against
``tests/playbooks/notifiers/routes.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cslir.__main__ import main
from cslir.opsrepo import yamlload

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
OPS_ROOT = TESTS / "playbooks"
KINDS = ("playbooks", "routes", "drills", "shared")


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def invalid_samples() -> list[Path]:
    files = [p for kind in KINDS for p in (TESTS / kind / "invalid").glob("*.yaml")]
    return sorted(files + list((TESTS / "settings" / "invalid").glob("*/cslir.yaml")))


def valid_samples() -> list[Path]:
    files = [p for kind in KINDS for p in (TESTS / kind / "valid").glob("*.yaml")]
    files += list((TESTS / "settings" / "valid").glob("*/cslir.yaml"))
    return sorted([*files, OPS_ROOT / "notifiers" / "routes.yaml"])


def expected(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), f"{_rel(path)} must start with '# expect: '"
    return first.removeprefix("# expect: ")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def at_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # paths print relative to the working directory


def test_the_sample_sets_are_as_large_as_promised() -> None:
    per_kind = {kind: len(list((TESTS / kind / "invalid").glob("*.yaml"))) for kind in KINDS}
    assert per_kind["playbooks"] >= 30
    assert per_kind["routes"] >= 3
    assert per_kind["drills"] >= 3
    assert len(list((TESTS / "playbooks" / "valid").glob("*.yaml"))) >= 6


@pytest.mark.parametrize("sample", invalid_samples(), ids=_rel)
@pytest.mark.usefixtures("at_repo")
def test_invalid_sample_prints_exactly_its_expected_diagnostic(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run(["--root", str(OPS_ROOT), "validate", _rel(sample)], capsys)
    assert out.splitlines() == [f"{_rel(sample)}:{expected(sample)}"], (
        "a sample must have exactly one fault; if it printed more than one line, fix the sample"
    )
    assert err == "1 error(s), 0 warning(s)\n"
    assert rc == 1


@pytest.mark.parametrize("sample", valid_samples(), ids=_rel)
@pytest.mark.usefixtures("at_repo")
def test_valid_sample_validates_without_a_word(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--root", str(OPS_ROOT), "validate", _rel(sample)], capsys) == (0, "", "")


def _validate_in(
    folder: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    return run(["--root", str(folder), "validate", name], capsys)


ONE_ERROR = "1 error(s), 0 warning(s)\n"


def test_validating_the_example_repo_parses_each_file_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The drills name the playbooks, the playbooks name routes and include step files that
    # several playbooks share: each is still read once.
    parsed: list[str] = []
    real_load = yamlload.load

    def recording_load(path: str | Path, display: str | None = None) -> yamlload.Document:
        parsed.append(Path(path).resolve().relative_to(REPO).as_posix())
        return real_load(path, display)

    monkeypatch.setattr(yamlload, "load", recording_load)
    assert main(["--root", str(REPO), "validate"]) == 0
    assert capsys.readouterr().out == ""
    playbooks = ["ai-incident", "cross-border", "leak", "regulator-notice", "supply-chain",
                 "takedown"]  # fmt: skip
    shared = ["first-report", "grading", "legal-hold", "leniency-file", "open-incident"]
    assert sorted(parsed) == sorted([
        "cslir.yaml",
        "drills/leak-cii-tabletop.yaml",
        "drills/leak-paging-weekly.yaml",
        "drills/ai-incident-tabletop.yaml",
        "drills/cross-border-tabletop.yaml",
        "drills/leak-quarterly.yaml",
        "drills/regulator-notice-tabletop.yaml",
        "drills/supply-chain-tabletop.yaml",
        "drills/takedown-staging.yaml",
        "notifiers/oncall.yaml",
        *(f"playbooks/{name}.yaml" for name in playbooks),
        *(f"playbooks/shared/{name}.yaml" for name in shared),
    ])  # fmt: skip


def test_file_over_one_mebibyte_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    body = "cslir: 1\nid: big\ntitle: Big\nsteps:\n  - id: a\n"
    (tmp_path / "big.yaml").write_text(body + "# padding\n" * 110_000, encoding="utf-8")
    assert _validate_in(tmp_path, "big.yaml", capsys) == (
        1,
        "big.yaml:1:1: error: file is larger than 1 MiB (1048576 bytes); split it\n",
        ONE_ERROR,
    )


def test_file_of_exactly_one_mebibyte_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    body = b"cslir: 1\nid: big\ntitle: Big\nsteps:\n  - id: a\n#"
    (tmp_path / "big.yaml").write_bytes(body + b"x" * (1024 * 1024 - len(body)))
    assert _validate_in(tmp_path, "big.yaml", capsys) == (0, "", "")


@pytest.mark.parametrize(
    ("raw", "diagnostic"),
    [
        (b"cslir: 1\nid: latin1\ntitle: caf\xe9\n", "3:11: error: byte 0xe9 is not UTF-8"),
        # the same title saved as GBK, as a Windows editor in China may do
        (
            "cslir: 1\nid: gbk\ntitle: 数据泄露\n".encode("gbk"),
            "3:8: error: byte 0xca is not UTF-8",
        ),
    ],
    ids=["latin-1", "gbk"],
)
def test_bytes_that_are_not_utf8_are_located(
    raw: bytes,
    diagnostic: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "enc.yaml").write_bytes(raw)
    assert _validate_in(tmp_path, "enc.yaml", capsys) == (
        1,
        f"enc.yaml:{diagnostic}; save the file as UTF-8\n",
        ONE_ERROR,
    )


def test_utf8_byte_order_mark_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    text = "cslir: 1\nid: bom\ntitle: 带BOM的文件\nsteps:\n  - id: a\n"
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert _validate_in(tmp_path, "bom.yaml", capsys) == (0, "", "")


def test_python_tag_is_refused_without_running_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    (tmp_path / "evil.yaml").write_text(
        f'cslir: 1\nid: !!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8"
    )
    assert _validate_in(tmp_path, "evil.yaml", capsys) == (
        1,
        "evil.yaml:2:5: error: tag '!!python/object/apply:os.system' is not allowed; "
        "only plain YAML values (text, numbers, lists, maps)\n",
        ONE_ERROR,
    )
    assert not marker.exists()


def test_every_problem_in_a_file_is_reported_at_once_in_line_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "three.yaml").write_text(
        "cslir: 1\nid: three\ntitle: Three faults\nsteps:\n"
        "  - id: a\n    owner: nobody\n"
        "  - id: b\n    needs: [c]\n"
        "  - id: a\n",
        encoding="utf-8",
    )
    rc, out, err = run(["--root", str(tmp_path), "validate", "three.yaml"], capsys)
    assert out.splitlines() == [
        "three.yaml:6:12: error: unknown role 'nobody'; declare it under roles:",
        "three.yaml:8:13: error: step 'b' needs unknown step 'c'",
        "three.yaml:9:9: error: duplicate step id 'a' (also steps[0])",
    ]
    assert (rc, err) == (1, "3 error(s), 0 warning(s)\n")


def test_warnings_alone_are_printed_and_exit_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "warn.yaml").write_text(
        "cslir: 1\nid: warn\ntitle: A clock nobody stops\n"
        "clocks:\n  report:\n    from: start\n    due: 4h\n    basis: PIPL Art 57\n"
        "steps:\n  - id: a\n",
        encoding="utf-8",
    )
    rc, out, err = run(["--root", str(tmp_path), "validate", "warn.yaml"], capsys)
    assert out == "warn.yaml:6:5: warning: no step stops clock 'report'; it can only be missed\n"
    assert (rc, err) == (0, "0 error(s), 1 warning(s)\n")


def test_dingtalk_route_without_signing_secret_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notifiers").mkdir()
    (tmp_path / "notifiers" / "ding.yaml").write_text(
        "routes:\n  ding:\n    channel: dingtalk\n    url: ${env:DINGTALK_URL}\n", encoding="utf-8"
    )
    rc, out, err = run(["--root", str(tmp_path), "validate"], capsys)
    assert out == (
        "notifiers/ding.yaml:3:5: warning: route 'ding': DingTalk robot without a signing "
        "secret; add secret: so messages are signed\n"
    )
    assert (rc, err) == (0, "0 error(s), 1 warning(s)\n")


def test_a_path_that_does_not_exist_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(["--root", str(tmp_path), "validate", "nope.yaml"], capsys)
    assert (rc, out, err) == (1, "", "cslir: error: nope.yaml: no such file or directory\n")


HEAD = "cslir: 1\nid: s\ntitle: S\n"


@pytest.mark.parametrize(
    ("body", "diagnostic"),
    [
        ("inputs: [a, b]\nsteps:\n  - id: a\n", "4:9: error: inputs must be a mapping, not a list"),
        (
            "roles: 5\nsteps:\n  - id: a\n    owner: ic\n",
            "4:8: error: roles must be a mapping, not a number",
        ),
        ("steps:\n  a: 1\n", "5:3: error: steps must be a list, not a mapping"),
        (
            "steps:\n  - id: contain\n  - id: grade\n    needs: contain\n",
            "7:12: error: steps[1].needs must be a list, not text",
        ),
        ("inputs:\n  a:\nsteps:\n  - id: a\n", "5:5: error: inputs.a must be a mapping, not empty"),
        (
            "steps:\n  - id: a\n    kind: command\n    run: [x]\n    env: [A]\n",
            "8:10: error: steps[0].env must be a mapping, not a list",
        ),
    ],
    ids=["inputs-list", "roles-number", "steps-mapping", "needs-text", "input-empty", "env-list"],
)
def test_a_shape_fault_is_reported_once_without_follow_on_errors(
    body: str,
    diagnostic: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shape.yaml").write_text(HEAD + body, encoding="utf-8")
    assert _validate_in(tmp_path, "shape.yaml", capsys) == (
        1,
        f"shape.yaml:{diagnostic}\n",
        ONE_ERROR,
    )


def test_a_cycle_is_located_at_its_step_even_after_a_step_without_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    body = "steps:\n  - title: no id\n  - id: b\n    needs: [c]\n  - id: c\n"
    (tmp_path / "cycle.yaml").write_text(HEAD + body, encoding="utf-8")
    assert _validate_in(tmp_path, "cycle.yaml", capsys) == (
        1,
        "cycle.yaml:5:5: error: task step is missing required key 'id'\n"
        "cycle.yaml:7:12: error: steps form a cycle: b -> c -> b\n",
        "2 error(s), 0 warning(s)\n",
    )
