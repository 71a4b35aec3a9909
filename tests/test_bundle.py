"""`cslir export` writes a bundle; `cslir verify bundle.zip` checks it offline and names each
file or event that does not match."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
import reportrun

from cslir.__main__ import main
from cslir.engine.events import verify_chain

GOLDEN = Path(__file__).resolve().parent / "golden"
RECEIPT_SHA = hashlib.sha256(reportrun.RECEIPT).hexdigest()
UNSIGNED = (
    "no verify key (--key, or verify_key in cslir.yaml), and it has no signed checkpoint: this"
    " shows the events agree with each other, not that none was cut off the end or that the"
    " whole chain was not rewritten\n"
)
FINAL_SHA = hashlib.sha256(reportrun.FINAL).hexdigest()


@pytest.fixture
def ops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> reportrun.FixedRun:
    root = tmp_path / "ops"
    root.mkdir()
    (root / "cslir.yaml").write_text("cslir: 1\ntimezone: Asia/Shanghai\n", encoding="utf-8")
    run = reportrun.build(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("CSLIR_ROOT", raising=False)
    monkeypatch.delenv("CSLIR_STORE", raising=False)
    return run


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def bundle(ops: reportrun.FixedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "bundle.zip"
    rc, _, err = cli(["export", reportrun.RUN_ID, "-o", str(path)], capsys)
    assert (rc, err) == (0, "")
    return path


def head_of(run: reportrun.FixedRun) -> str:
    return verify_chain(run.events()).head


def rewrite(src: Path, dst: Path, change: dict[str, bytes | None], add: dict[str, bytes]) -> None:
    """Copy a zip, replacing (or, with None, dropping) some members and adding others."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = change.get(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
        for name, data in add.items():
            zout.writestr(name, data)


