"""The drills of an ops repo, loaded from ``drills/`` and reloaded when a file changes.

A file that stops validating keeps the drill it held before (its schedule goes on) and is
reported as broken, with its first error, until it is fixed; a file broken from the start holds
no drill. Nothing here raises for a bad file: the scheduler must never stop over one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cslir.base.errors import CslirError
from cslir.drills.model import Drill, load_drill
from cslir.engine.model import Playbook

if TYPE_CHECKING:
    from cslir.opsrepo.documents import Documents


@dataclass(frozen=True)
class Loaded:
    drill: Drill
    playbook: Playbook


@dataclass(frozen=True)
class Broken:
    path: str
    digest: str  # of the broken content: each breakage is reported once
    error: str


@dataclass
class Changes:
    """What one reload found: drills added or changed, files that broke, files fixed."""

    loaded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    broken: list[Broken] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.loaded or self.removed or self.broken or self.fixed)


class Catalog:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.by_path: dict[str, Loaded] = {}  # the last good version of each file
        self.broken: dict[str, Broken] = {}
        self._stamp: tuple[tuple[str, int, int], ...] | None = None

    @property
    def folder(self) -> Path:
        return self.root / "drills"

    def drills(self) -> list[Loaded]:
        """Every drill held, in file order (a file keeps its last good version)."""
        return [self.by_path[p] for p in sorted(self.by_path)]

    def reload(self) -> Changes:
        """Read the files again if any changed since the last look."""
        stamp = self._files_stamp()
        if stamp == self._stamp:
            return Changes()
        self._stamp = stamp
        changes = Changes()
        folder = str(self.folder)
        seen = {path for path, _, _ in stamp if path.startswith(folder + os.sep)}
        for path in [p for p in self.by_path if p not in seen]:
            changes.removed.append(self.by_path.pop(path).drill.id)
        for path in [p for p in self.broken if p not in seen]:
            del self.broken[path]
        from cslir.opsrepo.documents import Documents

        documents = Documents()  # read afresh: something changed
        for path in sorted(seen):
            self._load(Path(path), changes, documents)
        return changes

    def _load(self, path: Path, changes: Changes, documents: Documents) -> None:
        key = str(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            self._break(key, b"", f"{path}: cannot be read: {e.strerror}", changes)
            return
        previous = self.by_path.get(key)
        try:
            drill, playbook = load_drill(path, self.root, documents)
        except CslirError as e:
            self._break(key, raw, e.message, changes)
            return
        if self.broken.pop(key, None) is not None:
            changes.fixed.append(key)
        if previous is None or (previous.drill, previous.playbook.text) != (drill, playbook.text):
            changes.loaded.append(drill.id)
        self.by_path[key] = Loaded(drill, playbook)

    def _break(self, key: str, raw: bytes, error: str, changes: Changes) -> None:
        digest = hashlib.sha256(raw + error.encode()).hexdigest()
        known = self.broken.get(key)
        if known is not None and known.digest == digest:
            return
        self.broken[key] = Broken(key, digest, error)
        changes.broken.append(self.broken[key])

    def _files_stamp(self) -> tuple[tuple[str, int, int], ...]:
        from cslir.opsrepo.documents import yaml_files

        # a drill stands or falls with its playbook and the routes it names, too
        watched = [self.folder, self.root / "playbooks", self.root / "notifiers"]
        out = []
        for path in [p for folder in watched for p in yaml_files(folder)]:
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(out)
