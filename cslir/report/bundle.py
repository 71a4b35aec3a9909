"""Bundles: a run's whole record in one zip that ``cslir verify bundle.zip`` checks offline.

    manifest.json                 bundle_version, run, events, chain_head, and the sha256 and
                                  size of every other file
    report.md, .html, .json       the after-action record in each format
    events.jsonl                  every event, ``Event.to_json()``, one per line in seq order
    evidence/<sha256>             each evidence file under its own hash

A bundle proves itself against the chain head: evidence files are named by their hash, every
event's hash covers the one before, and the manifest names the head. Anyone who changes a file
must change the manifest too, and the head then differs from the one recorded elsewhere (in a
report already handed over, a ticket, an email). Verification reads the zip as it stands and
never extracts it, so hostile member names cannot write anywhere.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import takewhile
from pathlib import Path
from typing import IO, Any

from cslir.base.errors import InvalidInput, NotFound, VerificationFailed
from cslir.base.files import staged
from cslir.engine.events import Event, parse_at, verify_chain

BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
EVENTS = "events.jsonl"
REPORTS = {"md": "report.md", "html": "report.html", "json": "report.json"}
REQUIRED = (EVENTS, *REPORTS.values())
EVIDENCE = re.compile(r"evidence/([0-9a-f]{64})")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
)
MANIFEST_LIMIT = 64 << 20  # a manifest bigger than this is not one we wrote


# -- writing -------------------------------------------------------------------------------------


class _Sink:
    """A zip member being written: text or bytes in, buffered, hashed and counted."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._buf: list[bytes] = []
        self._held = 0
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: str | bytes) -> None:
        chunk = data.encode("utf-8") if isinstance(data, str) else data
        self.sha.update(chunk)
        self.size += len(chunk)
        self._buf.append(chunk)
        self._held += len(chunk)
        if self._held >= 1 << 16:
            self.flush()

    def flush(self) -> None:
        self._raw.write(b"".join(self._buf))
        self._buf, self._held = [], 0


class _Writer:
    def __init__(self, zf: zipfile.ZipFile, stamp: tuple[int, int, int, int, int, int]) -> None:
        self.zf = zf
        self.stamp = stamp
        self.files: dict[str, dict[str, Any]] = {}

    @contextmanager
    def member(self, name: str, size: int | None = None) -> Iterator[_Sink]:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        big = size is not None and size >= zipfile.ZIP64_LIMIT
        with self.zf.open(info, "w", force_zip64=big) as raw:
            sink = _Sink(raw)
            yield sink
            sink.flush()
        self.files[name] = {"sha256": sink.sha.hexdigest(), "size": sink.size}


def export_bundle(
    run_id: str,
    source: Callable[[], Iterable[Event]],
    evidence_dir: Path,
    out: Path,
    render: Callable[[str, Callable[[str], object]], None],
    last_seq: int,
    as_of: str,
) -> dict[str, Any]:
    """Write the bundle of the events ``source()`` yields, up to ``last_seq``; return its manifest.

    ``render(fmt, write)`` writes the report in one format. The zip is written beside ``out``
    and moved into place only when complete, and its times are the report's, so the same
    record always makes the same bundle.
    """

    def events() -> Iterator[Event]:
        return takewhile(lambda e: e.seq <= last_seq, source())

    moment = parse_at(as_of)
    stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute,
             moment.second)  # fmt: skip
    try:
        with staged(out.parent, out) as stage, zipfile.ZipFile(stage.tmp, "w") as zf:
            w = _Writer(zf, stamp)
            with w.member(EVENTS) as sink:
                chain = verify_chain(_written(events(), sink))
            if not chain.ok:
                raise VerificationFailed(
                    f"run does not verify ({chain.reason}); nothing exported. "
                    "See `cslir verify RUN`."
                )
            for fmt, name in REPORTS.items():
                with w.member(name) as sink:
                    render(fmt, sink.write)
            for sha, seq in _evidence(events()).items():
                _copy_evidence(w, evidence_dir, sha, seq)
            manifest = {
                "bundle_version": BUNDLE_VERSION,
                "run": run_id,
                "events": chain.count,
                "chain_head": chain.head,
                "as_of": as_of,
                "files": dict(sorted(w.files.items())),
            }
            text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
            with w.member(MANIFEST) as sink:
                sink.write(text)
    except OSError as e:
        raise InvalidInput(f"{out}: cannot be written: {e.strerror or e}") from None
    return manifest


def _written(events: Iterable[Event], sink: _Sink) -> Iterator[Event]:
    for e in events:
        sink.write(json.dumps(e.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
        yield e


def _evidence(events: Iterable[Event]) -> dict[str, int]:
    """Each evidence sha256 the events name, with the seq of the first that added it."""
    found: dict[str, int] = {}
    for e in events:
        sha = e.data.get("sha256") if e.type == "evidence.added" else None
        if isinstance(sha, str) and _HEX64.fullmatch(sha):
            found.setdefault(sha, e.seq)
    return found


def _copy_evidence(w: _Writer, evidence_dir: Path, sha: str, seq: int) -> None:
    path = evidence_dir / sha[:2] / sha
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below; the size is needed before writing)
    except OSError:
        raise NotFound(
            f"evidence {sha} (event {seq}) is missing from {evidence_dir}; nothing exported"
        ) from None
    with f:
        name = f"evidence/{sha}"
        with w.member(name, size=os.fstat(f.fileno()).st_size) as sink:
            while chunk := f.read(1 << 20):
                sink.write(chunk)
    if w.files[name]["sha256"] != sha:
        raise VerificationFailed(
            f"evidence {path} no longer matches its sha256 (event {seq}); nothing exported"
        )


# -- checking ------------------------------------------------------------------------------------


@dataclass
class BundleCheck:
    """What ``check_bundle`` found: ``problems`` name each file or event that does not match."""

    run: str = ""
    head: str = ""
    events: int = 0
    evidence: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_bundle(path: Path) -> BundleCheck:
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
        _check_events(zf, manifest, out)
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
        return f"has bundle_version {data.get('bundle_version')!r}; this cslir reads version 1"
    for key, kind in (("run", str), ("chain_head", str), ("events", int), ("files", dict)):
        if not isinstance(data.get(key), kind):
            return f"has no valid '{key}'"
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


def _check_events(zf: zipfile.ZipFile, manifest: dict[str, Any], out: BundleCheck) -> None:
    try:
        info = zf.getinfo(EVENTS)
    except KeyError:
        return  # already named as missing
    faults: list[str] = []
    refs: dict[str, int] = {}
    try:
        with zf.open(info) as raw:
            report = verify_chain(_read_events(raw, faults, refs))
    except _READ_ERRORS as e:
        out.problems.append(f"{EVENTS}: cannot be read from the zip ({e})")
        return
    out.events = report.count
    if faults:
        out.problems += faults
    elif not report.ok:
        out.problems.append(f"{EVENTS}: {report.reason}")
    elif report.head != manifest["chain_head"]:
        out.problems.append(
            f"{EVENTS}: chain head {report.head} is not the manifest's {manifest['chain_head']}"
        )
    for sha, seq in sorted(refs.items(), key=lambda kv: kv[1]):
        name = f"evidence/{sha}"
        if name not in manifest["files"] and name not in zf.namelist():
            out.problems.append(f"{name}: missing from the bundle (event {seq} added it)")


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
