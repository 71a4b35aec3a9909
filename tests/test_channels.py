"""Every channel's request, checked byte for byte as it arrives at a real loopback server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import requests
from httpserver import LoopbackServer, Recorded, Reply, guard_loopback, loopback_server
from standardwebhooks import Webhook

from cslir import __version__
from cslir.notify.channels import Message, Target, build, webhook
from cslir.notify.channels.send import send

NOW = datetime.fromtimestamp(1700000000, UTC)  # DingTalk's and Feishu's worked examples
KEY = "msg_p5jXN8AQM9LWM0D4loKWxJek"
MESSAGE = Message(
    title="数据库主库宕机",
    text="主库 db1 无响应。\n请按 runbook 处理。",
    run_id="r-42",
    drill=False,
    severity="critical",
    event="trigger",
    dedup_key="cslir:r-42:page",
    link="https://ops.example/r-42",
)
DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    guard_loopback(monkeypatch)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    yield from loopback_server()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def target(channel: str, url: str, **fields: object) -> Target:
    values: dict[str, object] = {
        "name": f"test-{channel}",
        "channel": channel,
        "url": url,
        "secret": None,
        "routing_key": None,
        "mention_mobiles": (),
        "mention_user_ids": (),
        "mention_all": False,
        "format": None,
        "timeout": 5.0,
    }
    values.update(fields)
    return Target(**values)  # type: ignore[arg-type]


def deliver(
    server: LoopbackServer,
    session: requests.Session,
    route: Target,
    message: Message = MESSAGE,
    now: datetime = NOW,
) -> Recorded:
    server.script(Reply(200))
    request = build(route, message, now=now, idempotency_key=KEY)
    status, _, _ = send(request, session=session, timeout=5.0)
    assert status == 200
    [recorded] = server.requests
    assert recorded.method == "POST"
    assert recorded.headers["content-type"] == "application/json; charset=utf-8"
    assert recorded.headers["user-agent"] == f"cslir/{__version__}"
    assert recorded.headers["content-length"] == str(len(recorded.body))
    assert recorded.body == request.body
    return recorded


def test_dingtalk_signs_the_worked_example_into_the_query_and_mentions_in_text(
    server: LoopbackServer, session: requests.Session
) -> None:
    route = target(
        "dingtalk",
        f"{server.url}/robot/send?access_token=AT",
        secret=DINGTALK_SECRET,
        mention_mobiles=("13800001111",),
        mention_user_ids=("user123",),
    )
    recorded = deliver(server, session, route)
    assert recorded.path == "/robot/send"
    assert recorded.query == (
        "access_token=AT&timestamp=1700000000000"
        "&sign=bTgY2yDbep%2BwesS7jKiNj%2BsrsHoADES4%2BC4f8LCHFtU%3D"
    )
    assert (
        recorded.body
        == (
            r'{"msgtype":"markdown","markdown":{"title":"数据库主库宕机",'
            r'"text":"#### 数据库主库宕机'
            r"\n\n主库 db1 无响应。\n请按 runbook 处理。\n\n[Details](https://ops.example/r-42)"
            r'\n\ncslir run r-42\n\n@13800001111 @user123"},"at":{"atMobiles":["13800001111"],'
            r'"atUserIds":["user123"],"isAtAll":false}}'
        ).encode()
    )


def test_dingtalk_without_secret_leaves_the_url_alone(
    server: LoopbackServer, session: requests.Session
) -> None:
    recorded = deliver(
        server, session, target("dingtalk", f"{server.url}/robot/send?access_token=AT")
    )
    assert recorded.query == "access_token=AT"


def test_wecom_markdown_mentions_user_ids_inside_the_content(
    server: LoopbackServer, session: requests.Session
) -> None:
    route = target(
        "wecom", f"{server.url}/cgi-bin/webhook/send?key=K", mention_user_ids=("wangqing",)
    )
    recorded = deliver(server, session, route)
    assert recorded.target == "/cgi-bin/webhook/send?key=K"
    assert (
        recorded.body
        == (
            r'{"msgtype":"markdown","markdown":{"content":"### 数据库主库宕机\n主库 db1 无响应。'
            r"\n请按 runbook 处理。\n[Details](https://ops.example/r-42)"
            r'\n<font color=\"comment\">cslir run r-42</font>\n<@wangqing>"}}'
        ).encode()
    )


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_wecom_sends_text_with_mention_lists_when_phones_or_all_are_paged(
    server: LoopbackServer, session: requests.Session, fmt: str
) -> None:
    # Markdown has no mentioned_mobile_list and no @all, so such a route goes out as text.
    route = target(
        "wecom",
        f"{server.url}/cgi-bin/webhook/send?key=K",
        format=fmt,
        mention_user_ids=("wangqing",),
        mention_mobiles=("13800001111",),
        mention_all=True,
    )
    recorded = deliver(server, session, route)
    assert (
        recorded.body
        == (
            r'{"msgtype":"text","text":{"content":"数据库主库宕机\n主库 db1 无响应。'
            r"\n请按 runbook 处理。\nDetails: https://ops.example/r-42\ncslir run r-42"
            r'","mentioned_list":["wangqing","@all"],'
            r'"mentioned_mobile_list":["13800001111"]}}'
        ).encode()
    )


def test_feishu_post_carries_the_worked_example_signature_in_the_body(
    server: LoopbackServer, session: requests.Session
) -> None:
    route = target(
        "feishu",
        f"{server.url}/open-apis/bot/v2/hook/HOOK",
        secret="abcdefghijklmnopqrstuv",
        mention_user_ids=("ou_xxx",),
        mention_all=True,
    )
    recorded = deliver(server, session, route)
    assert recorded.target == "/open-apis/bot/v2/hook/HOOK"
    assert (
        recorded.body
        == (
            r'{"timestamp":"1700000000","sign":"A97OyQ1GymUpmGiQqk2Ra6iD0tERQ0fdLE7CVfq4taI=",'
            r'"msg_type":"post","content":{"post":{"zh_cn":{"title":"数据库主库宕机","content":['
            r'[{"tag":"text","text":"主库 db1 无响应。"}],'
            r'[{"tag":"text","text":"请按 runbook 处理。"}],'
            r'[{"tag":"a","text":"Details","href":"https://ops.example/r-42"}],'
            r'[{"tag":"text","text":"cslir run r-42"}],'
            r'[{"tag":"at","user_id":"ou_xxx"},{"tag":"at","user_id":"all"}]]}}}}'
        ).encode()
    )


@pytest.mark.parametrize(
    ("timestamp", "secret", "expected"),
    [
        # mobius-ring/lark-bot-webhook-action's published vector, then worked example 2.
        (1716283459, "dGhpcyBpcyBhIGtleQ==", "8EyY+xxfJvzWjZQpdc2mgvQFaG7lF5nbxl7RITyMkJU="),
        (1700000000, "abcdefghijklmnopqrstuv", "A97OyQ1GymUpmGiQqk2Ra6iD0tERQ0fdLE7CVfq4taI="),
    ],
)
def test_feishu_signature_matches_the_test_vectors(
    server: LoopbackServer, session: requests.Session, timestamp: int, secret: str, expected: str
) -> None:
    route = target("feishu", f"{server.url}/hook/H", secret=secret)
    recorded = deliver(server, session, route, now=datetime.fromtimestamp(timestamp, UTC))
    sent = json.loads(recorded.body)
    assert (sent["timestamp"], sent["sign"]) == (str(timestamp), expected)


def test_feishu_card_goes_in_the_top_level_card_field(
    server: LoopbackServer, session: requests.Session
) -> None:
    route = target("feishu", f"{server.url}/hook/H", format="card", mention_user_ids=("ou_xxx",))
    recorded = deliver(server, session, route)
    assert (
        recorded.body
        == (
            r'{"msg_type":"interactive","card":{"config":{"wide_screen_mode":true},'
            r'"header":{"title":{"tag":"plain_text","content":"数据库主库宕机"},"template":"red"},'
            r'"elements":[{"tag":"markdown","content":"主库 db1 无响应。\n请按 runbook 处理。\n\n'
            r'[Details](https://ops.example/r-42)\n\ncslir run r-42\n\n<at id=ou_xxx></at>"}]}}'
        ).encode()
    )


def test_slack_sends_escaped_mrkdwn_text_with_mentions(
    server: LoopbackServer, session: requests.Session
) -> None:
    route = target(
        "slack",
        f"{server.url}/services/T000/B000/XXXX",
        mention_user_ids=("U012AB3CD",),
        mention_all=True,
    )
    message = replace(MESSAGE, text="主库 db1 无响应。\nload > 9 & <!here>")
    recorded = deliver(server, session, route, message)
    assert recorded.target == "/services/T000/B000/XXXX"
    assert (
        recorded.body
        == (
            r'{"text":"*数据库主库宕机*\n主库 db1 无响应。\nload &gt; 9 &amp; &lt;!here&gt;'
            r'\n<https://ops.example/r-42|Details>\ncslir run r-42\n<@U012AB3CD> <!channel>"}'
        ).encode()
    )


def test_teams_wraps_an_adaptive_card_in_the_workflows_envelope(
    server: LoopbackServer, session: requests.Session
) -> None:
    route = target(
        "teams",
        f"{server.url}/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=SIG",
        mention_user_ids=("jane@contoso.com",),
    )
    recorded = deliver(server, session, route)
    assert recorded.query == "api-version=1&sig=SIG"
    assert (
        recorded.body
        == (
            r'{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",'
            r'"contentUrl":null,"content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json",'
            r'"type":"AdaptiveCard","version":"1.4","body":['
            r'{"type":"TextBlock","text":"数据库主库宕机","wrap":true,"weight":"Bolder","size":"Medium",'
            r'"color":"Attention"},'
            r'{"type":"TextBlock","text":"主库 db1 无响应。\n请按 runbook 处理。","wrap":true},'
            r'{"type":"TextBlock","text":"cslir run r-42","wrap":true,"isSubtle":true},'
            r'{"type":"TextBlock","text":"<at>jane@contoso.com</at>","wrap":true}],'
            r'"actions":[{"type":"Action.OpenUrl","title":"Details","url":"https://ops.example/r-42"}],'
            r'"msteams":{"entities":[{"type":"mention","text":"<at>jane@contoso.com</at>",'
            r'"mentioned":{"id":"jane@contoso.com","name":"jane@contoso.com"}}]}}}]}'
        ).encode()
    )


def test_pagerduty_trigger_is_an_events_v2_event(
    server: LoopbackServer, session: requests.Session
) -> None:
    route = target("pagerduty", f"{server.url}/v2/enqueue", routing_key="R" * 32)
    recorded = deliver(server, session, route)
    assert recorded.target == "/v2/enqueue"
    assert (
        recorded.body
        == (
            r'{"routing_key":"RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR","event_action":"trigger",'
            r'"dedup_key":"cslir:r-42:page","payload":{"summary":"数据库主库宕机","source":"cslir",'
            r'"severity":"critical","timestamp":"2023-11-14T22:13:20.000+00:00",'
            r'"custom_details":{"run_id":"r-42","drill":false,'
            r'"text":"主库 db1 无响应。\n请按 runbook 处理。"}},'
            r'"client":"cslir","links":[{"href":"https://ops.example/r-42","text":"Details"}]}'
        ).encode()
    )


def test_pagerduty_resolve_carries_only_key_action_and_dedup_key(
    server: LoopbackServer, session: requests.Session
) -> None:
    route = target("pagerduty", f"{server.url}/v2/enqueue", routing_key="R" * 32)
    recorded = deliver(server, session, route, replace(MESSAGE, event="resolve"))
    assert recorded.body == (
        b'{"routing_key":"RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR",'
        b'"dedup_key":"cslir:r-42:page","event_action":"resolve"}'
    )


def test_pagerduty_defaults_to_the_documented_events_endpoint() -> None:
    route = target("pagerduty", None, routing_key="R" * 32)  # type: ignore[arg-type]
    request = build(route, MESSAGE, now=NOW, idempotency_key=KEY)
    assert request.url == "https://events.pagerduty.com/v2/enqueue"


def test_webhook_sends_standard_webhooks_headers_and_body(
    server: LoopbackServer, session: requests.Session
) -> None:
    route = target("webhook", f"{server.url}/audit?token=T", secret=WHSEC)
    recorded = deliver(server, session, route)
    body = (
        r'{"type":"incident.triggered","timestamp":"2023-11-14T22:13:20Z","data":{"run_id":"r-42",'
        r'"event":"trigger","severity":"critical","drill":false,"title":"数据库主库宕机",'
        r'"text":"主库 db1 无响应。\n请按 runbook 处理。","link":"https://ops.example/r-42",'
        r'"dedup_key":"cslir:r-42:page","mentions":{"mobiles":[],"user_ids":[],"all":false}}}'
    ).encode()
    assert recorded.body == body
    assert recorded.headers["webhook-id"] == KEY
    assert recorded.headers["webhook-timestamp"] == "1700000000"
    # The reference implementation signs the same bytes independently of cslir's code.
    assert recorded.headers["webhook-signature"] == Webhook(WHSEC).sign(KEY, NOW, body)


def test_webhook_signature_matches_the_reference_test_vector() -> None:
    body = b'{"test": 2432232314}'
    assert (
        webhook.signature(WHSEC, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_webhook_verifies_with_the_reference_library(
    server: LoopbackServer, session: requests.Session
) -> None:
    # The library checks the timestamp against the wall clock (5 minutes), so sign "now".
    route = target("webhook", f"{server.url}/audit", secret=WHSEC)
    recorded = deliver(server, session, route, now=datetime.now(UTC))
    payload = Webhook(WHSEC).verify(recorded.body, recorded.headers)
    assert payload["data"]["title"] == "数据库主库宕机"


def test_webhook_rejects_an_id_with_a_dot() -> None:
    route = target("webhook", "http://127.0.0.1:9/audit", secret=WHSEC)
    with pytest.raises(ValueError, match="must not contain"):
        build(route, MESSAGE, now=NOW, idempotency_key="run.1")


def test_webhook_timestamp_is_restamped_per_attempt_while_the_id_stays() -> None:
    route = target("webhook", "http://127.0.0.1:9/audit", secret=WHSEC)
    first = build(route, MESSAGE, now=NOW, idempotency_key=KEY)
    later = build(route, MESSAGE, now=NOW.replace(second=59), idempotency_key=KEY)
    assert first.headers["webhook-id"] == later.headers["webhook-id"] == KEY
    assert first.headers["webhook-timestamp"] != later.headers["webhook-timestamp"]
    assert first.headers["webhook-signature"] != later.headers["webhook-signature"]
