"""Routes as read from notifiers/*.yaml, their secrets resolved only at send time, and settings."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from notifykit import WHSEC, ops_root

from cslir.__main__ import main
from cslir.base.errors import NotFound
from cslir.base.redaction import REDACTED
from cslir.notify.attempt import redact_clipped
from cslir.notify.ratelimit import RateLimiter
from cslir.notify.routes import Route, RouteUnusable, load_routes, parse_rate

DING = """\
  ding:
    channel: dingtalk
    url: ${env:DING_URL}
    secret: ${env:DING_SECRET}
    mention: {mobiles: ["13800000000"], user_ids: [mgr01], all: true}
    rate_limit: 20/1m
    timeout: 5s
    fallback: hook
    drill_route: hook
    severity: critical
"""
HOOK = "  hook:\n    channel: webhook\n    url: ${env:HOOK_URL}\n    secret: ${env:HOOK_SECRET}\n"


def test_a_route_file_is_read_into_routes_holding_references_only(tmp_path: Path) -> None:
    route = load_routes(ops_root(tmp_path, DING + HOOK)).get("ding")
    assert route.source.endswith("notifiers/routes.yaml")
    assert replace(route, source="") == Route(
        name="ding",
        channel="dingtalk",
        url="${env:DING_URL}",
        secret="${env:DING_SECRET}",
        mention_mobiles=("13800000000",),
        mention_user_ids=("mgr01",),
        mention_all=True,
        severity="critical",
        fallback="hook",
        drill_route="hook",
        rate_limit=(20, 60.0),
        timeout=5.0,
    )


def test_secrets_are_resolved_from_the_environment_at_send_time(tmp_path: Path) -> None:
    route = load_routes(ops_root(tmp_path, HOOK)).get("hook")
    target = route.target({"HOOK_URL": "http://127.0.0.1:1/x", "HOOK_SECRET": WHSEC})
    assert (target.url, target.secret, target.timeout) == ("http://127.0.0.1:1/x", WHSEC, 10.0)


def test_a_missing_variable_is_named_and_no_value_shown(tmp_path: Path) -> None:
    route = load_routes(ops_root(tmp_path, HOOK)).get("hook")
    assert route.missing_variables({"HOOK_SECRET": WHSEC}) == ["HOOK_URL"]
    with pytest.raises(RouteUnusable) as refused:
        route.target({"HOOK_SECRET": WHSEC})
    assert refused.value.message == "route 'hook': environment variable(s) not set: HOOK_URL"


def test_a_literal_secret_in_a_route_file_stays_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=0123abcd"
    literal = f"  ding:\n    channel: dingtalk\n    url: {url}\n"
    root = ops_root(tmp_path, literal + HOOK)
    routes = load_routes(root)
    with pytest.raises(RouteUnusable) as refused:
        routes.get("ding")
    assert "url is written out literally; a literal secret is an error" in refused.value.message
    assert "0123abcd" not in refused.value.message
    assert main(["--root", str(root), "validate", str(root / "notifiers")]) == 1
    out = capsys.readouterr().out
    assert "url is written out literally; a literal secret is an error" in out
    assert "0123abcd" not in out


def test_routes_load_without_importing_the_validator(tmp_path: Path) -> None:
    # notify sits below the commands that validate; it reads route files through opsrepo.
    root = ops_root(tmp_path, DING + HOOK)
    code = (
        "import sys; from pathlib import Path; from cslir.notify.routes import load_routes; "
        f"print(sorted(load_routes(Path({str(root)!r})).routes), "
        "'cslir.opsrepo.validate' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == "['ding', 'hook'] False\n"


def test_an_unknown_route_is_not_found_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as missing:
        load_routes(ops_root(tmp_path, HOOK)).get("hookk")
    assert missing.value.message == "no route named 'hookk' in notifiers/ (did you mean 'hook'?)"


@pytest.mark.parametrize(
    ("text", "rate"), [("20/1m", (20, 60.0)), ("2/2s", (2, 2.0)), ("100/1h", (100, 3600.0))]
)
def test_rate_limits_read_as_messages_per_window(text: str, rate: tuple[int, float]) -> None:
    assert parse_rate(text) == rate


def test_the_rate_limiter_says_how_long_until_a_slot_frees() -> None:
    limiter = RateLimiter()
    assert [limiter.reserve("r", (2, 10.0), t) for t in (0.0, 1.0, 2.0)] == [0.0, 0.0, 8.0]
    assert limiter.reserve("r", (2, 10.0), 10.0) == 0.0  # the first send left the window
    assert limiter.reserve("other", None, 10.0) == 0.0


def test_a_clipped_text_loses_the_start_of_a_secret_it_ends_with() -> None:
    secret = "R0UT1NGKEY4f3e2d1c0b9a8f7e6d5c4b"
    assert redact_clipped("key R0UT1NGKE…", [secret]) == f"key {REDACTED}…"
    assert redact_clipped(f"key {secret} ok", [secret]) == f"key {REDACTED} ok"
    assert redact_clipped("nothing secret…", [secret]) == "nothing secret…"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("cslir: 1\nrole_routes: {legal: hook}\n", []),
        (
            "cslir: 1\nrole_routes: {legal: hoook}\n",
            ["cslir.yaml:2:22: error: unknown route 'hoook' (did you mean 'hook'?)"],
        ),
    ],
)
def test_role_routes_in_settings_must_name_routes(
    tmp_path: Path,
    settings: str,
    expected: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = ops_root(tmp_path, HOOK, settings=settings)
    monkeypatch.chdir(root)
    main(["--root", str(root), "validate", "cslir.yaml"])
    assert capsys.readouterr().out.splitlines() == expected
