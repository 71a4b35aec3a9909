"""Where the store is: a SQLite file path or a PostgreSQL URL, and the one way a URL is shown.

A PostgreSQL URL may name its password only as ``${env:NAME}`` (read when connecting), or leave
it to libpq (``PGPASSWORD``, ``PGPASSFILE``): a password written out in cslir.yaml or
``$CSLIR_STORE`` is refused, so it is never in a file, a commit or a screenshot. ``display`` is
the only form of a URL that cslir prints or records: any password in it masked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from cslir.base.errors import InvalidInput
from cslir.base.redaction import REDACTED as MASK
from cslir.base.secretrefs import ENV_REF as REF
from cslir.base.secretrefs import resolve

SCHEMES = ("postgresql", "postgres")
_QUERY_PASSWORD = re.compile(r"(?i)(^|[?&])password=[^&]*")


def is_url(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` names a PostgreSQL store (anything else is a SQLite file path)."""
    return (
        isinstance(target, str)
        and target.split("://", 1)[0].lower() in SCHEMES
        and ("://" in target)
    )


def display(url: str) -> str:
    """The URL with any password masked; safe to print even when the URL is malformed."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":" + MASK
    path, qmark, query = tail.partition("?")
    if qmark:
        query = _QUERY_PASSWORD.sub(lambda m: f"{m.group(1)}password={MASK}", query)
    return f"{scheme}://{userinfo}{at}{hostport}{slash}{path}{qmark}{query}"


@dataclass(frozen=True)
class Connection:
    """What a PostgreSQL driver is handed: the URL without its password, and the password."""

    conninfo: str
    password: str | None
    shown: str  # ``display`` of the URL as written


def connection(url: str, environ: Mapping[str, str]) -> Connection:
    """Split ``url`` into what to connect with; a password in clear is refused."""
    shown = display(url)
    try:
        parts = urlsplit(url)
        password = parts.password
        queried = dict(parse_qsl(parts.query, keep_blank_values=True))
    except ValueError as e:
        raise InvalidInput(f"the store URL {shown} is not a valid URL: {e}") from None
    written = [p for p in (password, queried.get("password")) if p is not None]
    clear = [p for p in written if not REF.fullmatch(unquote(p))]
    if clear:
        raise InvalidInput(
            f"the store URL {shown} holds a password in clear text; write it as"
            " ${env:NAME} in the URL, or leave it to PGPASSFILE or PGPASSWORD"
        )
    try:
        secret = resolve(unquote(written[0]), environ) if written else None
    except InvalidInput as e:
        raise InvalidInput(f"the store URL {shown}: {e.message}") from None
    netloc = parts.netloc
    if password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = user.split(":", 1)[0] + "@" + host
    query = "&".join(
        f"{k}={quote(v, safe='')}" for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() != "password"
    )  # fmt: skip
    conninfo = f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    return Connection(conninfo, secret, shown)
