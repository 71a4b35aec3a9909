"""Routes: ``notifiers/*.yaml`` read into values, and turned into a channel Target at send time.

A route file holds only references such as ``${env:DINGTALK_URL}``; the values are read from
the environment at the moment of sending (``Route.target``) and never kept, recorded or shown.
A file with errors contributes no routes: each of its routes is reported unusable with the
file's first error, so one typo does not silently page the wrong place.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cslir.base.errors import CslirError, NotFound
from cslir.base.secretrefs import missing, resolve
from cslir.notify.channels import Target

DEFAULT_TIMEOUT = 10.0  # seconds per request; a page must not wait on one endpoint for long
SECRET_KEYS = ("url", "secret", "routing_key")


class RouteUnusable(CslirError):
    """A route cannot be sent to: its file has errors or its secrets are not in the environment.

    The message names files and variables, never a value.
    """


@dataclass(frozen=True)
class Route:
    """One route as written in its file: references, not secrets."""

    # which route, carried how, written where
    name: str
    channel: str
    source: str = ""  # the route file
    # references such as ${env:NAME} (SECRET_KEYS), resolved only at send time
    url: str | None = None
    secret: str | None = None
    routing_key: str | None = None
    # what the message looks like and whom it mentions
    format: str | None = None
    mention_mobiles: tuple[str, ...] = ()
    mention_user_ids: tuple[str, ...] = ()
    mention_all: bool = False
    # how it is sent: severity, where else it goes, how fast and how long it may take
    severity: str | None = None
    fallback: str | None = None
    drill_route: str | None = None
    rate_limit: tuple[int, float] | None = None  # (messages, per seconds)
    timeout: float = DEFAULT_TIMEOUT

    def missing_variables(self, environ: Mapping[str, str]) -> list[str]:
        """Names of the environment variables this route needs and does not find."""
        names: list[str] = []
        for key in SECRET_KEYS:
            value = getattr(self, key)
            if value:
                names += [n for n in missing(value, environ) if n not in names]
        return names

    def target(self, environ: Mapping[str, str]) -> Target:
        """The route with its secrets resolved, for one send; RouteUnusable if any is missing."""
        absent = self.missing_variables(environ)
        if absent:
            raise RouteUnusable(
                f"route '{self.name}': environment variable(s) not set: {', '.join(absent)}"
            )

        def value(key: str) -> str | None:
            raw: str | None = getattr(self, key)
            return resolve(raw, environ) if raw else None

        return Target(
            name=self.name,
            channel=self.channel,
            url=value("url"),
            secret=value("secret"),
            routing_key=value("routing_key"),
            mention_mobiles=self.mention_mobiles,
            mention_user_ids=self.mention_user_ids,
            mention_all=self.mention_all,
            format=self.format,
            timeout=self.timeout,
        )


def parse_rate(text: str) -> tuple[int, float]:
    """``20/1m`` -> (20, 60.0): that many messages per that window."""
    from cslir.engine.durations import parse_duration

    count, _, window = text.partition("/")
    return int(count), float(parse_duration(window.strip()).seconds)


def route_from(name: str, data: Mapping[str, Any], source: str) -> Route:
    """A Route from data that passed validation."""
    from cslir.engine.durations import parse_duration

    mention = data.get("mention") or {}
    rate = data.get("rate_limit")
    timeout = data.get("timeout")
    return Route(
        name=name,
        channel=str(data["channel"]),
        source=source,
        url=data.get("url"),
        secret=data.get("secret"),
        routing_key=data.get("routing_key"),
        format=data.get("format"),
        mention_mobiles=tuple(str(m) for m in mention.get("mobiles") or ()),
        mention_user_ids=tuple(str(u) for u in mention.get("user_ids") or ()),
        mention_all=bool(mention.get("all", False)),
        severity=data.get("severity"),
        fallback=data.get("fallback"),
        drill_route=data.get("drill_route"),
        rate_limit=parse_rate(rate) if isinstance(rate, str) else None,
        timeout=float(parse_duration(timeout).seconds) if timeout else DEFAULT_TIMEOUT,
    )


@dataclass(frozen=True)
class RouteSet:
    """Every route of an ops repo, and why any named in a broken file cannot be used."""

    routes: Mapping[str, Route]
    broken: Mapping[str, str]  # route name -> the first error of its file

    def get(self, name: str) -> Route:
        if name in self.routes:
            return self.routes[name]
        if name in self.broken:
            raise RouteUnusable(f"route '{name}' cannot be used: {self.broken[name]}")
        from cslir.opsrepo.diagnostics import did_you_mean

        known = [*self.routes, *self.broken]
        raise NotFound(f"no route named '{name}' in notifiers/{did_you_mean(name, known)}")

    def names(self) -> list[str]:
        return sorted([*self.routes, *self.broken])


def load_routes(root: Path) -> RouteSet:
    """Read and check every route file under ``root/notifiers``, each parsed once."""
    from cslir.opsrepo import yamlload
    from cslir.opsrepo.documents import Documents, check_document, errors_of, yaml_files

    documents = Documents()
    names = documents.route_names(root)
    routes: dict[str, Route] = {}
    broken: dict[str, str] = {}
    for path in yaml_files(root / "notifiers"):
        doc = documents.get(path)
        if isinstance(doc, yamlload.YamlError):
            broken[f"<{path.name}>"] = doc.diagnostic.format()
            continue
        errors = errors_of(check_document(doc, "route", names, path, documents))
        found = doc.data.get("routes")
        for name, data in (found if isinstance(found, dict) else {}).items():
            if errors:
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                broken[str(name)] = errors[0].format() + more
            else:
                routes[str(name)] = route_from(str(name), data, doc.path)
    return RouteSet(routes, broken)


class RouteBook:
    """The routes of an ops repo, read again whenever a file under ``notifiers/`` changes."""

    def __init__(self, root: Path, *, recheck: float = 1.0) -> None:
        self.root = root
        self.recheck = recheck  # seconds between looks at the files' sizes and times
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._checked = float("-inf")
        self._set = RouteSet({}, {})

    def current(self) -> RouteSet:
        if time.monotonic() - self._checked < self.recheck:
            return self._set
        stamp = self._files_stamp()
        if stamp != self._stamp:
            self._set = load_routes(self.root)
            self._stamp = stamp
        self._checked = time.monotonic()
        return self._set

    def get(self, name: str) -> Route:
        return self.current().get(name)

    def _files_stamp(self) -> tuple[tuple[str, int, int], ...]:
        folder = self.root / "notifiers"
        if not folder.is_dir():
            return ()
        out = []
        for dirpath, _, filenames in os.walk(folder):
            for filename in filenames:
                try:
                    st = os.stat(os.path.join(dirpath, filename))
                except OSError:
                    continue
                out.append((os.path.join(dirpath, filename), st.st_mtime_ns, st.st_size))
        return tuple(sorted(out))
