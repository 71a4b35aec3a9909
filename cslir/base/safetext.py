"""Recorded text made safe to show: control characters become visible escapes.

Notes, reasons and answers are typed by people and programs; an ESC sequence among them could
clear a responder's screen, retitle the terminal or write to the clipboard (OSC 52) when shown.
Everything recorded is shown through ``printable``: C0 controls (except newline and tab), DEL
and the C1 controls (CSI is U+009B) are spelled out as ``\\xNN``.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every control character but newline and tab spelled as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
