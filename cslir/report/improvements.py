"""The improvement plan: items added and closed as events, with ids (I1, I2...) from the log.

``improvement.added`` {id, text, owner, due} and ``improvement.closed`` {id}. Ids are assigned by
counting the items already recorded; the run service appends with the seq it expects, so two
people adding an item at once get I3 and I4, never two I3s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from cslir.base.errors import ActionRefused
from cslir.engine.events import Event

Events = list[tuple[str, dict[str, Any]]]
_ID = re.compile(r"I[1-9][0-9]*")


class Improvements:
    """The items recorded so far, in the order they were added."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self._items: dict[str, dict[str, Any]] = {}
        for e in events:
            self.see(e)

    def see(self, e: Event) -> None:
        d = e.data
        item_id = str(d.get("id", ""))
        if e.type == "improvement.added":
            self._items[item_id] = {
                "id": item_id,
                "text": str(d.get("text", "")),
                "owner": str(d.get("owner", "")),
                "due": str(d.get("due", "")),
                "status": "open",
                "added_by": e.actor,
                "added_at": e.at,
                "closed_by": None,
                "closed_at": None,
            }
        elif e.type == "improvement.closed" and item_id in self._items:
            self._items[item_id].update(status="closed", closed_by=e.actor, closed_at=e.at)

    def rows(self) -> list[dict[str, Any]]:
        return [dict(item) for item in self._items.values()]

    def add(self, text: str, owner: str, due: str) -> Events:
        """The event that adds an item, or ActionRefused saying what to fix."""
        if not text.strip():
            raise ActionRefused("an improvement item needs some text")
        if not owner.strip():
            raise ActionRefused("an improvement item needs an owner: --owner NAME")
        try:
            day = date.fromisoformat(due.strip())
        except ValueError:
            raise ActionRefused(f"--due '{due}' is not a date: write it as 2026-12-31") from None
        item_id = f"I{len(self._items) + 1}"
        data = {"id": item_id, "text": text.strip(), "owner": owner.strip(), "due": day.isoformat()}
        return [("improvement.added", data)]

    def close(self, item_id: str) -> Events:
        """The event that closes an open item, or ActionRefused naming the open ones."""
        item_id = item_id.strip().upper()
        item = self._items.get(item_id)
        if item is None:
            known = ", ".join(self._items) or "none yet"
            if not _ID.fullmatch(item_id):
                raise ActionRefused(f"'{item_id}' is not an improvement id (like I1); ids: {known}")
            raise ActionRefused(f"no improvement {item_id} in this run; ids: {known}")
        if item["status"] == "closed":
            raise ActionRefused(f"improvement {item_id} is already closed")
        return [("improvement.closed", {"id": item_id})]
