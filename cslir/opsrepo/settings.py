"""Where the ops repo is, where the store is (a file or a PostgreSQL URL), and cslir.yaml."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cslir.base import storeurl
from cslir.base.errors import InvalidInput

SETTINGS_FILE = "cslir.yaml"


def find_root(explicit: str | None, environ: Mapping[str, str], cwd: Path) -> Path:
    """``--root``, else ``$CSLIR_ROOT``, else the nearest ancestor holding cslir.yaml, else cwd."""
    if explicit:
        return (cwd / explicit).resolve()
    if environ.get("CSLIR_ROOT"):
        return (cwd / environ["CSLIR_ROOT"]).resolve()
    here = cwd.resolve()
    for candidate in (here, *here.parents):
        if (candidate / SETTINGS_FILE).is_file():
            return candidate
    return here


@dataclass(frozen=True)
class Settings:
    root: Path
    store: Path | str  # a SQLite file, or a postgresql:// URL (its password only referenced)
    timezone: str | None = None
    language: str = "en"
    responders: Mapping[str, Any] = field(default_factory=dict)
    routes: Mapping[str, str] = field(default_factory=dict)
    role_routes: Mapping[str, str] = field(default_factory=dict)  # role -> route for approvals
    signing_key: str | None = None  # a secret reference to the private key (PEM or its path)
    verify_key: Path | None = None  # the public key file

    def roles_of(self, person: str) -> list[str] | None:
        """The roles ``responders:`` gives ``person`` (names compare without case), or None
        if it does not name them: then nothing vouches for their holding any role."""
        wanted = person.strip().casefold()
        for name, entry in self.responders.items():
            if str(name).strip().casefold() == wanted:
                roles = entry.get("roles") if isinstance(entry, Mapping) else None
                return [str(r) for r in roles] if isinstance(roles, list) else []
        return None


def load_settings(
    root_option: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    lang: str | None = None,
) -> Settings:
    """Read cslir.yaml (if present) and resolve the store path; errors are located."""
    from cslir.opsrepo import yamlload

    env = os.environ if environ is None else environ
    root = find_root(root_option, env, cwd or Path.cwd())
    data: dict[str, Any] = {}
    path = root / SETTINGS_FILE
    if path.is_file():
        try:
            doc = yamlload.load(path, display=str(path))
        except yamlload.YamlError as e:
            raise InvalidInput(e.diagnostic.format()) from None
        _check(doc)
        data = doc.data
    store_setting = env.get("CSLIR_STORE") or data.get("store")
    store: Path | str = Path(".cslir") / "cslir.db"
    if isinstance(store_setting, str) and storeurl.is_url(store_setting):
        store = store_setting
    elif store_setting:
        store = Path(str(store_setting))
    if isinstance(store, Path) and not store.is_absolute():
        store = root / store
    language = lang or (data.get("language") if isinstance(data.get("language"), str) else "en")
    return Settings(
        root=root,
        store=store,
        timezone=data.get("timezone") if isinstance(data.get("timezone"), str) else None,
        language=language or "en",
        responders=data.get("responders") or {},
        routes=data.get("routes") or {},
        role_routes=data.get("role_routes") or {},
        signing_key=_text(data, "signing_key"),
        verify_key=root / data["verify_key"] if _text(data, "verify_key") else None,
    )


def _check(doc: Any) -> None:
    """Refuse a cslir.yaml whose values are not what every command relies on (a list where a
    mapping belongs, an unknown time zone), with each error located as validate locates it."""
    from cslir.opsrepo.diagnostics import Diagnostic
    from cslir.opsrepo.documents import Collector
    from cslir.opsrepo.opschecks import check_settings
    from cslir.opsrepo.schemas import KINDS

    out: list[Diagnostic] = []
    report = Collector(doc, out)
    KINDS["settings"][0].check(doc.data, (), report)
    if not out:
        check_settings(doc.data, None, report)
    errors = sorted(d for d in out if d.severity == "error")
    if len(errors) == 1:
        raise InvalidInput(errors[0].format())
    if errors:
        listing = "\n".join(d.format() for d in errors)
        raise InvalidInput(f"{doc.path} has {len(errors)} error(s); fix them first:\n{listing}")


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None
