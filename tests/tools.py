"""Tools and services a fresh laptop may lack (Chromium, PostgreSQL).

A test that needs one calls ``missing(reason)`` when it is absent: on a laptop the test is
skipped with the reason; where ``CSLIR_REQUIRE_TOOLS=1`` (``.ci/run`` sets it) it fails, so CI
never passes without running it.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_TOOLS = "CSLIR_REQUIRE_TOOLS"


def required() -> bool:
    return os.environ.get(REQUIRE_TOOLS, "") not in ("", "0")


def missing(reason: str) -> NoReturn:
    if required():
        pytest.fail(f"{reason} ({REQUIRE_TOOLS} is set, so this test may not be skipped)")
    pytest.skip(reason)
