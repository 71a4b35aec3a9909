"""Recorded text shown safely: control sequences in notes never reach a terminal or report.md."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from runkit import cslir, cslir_env, make_ops, only_run

HOSTILE = "called CAC\x1b]52;c;ZXZpbA==\x07 then\x1b[2J cleared\x9b31m red"


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    root = make_ops(tmp_path, "sealed")
    env = cslir_env(tmp_path, root)
    assert cslir("run", "playbooks/sealed.yaml", "--auto", env=env, cwd=root).returncode == 0
    rid = only_run(tmp_path)
    assert cslir("note", rid, HOSTILE, env=env, cwd=root).returncode == 0
    return root, env, rid


def test_status_shows_control_characters_as_escapes(run: tuple[Path, dict[str, str], str]) -> None:
    root, env, rid = run
    assert cslir("step", rid, "close", "--fail", "--reason", HOSTILE, env=env,
                 cwd=root).returncode in (0, 1)  # fmt: skip
    out = cslir("status", rid, env=env, cwd=root).stdout
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out


def test_report_md_shows_control_characters_as_escapes(
    run: tuple[Path, dict[str, str], str],
) -> None:
    root, env, rid = run
    md = cslir("report", rid, env=env, cwd=root).stdout
    assert "\x1b" not in md and "\x9b" not in md and "\x07" not in md
    assert "called CAC\\x1b\\]52;c;ZXZpbA==\\x07 then\\x1b\\[2J cleared" in md


def test_report_html_shows_control_characters_as_escapes(
    run: tuple[Path, dict[str, str], str],
) -> None:
    root, env, rid = run
    html = cslir("report", rid, "--format", "html", env=env, cwd=root).stdout
    assert "\x1b" not in html and "\x9b" not in html and "\x07" not in html
    assert "called CAC\\x1b]52;c;ZXZpbA==\\x07 then\\x1b[2J cleared\\x9b31m red" in html


def test_evidence_for_an_unknown_step_is_refused(
    run: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    root, env, rid = run
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(b"%PDF receipt")
    done = cslir("evidence", rid, str(receipt), "--step", "reprot", env=env, cwd=root)
    assert (done.returncode, done.stderr) == (
        1,
        f"cslir: error: no step 'reprot' in run {rid}'s playbook (its steps: contain, grade,"
        " report, close); nothing was recorded\n",
    )


def test_a_short_credential_in_a_query_is_hidden_in_an_error_that_names_the_path() -> None:
    from cslir.base.redaction import redact
    from cslir.notify.channels.model import Target
    from cslir.notify.channels.redaction import secrets_of

    target = Target("hook", "webhook", "https://hooks.example.cn/in?k=ab1", None, None, (), (),
                    False, None, 10.0)  # fmt: skip
    error = (
        "HTTPSConnectionPool(host='hooks.example.cn', port=443): Max retries exceeded with url:"
        " /in?k=ab1 (Caused by NewConnectionError)"
    )
    shown = redact(error, secrets_of(target))
    assert "ab1" not in shown
    assert "with url: [redacted] (Caused by" in shown


@pytest.mark.parametrize(
    ("kind", "named"),
    [("fifo", "a named pipe (FIFO)"), ("device", "a character device")],
)
def test_a_pipe_or_device_as_evidence_is_named_for_what_it_is(
    run: tuple[Path, dict[str, str], str], tmp_path: Path, kind: str, named: str
) -> None:
    root, env, rid = run
    path = Path("/dev/null")
    if kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
    done = cslir("evidence", rid, str(path), env=env, cwd=root, timeout=20)
    assert (done.returncode, done.stderr) == (
        1,
        f"cslir: error: {path}: {named}, not a regular file; give the file itself\n",
    )


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_fifo_given_as_a_playbook_is_refused_without_waiting_for_a_writer(
    tmp_path: Path, command: str
) -> None:
    root = make_ops(tmp_path)
    os.mkfifo(root / "playbooks" / "pipe.yaml")
    argv = [command, "playbooks/pipe.yaml", *(["--auto"] if command == "run" else [])]
    done = cslir(*argv, env=cslir_env(tmp_path, root), cwd=root, timeout=20)
    error = (
        "playbooks/pipe.yaml:1:1: error: cannot read file: a named pipe (FIFO), not a regular file"
    )
    assert done.returncode == 1
    assert error in (done.stdout + done.stderr).splitlines()


def test_validate_of_a_folder_without_yaml_fails_saying_so(tmp_path: Path) -> None:
    root = make_ops(tmp_path)
    (root / "empty").mkdir()
    done = cslir("validate", "empty", env=cslir_env(tmp_path, root), cwd=root)
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        "cslir: error: no YAML files found in empty (*.yaml, *.yml)\n",
    )


def test_validate_of_a_repo_without_yaml_fails_saying_so(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    done = cslir("validate", env=cslir_env(tmp_path, bare), cwd=bare)
    assert (done.returncode, done.stderr) == (
        1,
        f"cslir: error: no YAML files found in {bare} (cslir.yaml, playbooks/, notifiers/,"
        " drills/)\n",
    )
