"""How each channel's answers are judged: success, permanent failure, or retry (and when)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cslir.notify.channels import Outcome, Target, judge
from cslir.notify.channels.judging import parse_retry_after

NOW = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
URLS = {
    "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token=DTTOKEN0123456789",
    "wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=WECOMKEY0123",
    "feishu": "https://open.feishu.cn/open-apis/bot/v2/hook/FEISHUHOOK01",
    "slack": "https://hooks.slack.com/services/T000/B000/SLACKSECRET1",
    "teams": "https://x.environment.api.powerplatform.com/workflows/wf1/paths/invoke?sig=TEAMSSIG01",
    "pagerduty": "https://events.pagerduty.com/v2/enqueue",
    "webhook": "https://hooks.example.com/audit",
}


def target(channel: str) -> Target:
    return Target(
        name=f"test-{channel}",
        channel=channel,
        url=URLS[channel],
        secret=None,
        routing_key="R" * 32 if channel == "pagerduty" else None,
        mention_mobiles=(),
        mention_user_ids=(),
        mention_all=False,
        format=None,
        timeout=5.0,
    )


def verdict(
    channel: str, status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> Outcome:
    return judge(target(channel), status, headers or {}, body, now=NOW)


OK = (True, False, None)
PERMANENT = (False, False, None)


def retry(after: float | None = None) -> tuple[bool, bool, float | None]:
    return (False, True, after)


ANSWERS = [
    # DingTalk: HTTP 200 always; errcode decides. 130101 mutes the robot for 10 minutes.
    ("dingtalk", 200, b'{"errcode":0,"errmsg":"ok"}', OK, "HTTP 200 errcode 0: ok"),
    (
        "dingtalk",
        200,
        b'{"errcode":310000,"errmsg":"sign not match"}',
        PERMANENT,
        "HTTP 200 errcode 310000: sign not match",
    ),
    (
        "dingtalk",
        200,
        b'{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}',
        retry(600.0),
        "HTTP 200 errcode 130101: send too fast, exceed 20 times per minute",
    ),
    ("dingtalk", 200, b'{"errcode":-1,"errmsg":"busy"}', retry(), "HTTP 200 errcode -1: busy"),
    ("dingtalk", 200, b'{"errcode":300001,"errmsg":"token is not exist"}', PERMANENT, None),
    ("dingtalk", 200, b'{"errcode":90030,"errmsg":"webhook over limit"}', PERMANENT, None),
    (
        "dingtalk",
        200,
        b"<html>proxy</html>",
        PERMANENT,
        "HTTP 200 without errcode: <html>proxy</html>",
    ),
    ("dingtalk", 200, b'{"errmsg":"ok"}', PERMANENT, None),
    ("dingtalk", 502, b"Bad Gateway", retry(), "HTTP 502: Bad Gateway"),
    # WeCom: HTTP 200 with errcode; 45009 is the per-minute frequency limit.
    ("wecom", 200, b'{"errcode":0,"errmsg":"ok"}', OK, None),
    ("wecom", 200, b'{"errcode":0}', OK, "HTTP 200 errcode 0"),
    ("wecom", 200, b'{"errcode":-1,"errmsg":"system busy"}', retry(), None),
    ("wecom", 200, b'{"errcode":45009,"errmsg":"api freq out of limit"}', retry(60.0), None),
    (
        "wecom",
        200,
        b'{"errcode":40058,"errmsg":"markdown.content exceed max length 4096."}',
        PERMANENT,
        "HTTP 200 errcode 40058: markdown.content exceed max length 4096.",
    ),
    ("wecom", 200, b'{"errcode":40008,"errmsg":"invalid message type"}', PERMANENT, None),
    ("wecom", 200, b'{"errcode":93000,"errmsg":"invalid webhook url"}', PERMANENT, None),
    # Feishu: HTTP 200 with code (or the legacy StatusCode alone).
    ("feishu", 200, b'{"code":0,"msg":"success","data":{},"StatusCode":0}', OK, None),
    ("feishu", 200, b'{"Extra":null,"StatusCode":0,"StatusMessage":"success"}', OK, None),
    (
        "feishu",
        200,
        b'{"code":19021,"msg":"sign match fail or timestamp is not within one hour'
        b' from current time"}',
        PERMANENT,
        None,
    ),
    ("feishu", 200, b'{"code":19022,"msg":"Ip Not Allowed"}', PERMANENT, None),
    ("feishu", 200, b'{"code":19024,"msg":"Key Words Not Found"}', PERMANENT, None),
    (
        "feishu",
        200,
        b'{"code":9499,"msg":"Bad Request"}',
        PERMANENT,
        "HTTP 200 code 9499: Bad Request",
    ),
    ("feishu", 200, b'{"code":11232,"msg":"frequency limited"}', retry(), None),
    # Slack: HTTP 200 "ok"; errors as plain-text codes with a 4xx/5xx.
    ("slack", 200, b"ok", OK, "HTTP 200: ok"),
    ("slack", 400, b"invalid_payload", PERMANENT, "HTTP 400: invalid_payload"),
    ("slack", 404, b"channel_not_found", PERMANENT, "HTTP 404: channel_not_found"),
    (
        "slack",
        410,
        b"channel_is_archived",
        PERMANENT,
        "HTTP 410: channel_is_archived (gone: disable this destination)",
    ),
    ("slack", 500, b"rollup_error", retry(), "HTTP 500: rollup_error"),
    # Teams Workflows: 202 Accepted with an empty body.
    ("teams", 202, b"", OK, "HTTP 202 accepted"),
    ("teams", 400, b"", PERMANENT, "HTTP 400"),
    ("teams", 503, b"", retry(), "HTTP 503"),
    # PagerDuty: 202 accepted; 400 invalid event is permanent; 429 and 5xx retried.
    (
        "pagerduty",
        202,
        b'{"status":"success","message":"Event processed","dedup_key":"cslir:r-42"}',
        OK,
        None,
    ),
    ("pagerduty", 200, b"", PERMANENT, "HTTP 200 (not 202)"),
    ("pagerduty", 400, b'{"status":"invalid event"}', PERMANENT, None),
    ("pagerduty", 429, b"", retry(), "HTTP 429"),
    ("pagerduty", 500, b"", retry(), None),
    # Standard Webhooks: 2xx success; 3xx and 4xx failures; 429/502/504 throttle.
    ("webhook", 200, b"", OK, "HTTP 200"),
    ("webhook", 204, b"", OK, "HTTP 204"),
    ("webhook", 302, b"", PERMANENT, "HTTP 302 (redirect not followed)"),
    ("webhook", 404, b"", PERMANENT, None),
    ("webhook", 410, b"", PERMANENT, "HTTP 410 (gone: disable this destination)"),
    ("webhook", 408, b"", retry(), None),
    ("webhook", 504, b"", retry(), None),
]


@pytest.mark.parametrize(("channel", "status", "body", "expected", "detail"), ANSWERS)
def test_answers_are_judged_as_the_channel_documents(
    channel: str,
    status: int,
    body: bytes,
    expected: tuple[bool, bool, float | None],
    detail: str | None,
) -> None:
    outcome = verdict(channel, status, body)
    assert (outcome.ok, outcome.retryable, outcome.retry_after) == expected
    if detail is not None:
        assert outcome.detail == detail


@pytest.mark.parametrize("channel", list(URLS))
@pytest.mark.parametrize("name", ["Retry-After", "retry-after"])
def test_a_429_is_retried_after_the_servers_retry_after(channel: str, name: str) -> None:
    outcome = verdict(channel, 429, b"", {name: "30"})
    assert (outcome.ok, outcome.retryable, outcome.retry_after) == (False, True, 30.0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("900", 900.0), ("5", 600.0)],  # a header may lengthen DingTalk's 10 minutes, not shorten
)
def test_dingtalk_throttle_waits_at_least_ten_minutes(header: str, expected: float) -> None:
    body = b'{"errcode":130101,"errmsg":"send too fast"}'
    assert verdict("dingtalk", 200, body, {"Retry-After": header}).retry_after == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("Wed, 01 May 2024 10:01:30 GMT", 90.0),  # an HTTP-date, 90 s after NOW
        ("Wed, 01 May 2024 09:00:00 GMT", 0.0),  # already past: retry now
        ("Wed, 01 May 2024 10:01:30 -0000", 90.0),  # parsed naive, still UTC
        ("-5", None),
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_a_retry_after_on_success_is_ignored() -> None:
    assert verdict("webhook", 200, b"", {"Retry-After": "30"}).retry_after is None


def test_detail_never_shows_the_routes_secrets() -> None:
    body = b'{"errcode":93000,"errmsg":"invalid webhook url, key=WECOMKEY0123"}'
    outcome = verdict("wecom", 200, body)
    assert outcome.detail == "HTTP 200 errcode 93000: invalid webhook url, key=[redacted]"


def test_detail_is_one_short_line() -> None:
    outcome = verdict("slack", 400, b"bad\n" * 500)
    assert "\n" not in outcome.detail
    assert len(outcome.detail) <= 200


def test_judge_rejects_an_unknown_channel() -> None:
    route = Target("r", "carrier-pigeon", None, None, None, (), (), False, None, 1.0)
    with pytest.raises(ValueError, match="unknown channel 'carrier-pigeon'"):
        judge(route, 200, {}, b"")
