"""What of a route must never be printed or recorded (DESIGN.md "Notifications").

notifiers.md §0.6: DingTalk (access_token), WeCom (key), Feishu (hook token), Slack (path) and
Teams Workflows (sig=) all carry their credential in the URL, so the whole URL is secret, and
so is each token inside it: a log line may show the token without the rest of the URL.
"""

from __future__ import annotations

from urllib.parse import unquote, unquote_plus, urlsplit

from cslir.base.redaction import MIN_SECRET
from cslir.notify.channels.model import Target

_TOKEN_MIN = 16  # a long value with a digit in it is treated as a token wherever it sits
_SECRET_PARAMS = frozenset({"access_token", "key", "sig", "token", "code", "apikey", "api_key"})
_PATH_MARKERS = frozenset({"hook", "workflows"})  # Feishu /hook/<token>, Teams /workflows/<id>


def secrets_of(target: Target) -> list[str]:
    """Every string of ``target`` that must be redacted, longest first."""
    found: set[str] = set()
    for value in (target.url, target.secret, target.routing_key):
        if value:
            found.add(value)
    if target.secret and target.secret.startswith("whsec_"):
        found.add(target.secret.removeprefix("whsec_"))
    if target.url:
        found.update(_url_tokens(target.url))
    return sorted((s for s in found if len(s) >= MIN_SECRET), key=lambda s: (-len(s), s))


def _url_tokens(url: str) -> set[str]:
    parts = urlsplit(url)
    tokens: set[str] = set()
    if parts.password:
        tokens.add(parts.password)
    values = [unquote_plus(pair.partition("=")[2]) for pair in parts.query.split("&")]
    if any(0 < len(v) < MIN_SECRET for v in values):
        # A credential too short to hide by itself (?k=ab1) is hidden with its name: the whole
        # query, and the path with it (as an HTTP library's error names the URL).
        tokens.update({parts.query, f"{parts.path}?{parts.query}"})
    # Query values: access_token (DingTalk), key (WeCom), sig (Teams) and anything alike, both
    # as written in the URL and decoded, since either form may end up in a message.
    for pair in parts.query.split("&"):
        raw_name, _, raw_value = pair.partition("=")
        value = unquote_plus(raw_value)
        if unquote_plus(raw_name).lower() in _SECRET_PARAMS or _looks_like_token(value):
            tokens.update({raw_value, value})
    # Path tokens: Slack /services/T../B../XXXX, Feishu /hook/<token>, Teams /workflows/<id>.
    segments = [s for s in parts.path.split("/") if s]
    for i, segment in enumerate(segments):
        marked = i > 0 and segments[i - 1] in _PATH_MARKERS
        slack = "services" in segments[:i]  # every segment after /services/
        if marked or slack or _looks_like_token(segment):
            tokens.update({segment, unquote(segment)})
    return tokens


def _looks_like_token(value: str) -> bool:
    return len(value) >= _TOKEN_MIN and any(c.isdigit() for c in value)
