"""``cslir verify bundle.zip``: check a bundle offline, binding every file in it to the chain.

- ``events.jsonl``: the chain recomputed, its head the manifest's, its checkpoints' signatures
  checked with the public key when one is given (``trust.verify``);
- ``evidence/<sha256>``: each file's content matches its name, and an event added it;
- ``report.*``: rendered again from the bundled events, with the language, time zone and time
  the manifest records, and compared byte for byte.

The zip is read as it stands and never extracted, so hostile member names cannot write anywhere.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cslir.base.errors import CslirError, InvalidInput
from cslir.engine.events import Event, parse_at
from cslir.report.bundle import (
    _HEX64,
    _READ_ERRORS,
    BUNDLE_VERSION,
    EVENTS,
    EVIDENCE,
    MANIFEST,
    MANIFEST_LIMIT,
    REPORTS,
    REQUIRED,
)
from cslir.trust.keys import VerifyKey
from cslir.trust.verify import Verdict, check_events


@dataclass
class BundleCheck:
    """What ``check_bundle`` found: ``problems`` name each file or event that does not match."""

    run: str = ""
    head: str = ""
    events: int = 0
    evidence: int = 0
    problems: list[str] = field(default_factory=list)
    verdict: Verdict | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_bundle(
    path: Path, key: VerifyKey | None = None, heads: Sequence[str] = ()
) -> BundleCheck:
    """Check a bundle offline. A file that is not a bundle at all raises InvalidInput."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        reason = "not a zip file" if isinstance(e, zipfile.BadZipFile) else e.strerror
        raise InvalidInput(f"{path}: {reason}; a bundle is the zip `cslir export` writes") from None
    with zf:
        manifest = _manifest(zf, path)
        out = BundleCheck(run=manifest["run"], head=manifest["chain_head"])
        _check_files(zf, manifest["files"], out)
        refs = _check_events(zf, manifest, out, key, heads)
        _check_evidence_refs(zf, manifest, refs, out)
        if out.ok:  # a report is only worth rendering from events that verify
            _check_reports(zf, manifest, out)
    return out


def _manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        raise InvalidInput(f"{path}: no {MANIFEST}; not a bundle from `cslir export`") from None
    if info.file_size > MANIFEST_LIMIT:
        raise InvalidInput(f"{path}: {MANIFEST} is too large to be a cslir manifest")
    try:
        data = json.loads(zf.read(info).decode("utf-8"))
    except _READ_ERRORS as e:
        raise InvalidInput(f"{path}: {MANIFEST} cannot be read from the zip ({e})") from None
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidInput(f"{path}: {MANIFEST} is not valid JSON ({e})") from None
    fault = _manifest_fault(data)
    if fault:
        raise InvalidInput(f"{path}: {MANIFEST} {fault}")
    return dict(data)


