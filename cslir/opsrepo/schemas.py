"""The shapes of cslir's files, declared once: route, drill and settings files here, playbooks
and step files in ``playbookschema``.

``cslir validate`` checks files against these, and ``cslir schema`` exports them as JSON Schema
for editors (the copies in ``schema/`` are kept current by a test).
"""

from __future__ import annotations

from cslir.opsrepo.playbookschema import PLAYBOOK, STEPS
from cslir.opsrepo.schemaparts import ID, ID_MSG, LANG, NAME, NAME_MSG, duration, ident, text
from cslir.opsrepo.spec import AnyValue, Bool, Const, Enum, Str, Type
from cslir.opsrepo.speccompound import ListOf, MapOf, Obj

CHANNELS = ("webhook", "slack", "teams", "pagerduty", "dingtalk", "wecom", "feishu")

SECRET_OR_REF = Str(description="A reference such as ${env:NAME}; never the secret itself.")

ROUTE = Obj(
    "route",
    {
        "channel": Enum(CHANNELS),
        "title": text(),
        "url": SECRET_OR_REF,
        "secret": SECRET_OR_REF,
        "routing_key": SECRET_OR_REF,
        "mention": Obj(
            "mention", {"mobiles": ListOf(Str()), "user_ids": ListOf(Str()), "all": Bool()}
        ),
        "format": Enum(("markdown", "text", "post", "card")),
        "severity": Enum(("critical", "error", "warning", "info")),
        "fallback": ident("Route tried when this one fails."),
        "drill_route": ident("Route that receives this route's messages in drills."),
        "rate_limit": Str(r"[0-9]+/[0-9]+[smh]", "is not a rate such as 20/1m"),
        "timeout": duration(),
    },
    required=("channel",),
)

ROUTES = Obj(
    "route file",
    {"cslir": Const(1), "routes": MapOf(ROUTE, key_pattern=ID, key_message=ID_MSG, min_items=1)},
    required=("routes",),
)

INJECT = Obj(
    "inject",
    {
        "at": duration("Offset from the drill's start."),
        "after": ident("After this step."),
        "message": text(),
        "set": MapOf(AnyValue(), key_pattern=NAME, key_message=NAME_MSG),
    },
    required=("message",),
)

OBJECTIVE = Obj(
    "objective",
    {
        "id": ident(),
        "text": text(),
        "step": ident(),
        "clock": ident(),
        "within": duration(),
        "core_capability": Str(),
    },
    required=("id", "text"),
)

DRILL = Obj(
    "drill",
    {
        "cslir": Const(1),
        "id": ident(),
        "title": text(),
        "playbook": Str(description="Path of the playbook, relative to this file."),
        "inputs": MapOf(AnyValue(), key_pattern=NAME, key_message=NAME_MSG),
        "schedule": Obj("schedule", {"cron": Str(), "timezone": Str()}, required=("cron",)),
        "cadence": duration("Rehearse at least this often."),
        "participants": ListOf(ident()),
        "injects": ListOf(INJECT),
        "objectives": ListOf(OBJECTIVE),
        "answers": MapOf(AnyValue()),
    },
    required=("cslir", "id", "playbook"),
)

SETTINGS = Obj(
    "settings",
    {
        "cslir": Const(1),
        "name": Str(),
        "store": Str(description="Path of the SQLite store, relative to the ops root."),
        "timezone": Str(description="IANA time zone for display, e.g. Asia/Shanghai."),
        "language": Str(LANG, "is not a language code such as en or zh"),
        "responders": MapOf(Obj("responder", {"roles": ListOf(ident()), "name": Str()})),
        "routes": Obj(
            "default routes",
            {
                "escalate": ident("Paged on a clock's warnings and miss when it names none."),
                "audit": ident("Sent the run, seq and chain head at each milestone (a witness)."),
            },
        ),
        "signing_key": Str(
            description="The organisation's Ed25519 private key (PEM, or a path to it), as a"
            " secret reference such as ${env:CSLIR_SIGNING_KEY}: signs checkpoints."
        ),
        "verify_key": Str(
            description="Path of the public key, relative to the ops root: `cslir verify` checks"
            " checkpoints with it."
        ),
        "role_routes": MapOf(
            ident(),
            key_pattern=ID,
            key_message=ID_MSG,
            description="Role -> the route paged when an approval by that role is requested.",
        ),
    },
    required=("cslir",),
)

KINDS: dict[str, tuple[Type, str]] = {
    "playbook": (PLAYBOOK, "cslir playbook"),
    "route": (ROUTES, "cslir notifier routes"),
    "drill": (DRILL, "cslir drill"),
    "settings": (SETTINGS, "cslir settings"),
    "steps": (STEPS, "cslir shared steps"),
}
