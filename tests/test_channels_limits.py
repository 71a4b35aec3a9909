"""Size limits, drill marking and UTF-8 bodies, for every channel's builder."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cslir.notify.channels import CHANNELS, HttpRequest, Message, Target, build
from cslir.notify.channels.common import DRILL_LINE, shrink, to_json, utf8_len

NOW = datetime.fromtimestamp(1700000000, UTC)
MARKER = "… [truncated; see cslir status r-42]"
MESSAGE = Message(
    title="数据库主库宕机",
    text="主库 db1 无响应。",
    run_id="r-42",
    drill=False,
    severity="critical",
    event="trigger",
    dedup_key="cslir:r-42:page",
    link="https://ops.example/r-42",
)
HUGE = replace(MESSAGE, text="告警内容" * 50_000)  # 600 KB of UTF-8, over every limit


def target(channel: str, **fields: object) -> Target:
    values: dict[str, object] = {
        "name": f"test-{channel}",
        "channel": channel,
        "url": "http://127.0.0.1:9/hook?access_token=AT",
        "secret": "SECxyz" if channel in {"dingtalk", "feishu"} else None,
        "routing_key": "R" * 32 if channel == "pagerduty" else None,
        "mention_mobiles": (),
        "mention_user_ids": (),
        "mention_all": False,
        "format": None,
        "timeout": 5.0,
    }
    values.update(fields)
    if channel == "webhook":
        values["secret"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    return Target(**values)  # type: ignore[arg-type]


def sent(request: HttpRequest) -> dict[str, object]:
    payload: dict[str, object] = json.loads(request.body)
    return payload


def _field(*path: str) -> Callable[[HttpRequest], str]:
    def get(request: HttpRequest) -> str:
        value: object = sent(request)
        for key in path:
            assert isinstance(value, dict)
            value = value[key]
        assert isinstance(value, str)
        return value

    return get


def _body(request: HttpRequest) -> str:
    return request.body.decode()


# channel, format, the text the limit applies to, how the channel measures it, the limit
LIMITS = [
    ("dingtalk", None, _field("markdown", "text"), utf8_len, 4096),
    ("wecom", "markdown", _field("markdown", "content"), utf8_len, 4096),
    ("wecom", "text", _field("text", "content"), utf8_len, 2048),
    ("feishu", "post", _body, utf8_len, 20_000),
    ("feishu", "card", _body, utf8_len, 20_000),
    ("slack", None, _field("text"), len, 4000),  # characters, not bytes
    ("teams", None, _body, utf8_len, 28_000),
    ("pagerduty", None, _body, utf8_len, 512 * 1024),
    ("webhook", None, _body, utf8_len, 20_000),
]


@pytest.mark.parametrize(("channel", "fmt", "measured", "size", "limit"), LIMITS)
def test_a_huge_message_is_cut_to_the_channel_limit_with_a_marker(
    channel: str,
    fmt: str | None,
    measured: Callable[[HttpRequest], str],
    size: Callable[[str], int],
    limit: int,
) -> None:
    request = build(target(channel, format=fmt), HUGE, now=NOW, idempotency_key="k")
    text = measured(request)
    assert limit - 8 < size(text) <= limit  # cut at the limit, not far below it
    assert MARKER in request.body.decode()


@pytest.mark.parametrize(("channel", "fmt", "measured", "size", "limit"), LIMITS)
def test_a_short_message_is_sent_whole(
    channel: str,
    fmt: str | None,
    measured: Callable[[HttpRequest], str],
    size: Callable[[str], int],
    limit: int,
) -> None:
    request = build(target(channel, format=fmt), MESSAGE, now=NOW, idempotency_key="k")
    assert "truncated" not in request.body.decode()
    assert "主库 db1 无响应。" in request.body.decode()


@pytest.mark.parametrize(
    ("channel", "fmt", "mention"),
    [
        ("dingtalk", None, "@13800001111"),
        ("wecom", "markdown", "<@wangqing>"),
        ("feishu", "card", "<at id=wangqing></at>"),
        ("slack", None, "<@wangqing>"),
    ],
)
def test_truncation_keeps_the_mentions_that_make_the_message_ping(
    channel: str, fmt: str | None, mention: str
) -> None:
    mentions = {"mention_user_ids": ("wangqing",)}
    if channel == "dingtalk":
        mentions = {"mention_mobiles": ("13800001111",)}
    request = build(target(channel, format=fmt, **mentions), HUGE, now=NOW, idempotency_key="k")
    assert json.dumps(sent(request), ensure_ascii=False).count(mention) == 1
    assert request.body.decode().rindex(MARKER) < request.body.decode().rindex(mention)


def test_pagerduty_summary_is_held_to_1024_characters() -> None:
    message = replace(MESSAGE, title="主" * 2000)
    request = build(target("pagerduty"), message, now=NOW, idempotency_key="k")
    payload = sent(request)["payload"]
    assert isinstance(payload, dict)
    assert len(payload["summary"]) == 1024
    assert payload["summary"].endswith("…")


def test_pagerduty_long_dedup_key_is_shortened_the_same_way_for_trigger_and_resolve() -> None:
    message = replace(MESSAGE, dedup_key="k" * 300)
    trigger = sent(build(target("pagerduty"), message, now=NOW, idempotency_key="k"))
    resolve = sent(
        build(target("pagerduty"), replace(message, event="resolve"), now=NOW, idempotency_key="k")
    )
    assert len(str(trigger["dedup_key"])) == 255
    assert trigger["dedup_key"] == resolve["dedup_key"]
    other = sent(
        build(
            target("pagerduty"), replace(message, dedup_key="k" * 301), now=NOW, idempotency_key="k"
        )
    )
    assert other["dedup_key"] != trigger["dedup_key"]


@pytest.mark.parametrize("channel", [c for c in CHANNELS if c != "pagerduty"])
def test_a_long_title_is_clipped_to_150_characters(channel: str) -> None:
    message = replace(MESSAGE, title="标题" * 200)
    body = request_text(build(target(channel), message, now=NOW, idempotency_key="k"))
    assert "标题" * 74 + "标…" in body
    assert "标题" * 75 not in body


@pytest.mark.parametrize("channel", CHANNELS)
def test_bodies_are_utf8_not_unicode_escapes(channel: str) -> None:
    request = build(target(channel), MESSAGE, now=NOW, idempotency_key="k")
    assert "数据库主库宕机".encode() in request.body
    assert b"\\u" not in request.body


FORMATS = [(channel, fmt) for channel, fmt, *_ in LIMITS]


@pytest.mark.parametrize(("channel", "fmt"), FORMATS)
def test_a_drill_is_marked_in_title_and_body(channel: str, fmt: str | None) -> None:
    drill = replace(MESSAGE, drill=True)
    body = request_text(build(target(channel, format=fmt), drill, now=NOW, idempotency_key="k"))
    assert "【演练】[DRILL] 数据库主库宕机" in body
    assert DRILL_LINE in body


@pytest.mark.parametrize(("channel", "fmt"), FORMATS)
def test_a_real_incident_is_not_marked_as_a_drill(channel: str, fmt: str | None) -> None:
    body = request_text(build(target(channel, format=fmt), MESSAGE, now=NOW, idempotency_key="k"))
    assert "DRILL" not in body


def request_text(request: HttpRequest) -> str:
    return json.dumps(sent(request), ensure_ascii=False)


@given(text=st.text(), limit=st.integers(min_value=0, max_value=400))
def test_shrink_fits_the_limit_and_keeps_a_prefix(text: str, limit: int) -> None:
    def fits(candidate: str) -> bool:
        return len(to_json({"t": candidate})) <= limit

    result = shrink(text, "…[cut]", fits)
    if fits(text):
        assert result == text
    else:
        assert result.endswith("…[cut]")
        assert text.startswith(result.removesuffix("…[cut]"))
        assert fits(result) or result == "…[cut]"


@pytest.mark.parametrize(
    ("channel", "fields", "error"),
    [
        ("slack", {"url": None}, "has no url"),
        ("pagerduty", {"routing_key": None}, "has no routing_key"),
        ("wecom", {"format": "markdown_v2"}, "format must be markdown or text"),
        ("feishu", {"format": "text"}, "format must be post or card"),
        ("carrier-pigeon", {}, "unknown channel"),
    ],
)
def test_a_misconfigured_route_is_refused_without_showing_secrets(
    channel: str, fields: dict[str, object], error: str
) -> None:
    with pytest.raises(ValueError, match=error) as caught:
        build(target(channel, **fields), MESSAGE, now=NOW, idempotency_key="k")
    assert "access_token" not in str(caught.value)


@pytest.mark.parametrize("channel", ["dingtalk", "feishu", "webhook"])
def test_a_naive_clock_is_refused_rather_than_read_as_local_time(channel: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build(target(channel), MESSAGE, now=datetime(2024, 5, 1, 10, 0), idempotency_key="k")