def _manifest_fault(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "is not a JSON object"
    if data.get("bundle_version") != BUNDLE_VERSION:
        return (
            f"has bundle_version {data.get('bundle_version')!r};"
            f" this cslir reads version {BUNDLE_VERSION}"
        )
    for key, kind in (("run", str), ("chain_head", str), ("events", int), ("files", dict)):
        if not isinstance(data.get(key), kind):
            return f"has no valid '{key}'"
    how = data.get("report")
    if not isinstance(how, dict) or not all(
        isinstance(how.get(k), str) for k in ("lang", "timezone", "as_of")
    ):
        return "has no valid 'report' (the language, time zone and time the reports were made)"
    for name, entry in data["files"].items():
        ok = isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
        if not ok or not _HEX64.fullmatch(entry["sha256"]):
            return f"has no valid sha256 for '{name}'"
    return None


def _digest(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    sha = hashlib.sha256()
    with zf.open(info) as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def _check_files(zf: zipfile.ZipFile, listed: dict[str, Any], out: BundleCheck) -> None:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        if info.filename in members:
            out.problems.append(f"{info.filename}: appears more than once in the zip")
        members[info.filename] = info
    for name in sorted(set(listed) | set(REQUIRED)):
        if name not in members:
            why = " (the manifest lists it)" if name in listed else ""
            out.problems.append(f"{name}: missing from the bundle{why}")
            continue
        if name not in listed:
            continue  # a required file the manifest leaves out: named below
        try:
            actual = _digest(zf, members[name])
        except _READ_ERRORS as e:
            out.problems.append(f"{name}: cannot be read from the zip ({e})")
            continue
        m = EVIDENCE.fullmatch(name)
        if m:
            out.evidence += 1
        if m and actual != m[1]:
            out.problems.append(f"{name}: content does not match its sha256")
        elif actual != listed[name]["sha256"]:
            out.problems.append(f"{name}: sha256 does not match the manifest")
    for name in sorted(set(members) - set(listed) - {MANIFEST}):
        out.problems.append(f"{name}: not in the manifest")


def _check_events(
    zf: zipfile.ZipFile,
    manifest: dict[str, Any],
    out: BundleCheck,
    key: VerifyKey | None,
    heads: Sequence[str],
) -> dict[str, int]:
    """The chain, its checkpoints and witnessed heads; returns the evidence the events add."""
    refs: dict[str, int] = {}
    try:
        info = zf.getinfo(EVENTS)
    except KeyError:
        return refs  # already named as missing
    faults: list[str] = []
    try:
        with zf.open(info) as raw:
            verdict = check_events(_read_events(raw, faults, refs), key, heads)
    except _READ_ERRORS as e:
        out.problems.append(f"{EVENTS}: cannot be read from the zip ({e})")
        return refs
    out.events, out.verdict = verdict.count, verdict
    if faults:
        out.problems += faults
        out.verdict = None
        return refs
    out.problems += [f"{EVENTS}: {problem}" for problem in verdict.problems]
    if verdict.ok and verdict.head != manifest["chain_head"]:
        out.problems.append(
            f"{EVENTS}: chain head {verdict.head} is not the manifest's {manifest['chain_head']}"
        )
    return refs


def _check_evidence_refs(
    zf: zipfile.ZipFile, manifest: dict[str, Any], refs: dict[str, int], out: BundleCheck
) -> None:
    """Every evidence file an event added is here, and every one here was added by an event."""
    for sha, seq in sorted(refs.items(), key=lambda kv: kv[1]):
        name = f"evidence/{sha}"
        if name not in manifest["files"] and name not in zf.namelist():
            out.problems.append(f"{name}: missing from the bundle (event {seq} added it)")
    if out.verdict is None or not out.verdict.ok:
        return  # the events were not all read: which evidence they add is not known
    for name in sorted(manifest["files"]):
        m = EVIDENCE.fullmatch(name)
        if m and m[1] not in refs:
            out.problems.append(f"{name}: no event added this evidence; it is not part of the run")
    for name in sorted(set(manifest["files"]) - set(REQUIRED)):
        if not EVIDENCE.fullmatch(name):
            out.problems.append(f"{name}: not a file a bundle holds")


def _check_reports(zf: zipfile.ZipFile, manifest: dict[str, Any], out: BundleCheck) -> None:
    """Render each report again from the bundled events and compare it byte for byte."""
    from cslir.report.model import build_report

    how = manifest["report"]

    def source() -> Iterator[Event]:
        with zf.open(EVENTS) as raw:
            yield from _read_events(raw, [], {})

    try:
        data = build_report(
            source, lang=how["lang"], at=parse_at(how["as_of"]), default_tz=how["timezone"]
        )
    except (CslirError, ValueError, KeyError) as e:
        out.problems.append(f"the reports cannot be rendered again from {EVENTS} ({e})")
        return
    for fmt, name in REPORTS.items():
        if _rendered_digest(data, fmt) != _digest(zf, zf.getinfo(name)):
            out.problems.append(
                f"{name}: not the report the events make (rendered again from {EVENTS} in"
                f" {how['lang']} as of {how['as_of']}, it differs): the report was edited"
            )


def _rendered_digest(data: dict[str, Any], fmt: str) -> str:
    from cslir.report.render import render

    sha = hashlib.sha256()
    render(data, fmt, lambda text: sha.update(text.encode("utf-8")))
    return sha.hexdigest()


def _read_events(raw: IO[bytes], faults: list[str], refs: dict[str, int]) -> Iterator[Event]:
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
    lineno = 0
    try:
        for lineno, line in enumerate(text, start=1):  # noqa: B007 (lineno is read below)
            if not line.strip():
                continue
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            event = Event.from_json(data)
            sha = event.data.get("sha256") if event.type == "evidence.added" else None
            if isinstance(sha, str) and _HEX64.fullmatch(sha):
                refs.setdefault(sha, event.seq)
            yield event
    except UnicodeDecodeError:
        faults.append(f"{EVENTS}: line {lineno + 1} is not UTF-8 text")
    except (ValueError, InvalidInput) as e:
        reason = e.message if isinstance(e, InvalidInput) else str(e)
        faults.append(f"{EVENTS}: line {lineno} is not an event ({reason})")
