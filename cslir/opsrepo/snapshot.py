"""The playbook a run started with, rebuilt from the text its ``run.opened`` event recorded.

A run keeps the playbook it opened with even when the file changes later; folding its events
(``cslir.engine.state.fold``) takes this rebuilt playbook, so the engine never parses YAML. The
step files the playbook included were recorded beside its text and are expanded from there,
never read again from disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cslir.engine.model import Playbook, build_playbook
from cslir.opsrepo import includes, yamlload


def playbook_from_opening(data: Mapping[str, Any]) -> Playbook:
    """Rebuild the playbook from the snapshot in run.opened's data."""
    snap = data["playbook"]
    path = str(snap.get("path", ""))
    doc = yamlload.loads(snap["text"], path or "<snapshot>")
    texts = {str(k): str(v["text"]) for k, v in (snap.get("includes") or {}).items()}
    expansion = includes.expand(doc, includes.snapshot_resolver(texts, path))
    return build_playbook(expansion.data, path=path, text=snap["text"], includes=texts)
