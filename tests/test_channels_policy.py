"""Retry timing, redaction of secrets, mention support and message validation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cslir.base.redaction import redact
from cslir.notify.channels import CHANNELS, Message, Target, build, secrets_of
from cslir.notify.channels.retry import next_delay
from cslir.opsrepo.opschecks import MENTIONS

ROUTE = Target(
    name="r",
    channel="dingtalk",
    url=None,
    secret=None,
    routing_key=None,
    mention_mobiles=(),
    mention_user_ids=(),
    mention_all=False,
    format=None,
    timeout=5.0,
)


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "draw", "delay"),
    [
        (0, 1.0, 30.0, 0.5, 0.5),  # ceiling 1
        (2, 1.0, 30.0, 0.25, 1.0),  # ceiling 4
        (4, 1.0, 30.0, 0.75, 12.0),  # ceiling 16
        (5, 1.0, 30.0, 0.5, 15.0),  # 32 capped to 30
        (3, 0.5, 300.0, 0.0, 0.0),  # the draw may come out at zero
        (5000, 2.0, 300.0, 0.5, 150.0),  # a huge attempt neither overflows nor passes the cap
    ],
)
def test_delay_is_a_full_jitter_draw_below_the_capped_exponential(
    attempt: int, base: float, cap: float, draw: float, delay: float
) -> None:
    assert next_delay(attempt, base=base, cap=cap, retry_after=None, rand=lambda: draw) == delay


@given(
    attempt=st.integers(min_value=0, max_value=5000),
    cap=st.floats(min_value=0.01, max_value=3600),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_delay_never_exceeds_the_cap(attempt: int, cap: float, draw: float) -> None:
    assert 0 <= next_delay(attempt, cap=cap, retry_after=None, rand=lambda: draw) <= cap


@given(
    attempt=st.integers(min_value=0, max_value=5000),
    retry_after=st.floats(min_value=0, max_value=100_000),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_delay_is_never_shorter_than_retry_after(
    attempt: int, retry_after: float, draw: float
) -> None:
    delay = next_delay(attempt, retry_after=retry_after, rand=lambda: draw)
    assert delay >= retry_after
    assert delay <= max(retry_after, 300.0)


@pytest.mark.parametrize(("attempt", "ceiling"), [(0, 2.0), (1, 4.0), (3, 16.0), (8, 300.0)])
def test_delay_ceiling_doubles_per_attempt_up_to_the_cap(attempt: int, ceiling: float) -> None:
    assert next_delay(attempt, retry_after=None, rand=lambda: 0.5) == ceiling / 2


def test_a_negative_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt"):
        next_delay(-1, retry_after=None, rand=lambda: 0.5)


@pytest.mark.parametrize(
    ("fields", "hidden"),
    [
        (
            {"url": "https://oapi.dingtalk.com/robot/send?access_token=a1b2c3d4e5"},
            ["a1b2c3d4e5"],
        ),
        ({"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wk-693a"}, ["wk-693a"]),
        (
            {"url": "https://open.feishu.cn/open-apis/bot/v2/hook/fs-hook-77"},
            ["fs-hook-77"],
        ),
        (
            {"url": "https://hooks.slack.com/services/T0AAA/B0BBB/xoxSecret"},
            ["T0AAA", "B0BBB", "xoxSecret"],
        ),
        (
            {
                "url": "https://e1.environment.api.powerplatform.com/powerautomate/automations/"
                "direct/workflows/wf-0042/triggers/manual/paths/invoke?api-version=1&sig=Ab%2Bcd9"
            },
            ["wf-0042", "Ab%2Bcd9", "Ab+cd9"],
        ),
        ({"url": "https://user:hunter22@hooks.example.com/in"}, ["hunter22"]),
        ({"url": "https://hooks.example.com/in/8f14e45fceea167a5a36"}, ["8f14e45fceea167a5a36"]),
        ({"secret": "SEC0123456789abcdef"}, ["SEC0123456789abcdef"]),
        (
            {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8I"},
            ["whsec_MfKQ9r8GKYqrTwjUPD8I", "MfKQ9r8GKYqrTwjUPD8I"],
        ),
        ({"routing_key": "R0123456789abcdef0123456789abcde"}, ["R0123456789abcdef0123456789abcde"]),
    ],
)
def test_secrets_and_url_tokens_are_redacted(fields: dict[str, str], hidden: list[str]) -> None:
    route = replace(ROUTE, **fields)  # type: ignore[arg-type]
    text = " | ".join([*fields.values(), *hidden])
    cleaned = redact(text, secrets_of(route))
    for secret in [*fields.values(), *hidden]:
        assert secret not in cleaned
    assert "[redacted]" in cleaned


def test_redaction_leaves_ordinary_words_alone() -> None:
    url = (
        "https://e1.environment.api.powerplatform.com/powerautomate/automations/"
        "direct/workflows/wf-0042/triggers/manual/paths/invoke?api-version=1&sig=Ab%2Bcd9"
    )
    text = "manual trigger failed; see invoke log"
    assert redact(text, secrets_of(replace(ROUTE, url=url))) == text


def test_the_whole_url_goes_before_its_token_leaves_a_stub() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=a1b2c3d4e5"
    route = replace(ROUTE, url=url)
    assert redact(f"POST {url} failed", secrets_of(route)) == "POST [redacted] failed"


def test_empty_or_tiny_strings_never_shred_the_text() -> None:
    assert redact("a page about ab", ["", "a", "ab"]) == "a page about ab"


MENTION_FIELDS = {
    "mobiles": {"mention_mobiles": ("13800001111",)},
    "user_ids": {"mention_user_ids": ("u1",)},
    "all": {"mention_all": True},
}


@pytest.mark.parametrize("kind", MENTION_FIELDS)
@pytest.mark.parametrize("channel", CHANNELS)
def test_validation_allows_exactly_the_mentions_a_channel_sends(channel: str, kind: str) -> None:
    # A mention the builder drops leaves the bytes unchanged; validation must refuse those.
    plain = replace(
        ROUTE,
        channel=channel,
        url="https://x.example/h",
        secret="whsec_c2VjcmV0",
        routing_key="R" * 32,
    )
    asking = replace(plain, **MENTION_FIELDS[kind])  # type: ignore[arg-type]
    message = Message("t", "body", "r-1", False, "error", "trigger", "cslir:r-1")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    sent = [build(r, message, now=now, idempotency_key="k").body for r in (plain, asking)]
    assert (sent[0] != sent[1]) == (kind in MENTIONS[channel])


@pytest.mark.parametrize(
    ("field", "value"), [("severity", "catastrophic"), ("event", "acknowledge")]
)
def test_a_message_refuses_values_outside_the_documented_sets(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        Message(
            **{  # type: ignore[arg-type]
                "title": "t",
                "text": "x",
                "run_id": "r",
                "drill": False,
                "severity": "info",
                "event": "trigger",
                "dedup_key": "k",
                field: value,
            }
        )