def read(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


# -- export ------------------------------------------------------------------------------------


def test_export_says_what_it_wrote_and_verify_agrees(
    ops: reportrun.FixedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.zip"
    head = head_of(ops)
    assert cli(["export", reportrun.RUN_ID, "-o", str(path)], capsys) == (
        0,
        f"{path}: run {reportrun.RUN_ID}, 48 events, 2 evidence files; chain head {head}\n"
        f"check it anywhere with: cslir verify {path}\n",
        "",
    )
    assert cli(["verify", str(path)], capsys) == (
        0,
        f"{path}: run {reportrun.RUN_ID}, 48 events, 2 evidence files; every file matches;"
        f" chain intact; head {head}\n{UNSIGNED}",
        "",
    )


def test_bundle_holds_the_reports_the_events_the_evidence_and_their_hashes(
    ops: reportrun.FixedRun, bundle: Path
) -> None:
    with zipfile.ZipFile(bundle) as zf:
        names = sorted(zf.namelist())
        files = {name: zf.read(name) for name in names}
    reports = ["report.md", "report.html", "report.json"]
    evidence = [f"evidence/{RECEIPT_SHA}", f"evidence/{FINAL_SHA}"]
    assert names == sorted(["manifest.json", "events.jsonl", *reports, *evidence])
    manifest = json.loads(files["manifest.json"])
    assert manifest["chain_head"] == head_of(ops)
    assert manifest["report"] == {
        "lang": "en",
        "timezone": reportrun.TZ,
        "as_of": manifest["as_of"],
    }
    assert (manifest["bundle_version"], manifest["run"], manifest["events"]) == (
        2,
        reportrun.RUN_ID,
        48,
    )
    assert manifest["files"] == {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in files.items()
        if name != "manifest.json"
    }
    lines = files["events.jsonl"].decode().splitlines()
    assert [json.loads(line) for line in lines] == [e.to_json() for e in ops.events()]
    assert files[f"evidence/{RECEIPT_SHA}"] == reportrun.RECEIPT
    assert files["report.md"] == (GOLDEN / "report.en.md").read_bytes()
    assert files["report.json"] == (GOLDEN / "report.en.json").read_bytes()
    assert files["report.html"].startswith(b"<!DOCTYPE html>")


def test_export_of_the_same_record_is_byte_for_byte_the_same(
    ops: reportrun.FixedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    for path in (first, second):
        assert cli(["export", reportrun.RUN_ID, "-o", str(path)], capsys)[0] == 0
    assert first.read_bytes() == second.read_bytes()


def test_export_defaults_to_run_id_zip_here(
    ops: reportrun.FixedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["export", "20260302"], capsys)[0] == 0
    assert Path(f"{reportrun.RUN_ID}.zip").is_file()


def test_export_refuses_a_record_whose_chain_is_broken(
    ops: reportrun.FixedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(ops.store.path) as conn:
        conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = 7")
    out = tmp_path / "b.zip"
    assert cli(["export", reportrun.RUN_ID, "-o", str(out)], capsys) == (
        1,
        "",
        "cslir: error: run does not verify (event 7: hash does not match its contents);"
        " nothing exported. See `cslir verify RUN`.\n",
    )
    assert list(tmp_path.glob("*.zip")) == [] and list(tmp_path.glob(".b.zip*")) == []


def test_export_refuses_when_an_evidence_file_is_gone(
    ops: reportrun.FixedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (ops.evidence_dir / RECEIPT_SHA[:2] / RECEIPT_SHA).unlink()
    rc, out, err = cli(["export", reportrun.RUN_ID, "-o", str(tmp_path / "b.zip")], capsys)
    assert (rc, out) == (1, "")
    assert err == (
        f"cslir: error: evidence {RECEIPT_SHA} (event 30) is missing from {ops.evidence_dir};"
        " nothing exported\n"
    )
    assert not (tmp_path / "b.zip").exists()


def test_export_wants_a_zip(ops: reportrun.FixedRun, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = cli(["export", reportrun.RUN_ID, "-o", "bundle.tar"], capsys)
    assert (rc, err.splitlines()[-1]) == (
        2,
        "Error: the bundle must be a .zip file, not bundle.tar",
    )


# -- tampering -----------------------------------------------------------------------------------


def failed(path: Path, *problems: str) -> tuple[int, str, str]:
    count = len(problems)
    summary = f"{path}: verification FAILED ({count} problem{'s' * (count != 1)})"
    return 1, "", "".join(f"{line}\n" for line in (*problems, summary))


def test_a_changed_byte_in_an_evidence_file_names_that_file(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.zip"
    changed = bytearray(reportrun.RECEIPT)
    changed[10] ^= 0x01
    rewrite(bundle, bad, {f"evidence/{RECEIPT_SHA}": bytes(changed)}, {})
    assert cli(["verify", str(bad)], capsys) == failed(
        bad, f"evidence/{RECEIPT_SHA}: content does not match its sha256"
    )


def test_an_edited_event_is_named_by_its_seq(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.zip"
    lines = read(bundle, "events.jsonl").decode().splitlines(keepends=True)
    event = json.loads(lines[6])
    event["actor"] = "mallory"  # event 7 claims someone else did it
    lines[6] = json.dumps(event) + "\n"
    rewrite(bundle, bad, {"events.jsonl": "".join(lines).encode()}, {})
    assert cli(["verify", str(bad)], capsys) == failed(
        bad,
        "events.jsonl: sha256 does not match the manifest",
        "events.jsonl: event 7: hash does not match its contents",
    )


@pytest.mark.parametrize("name", ["report.html", "events.jsonl", f"evidence/{FINAL_SHA}"])
def test_a_removed_file_is_named(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    bad = tmp_path / "bad.zip"
    rewrite(bundle, bad, {name: None}, {})
    assert cli(["verify", str(bad)], capsys) == failed(
        bad, f"{name}: missing from the bundle (the manifest lists it)"
    )


def test_evidence_removed_with_its_manifest_entry_is_named_by_the_event_that_added_it(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.zip"
    name = f"evidence/{RECEIPT_SHA}"
    manifest = json.loads(read(bundle, "manifest.json"))
    del manifest["files"][name]
    rewrite(bundle, bad, {name: None, "manifest.json": json.dumps(manifest).encode()}, {})
    assert cli(["verify", str(bad)], capsys) == failed(
        bad, f"{name}: missing from the bundle (event 30 added it)"
    )


def test_a_file_not_in_the_manifest_is_named(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.zip"
    rewrite(bundle, bad, {}, {"evidence/extra.txt": b"planted"})
    assert cli(["verify", str(bad)], capsys) == failed(
        bad, "evidence/extra.txt: not in the manifest"
    )


def test_a_dropped_last_event_with_a_doctored_manifest_shows_as_a_different_head(
    ops: reportrun.FixedRun, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.zip"
    events = read(bundle, "events.jsonl").splitlines(keepends=True)[:-1]
    data = b"".join(events)
    manifest = json.loads(read(bundle, "manifest.json"))
    manifest["files"]["events.jsonl"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": 1}
    rewrite(bundle, bad, {"events.jsonl": data, "manifest.json": json.dumps(manifest).encode()}, {})
    shorter = verify_chain(ops.events()[:-1]).head
    assert cli(["verify", str(bad)], capsys) == failed(
        bad, f"events.jsonl: chain head {shorter} is not the manifest's {head_of(ops)}"
    )


def test_a_damaged_zip_member_is_named_not_a_traceback(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.zip"
    raw = bytearray(bundle.read_bytes())
    with zipfile.ZipFile(bundle) as zf:
        info = zf.getinfo("report.md")
    raw[info.header_offset + 30 + len(info.filename) + 5] ^= 0xFF  # inside its compressed data
    bad.write_bytes(bytes(raw))
    rc, out, err = cli(["verify", str(bad)], capsys)
    assert (rc, out) == (1, "")
    assert err.startswith("report.md: cannot be read from the zip (")
    assert err.endswith(f"{bad}: verification FAILED (1 problem)\n")


# -- malformed bundles: one line, never a traceback -----------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


NOT_FILES = (
    b'{"bundle_version": 2, "run": "r", "events": 1, "chain_head": "x", "files": [],'
    b' "report": {"lang": "en", "timezone": "UTC", "as_of": "x"}}'
)
NOT_JSON = (
    "manifest.json is not valid JSON (Expecting property name enclosed in double quotes:"
    " line 1 column 2 (char 1))"
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip", "not a zip file; a bundle is the zip `cslir export` writes"),
        (_zip({"events.jsonl": b""}), "no manifest.json; not a bundle from `cslir export`"),
        (_zip({"manifest.json": b"{oops"}), NOT_JSON),
        (_zip({"manifest.json": b'{"bundle_version": 1}'}),
         "manifest.json has bundle_version 1; this cslir reads version 2"),
        (_zip({"manifest.json": NOT_FILES}), "manifest.json has no valid 'files'"),
    ],
)  # fmt: skip
def test_a_malformed_bundle_gets_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(content)
    assert cli(["verify", str(bad)], capsys) == (1, "", f"cslir: error: {bad}: {message}\n")
    assert list(tmp_path.glob("cslir-crash-*")) == []


def test_verify_of_a_bundle_needs_no_store(
    bundle: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("CSLIR_STORE", str(elsewhere / "never" / "cslir.db"))
    assert cli(["verify", str(bundle)], capsys)[0] == 0
    assert list(elsewhere.iterdir()) == []


def test_verify_of_a_missing_bundle_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = cli(["verify", str(tmp_path / "gone.zip")], capsys)
    assert (rc, err.splitlines()[-1]) == (2, f"Error: no bundle {tmp_path / 'gone.zip'}")


# -- forgeries: files changed and the manifest re-hashed to match, as an attacker would ---------


def forge(src: Path, dst: Path, change: dict[str, bytes]) -> None:
    """Replace or add members and rewrite the manifest's hashes so that they all match."""
    manifest = json.loads(read(src, "manifest.json"))
    for name, data in change.items():
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    new = {name: data for name, data in change.items() if name not in manifest_names(src)}
    rewrite(src, dst, {**change, "manifest.json": json.dumps(manifest).encode()}, new)


def manifest_names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return set(zf.namelist())


@pytest.mark.parametrize("name", ["report.md", "report.html", "report.json"])
def test_a_rewritten_report_with_a_rehashed_manifest_fails(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    bad = tmp_path / "bad.zip"
    text = read(bundle, name).replace(b"CAC", b"C4C", 1)
    assert text != read(bundle, name)
    forge(bundle, bad, {name: text})
    as_of = json.loads(read(bundle, "manifest.json"))["as_of"]
    assert cli(["verify", str(bad)], capsys) == failed(
        bad,
        f"{name}: not the report the events make (rendered again from events.jsonl in en as of"
        f" {as_of}, it differs): the report was edited",
    )


def test_evidence_no_event_added_is_refused_even_when_the_manifest_lists_it(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.zip"
    planted = b"a document nobody recorded\n"
    name = f"evidence/{hashlib.sha256(planted).hexdigest()}"
    forge(bundle, bad, {name: planted})
    assert cli(["verify", str(bad)], capsys) == failed(
        bad, f"{name}: no event added this evidence; it is not part of the run"
    )


def test_a_file_of_no_kind_a_bundle_holds_is_refused_even_when_the_manifest_lists_it(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.zip"
    forge(bundle, bad, {"README.txt": b"trust me\n"})
    assert cli(["verify", str(bad)], capsys) == failed(bad, "README.txt: not a file a bundle holds")


# -- owner-only files ----------------------------------------------------------------------------


def dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("command", ["export", "report"])
def test_reports_and_bundles_are_owner_only_and_a_killed_writers_leftover_is_removed(
    ops: reportrun.FixedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out = tmp_path / ("b.zip" if command == "export" else "r.md")
    leftover = tmp_path / f".{out.name}.{dead_pid()}.0badc0de.partial"
    leftover.write_bytes(b"half a bundle holding evidence")
    leftover.chmod(0o644)
    assert cli([command, reportrun.RUN_ID, "-o", str(out)], capsys)[0] == 0
    assert out.stat().st_mode & 0o777 == 0o600
    assert not leftover.exists()
    assert [p.name for p in tmp_path.glob(".*.partial")] == []
