"""Bundles: a run's whole record in one zip that ``cslir verify bundle.zip`` checks offline.

    manifest.json                 bundle_version, run, events, chain_head, how the reports
                                  were rendered (lang, timezone, as_of), and the sha256 and
                                  size of every other file
    report.md, .html, .json       the after-action record in each format
    events.jsonl                  every event, ``Event.to_json()``, one per line in seq order
    evidence/<sha256>             each evidence file under its own hash

Every file is bound to the chain: the events by their hashes up to the head the manifest names,
each evidence file by its name (its sha256) and the event that added it (a file no event added
is refused), and each report by rendering it again from the bundled events with the recorded
language, time zone and time, byte for byte (``bundlecheck``). So a changed report cannot be
re-hashed into the manifest and pass: it would have to follow from changed events, and those
change the head (and break the signed checkpoints, where the run has a key). Verification reads
the zip as it stands and never extracts it, so hostile member names cannot write anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import takewhile
from pathlib import Path
from typing import IO, Any, Protocol

from cslir.base.errors import InvalidInput, NotFound, VerificationFailed
from cslir.base.files import staged
from cslir.engine.events import Event, parse_at, verify_chain

BUNDLE_VERSION = 2
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


class Evidence(Protocol):
    """Where the run's evidence blobs are read from: the store that kept them."""

    evidence_where: str

    def open_evidence(self, sha256: str) -> IO[bytes] | None: ...


def export_bundle(
    run_id: str,
    source: Callable[[], Iterable[Event]],
    evidence: Evidence,
    out: Path,
    render: Callable[[str, Callable[[str], object]], None],
    last_seq: int,
    rendered: Mapping[str, str],
) -> dict[str, Any]:
    """Write the bundle of the events ``source()`` yields, up to ``last_seq``; return its manifest.

    ``render(fmt, write)`` writes the report in one format with cslir's own templates;
    ``rendered`` says how (``lang``, ``timezone``, ``as_of``), so that verify can render it
    again. The zip is written owner-only beside ``out`` and moved into place only when
    complete, and its times are the report's, so the same record always makes the same bundle.
    """
    as_of = rendered["as_of"]

    def events() -> Iterator[Event]:
        return takewhile(lambda e: e.seq <= last_seq, source())

    moment = parse_at(as_of)
    stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute,
             moment.second)  # fmt: skip
    try:
        with staged(out.parent, out, private=True) as stage, zipfile.ZipFile(stage.tmp, "w") as zf:
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
                _copy_evidence(w, evidence, sha, seq)
            manifest = {
                "bundle_version": BUNDLE_VERSION,
                "run": run_id,
                "events": chain.count,
                "chain_head": chain.head,
                "as_of": as_of,
                "report": {k: rendered[k] for k in ("lang", "timezone", "as_of")},
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


def _copy_evidence(w: _Writer, evidence: Evidence, sha: str, seq: int) -> None:
    f = evidence.open_evidence(sha)
    if f is None:
        raise NotFound(
            f"evidence {sha} (event {seq}) is missing from {evidence.evidence_where};"
            " nothing exported"
        )
    with f:
        name = f"evidence/{sha}"
        with w.member(name, size=_size(f)) as sink:
            while chunk := f.read(1 << 20):
                sink.write(chunk)
    if w.files[name]["sha256"] != sha:
        raise VerificationFailed(
            f"evidence {sha} in {evidence.evidence_where} no longer matches its sha256"
            f" (event {seq}); nothing exported"
        )


def _size(f: IO[bytes]) -> int:
    """The blob's size, known before writing: a member over 4 GiB needs ZIP64 from the start."""
    here = f.tell()
    end = f.seek(0, os.SEEK_END)
    f.seek(here)
    return end
