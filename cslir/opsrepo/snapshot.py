"""The playbook a run started with, rebuilt from the text its ``run.opened`` event recorded.

A run keeps the playbook it opened with even when the file changes later; folding its events
(``cslir.engine.state.fold``) takes this rebuilt playbook, so the engine never parses YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cslir.engine.model import Playbook, build_playbook
from cslir.opsrepo import yamlload


def playbook_from_opening(data: Mapping[str, Any]) -> Playbook:
    """Rebuild the playbook from the snapshot in run.opened's data."""
    snap = data["playbook"]
    path = snap.get("path", "")
    doc = yamlload.loads(snap["text"], path or "<snapshot>")
    return build_playbook(doc.data, path=path, text=snap["text"])
