"""PostgreSQL for the tests: a fresh database per test session, a fresh schema per test.

``$CSLIR_TEST_POSTGRES`` names a server (a DSN, e.g. postgresql://postgres@127.0.0.1:5432/test).
Without it, the tests that need PostgreSQL skip saying so, unless ``CSLIR_REQUIRE_TOOLS=1``
(CI), where they fail (tests/tools.py). Other agents and CI runs share the server, so each
session creates ``cslir_test_<random>`` and drops it at the end, and each test gets a schema of
its own in it (its store URL's ``search_path``).

``store_url`` is the fixture the store suite is parametrised with: a SQLite file, then the same
tests against PostgreSQL. ``query`` reads or edits either store behind cslir's back (the
tamper tests). ``cluster`` is a private server of the session's own, for what cannot be done to
the shared one (a restart, a password).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import tools

from cslir.base.storeurl import is_url

ENV = "CSLIR_TEST_POSTGRES"


def server_dsn() -> str:
    dsn = os.environ.get(ENV, "")
    if not dsn:
        tools.missing(
            f"needs PostgreSQL: set ${ENV} to a DSN (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        tools.missing("needs psycopg: pip install -e '.[test]'")
    return dsn


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def with_schema(url: str, schema: str) -> str:
    option = quote(f"-csearch_path={schema}", safe="")
    return url + ("&" if "?" in url else "?") + f"options={option}"


def admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of this test session's own on the server, dropped at the end."""
    dsn = server_dsn()
    name = f"cslir_test_{secrets.token_hex(4)}"
    with admin(dsn) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(dsn, name)
    finally:
        with admin(dsn) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """A store URL whose tables live in a schema of this test's own."""
    schema = f"t_{secrets.token_hex(4)}"
    with admin(pg_database) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return with_schema(pg_database, schema)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store the test runs against: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "store" / "cslir.db")
    return str(request.getfixturevalue("pg_url"))


def query(store: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run ``sql`` (``?`` parameters) on the store directly, as someone editing it would."""
    if not is_url(store):
        with sqlite3.connect(store) as conn:
            return conn.execute(sql, tuple(params)).fetchall()
    from cslir.store.postgres import pg_sql

    with admin(store) as conn:
        cursor = conn.execute(pg_sql(sql), tuple(params))
        return cursor.fetchall() if cursor.description else []


def shown(store: str) -> str:
    """How cslir names the store in its messages."""
    from cslir.base.storeurl import display

    return display(store) if is_url(store) else store


# -- a PostgreSQL server of the test's own ----------------------------------------------------
# The shared server cannot be restarted (other agents use it), and it trusts every connection,
# so a bad password cannot be shown on it. These tests start a private cluster from the
# server's own binaries: password (SCRAM) authentication, a port of its own, restartable.

PASSWORD = "s3cret-Team-Mode"  # a test value, not a secret


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A throw-away PostgreSQL server on 127.0.0.1 that asks for a password."""

    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.pg_ctl = pg_ctl
        self.dir = Path(tempfile.mkdtemp(prefix="cslir-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
        if os.geteuid() == 0:  # initdb refuses root: the server's own account runs it
            shutil.chown(self.dir, "postgres")
            shutil.chown(pwfile, "postgres")
        self.run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=scram-sha-256",
                 f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync")  # fmt: skip
        self.pg("start")

    def run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def pg(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(self.pg_ctl, "-D", str(self.data), "-o", options, "-w", "-l",
                 str(self.dir / "log"), *extra, action)  # fmt: skip

    def url(self, password: str = "${env:CSLIR_TEST_PW}", database: str = "postgres") -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def restart(self) -> None:
        self.pg("restart", "-m", "fast")

    def stop(self) -> None:
        self.pg("stop", "-m", "immediate")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        tools.missing("needs PostgreSQL's server binaries (initdb, pg_ctl) for a private server")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        tools.missing("needs psycopg: pip install -e '.[test]'")
    server = Cluster(initdb, pg_ctl)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)
