"""Where a recorded notification request goes next.

The notifiers layer plugs delivery in here; until a route's delivery exists the request stays
recorded as pending (``cslir notify status``).
"""

from __future__ import annotations

from collections.abc import Callable

from cslir.config import Settings
from cslir.events import Event
from cslir.store import Store


def on_notify_for(settings: Settings, store: Store) -> Callable[[Event], None] | None:
    return None
