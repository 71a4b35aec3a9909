"""The shape of a playbook and of a shared step file: inputs, clocks, and each kind of step.

``schemas.KINDS`` lists it with the other files' shapes; ``cslir schema`` exports it.
"""

from __future__ import annotations

from cslir.opsrepo.schemaparts import (
    BASIS,
    ID,
    ID_MSG,
    LANG,
    NAME,
    NAME_MSG,
    duration,
    expr,
    ident,
    text,
)
from cslir.opsrepo.spec import AnyValue, Bool, Const, Enum, Int, Refused, Str, Type
from cslir.opsrepo.speccompound import Keyed, ListOf, MapOf, Obj, OneOf, Tagged

STEP_KINDS = ("task", "decision", "approval", "command", "notify", "evidence", "wait", "probe")
PURPOSES = ("report", "containment", "notification", "cooperation", "evidence", "remediation")
INPUT_TYPES = ("string", "text", "int", "bool", "choice", "datetime", "duration")
CONFIDENCE = ("high", "medium", "low")

CHOICE = OneOf(
    (
        Str(),
        Obj("choice", {"value": Str(), "label": text()}, required=("value",)),
    ),
    expected="text or a mapping with value and label",
)

INPUT = Obj(
    "input",
    {
        "type": Enum(INPUT_TYPES, description="How the answer is parsed and asked."),
        "prompt": text("The question asked of the responder."),
        "help": text("More explanation shown on request."),
        "default": AnyValue(
            description="Used when the responder just presses Enter; "
            "for datetime inputs 'now' is allowed."
        ),
        "required": Bool(description="Whether an answer is needed (default true)."),
        "choices": ListOf(CHOICE, min_items=1),
        "basis": BASIS,
    },
    required=("type",),
)

CLOCK = Obj(
    "clock",
    {
        "title": text("What is due."),
        "from": Str(description="When it starts: an input name, 'start', or 'step:<id>'."),
        "due": duration("How long after its start it falls due (or use due_at)."),
        "due_at": Str(
            NAME,
            NAME_MSG,
            description="A datetime input holding the deadline the outside world set "
            "(e.g. the date a regulator's notice states), instead of due.",
        ),
        "stop": Enum(
            ("first", "all"),
            description="first (default): the first stopping step to finish stops it; "
            "all: every stopping step that applies must finish (one report per recipient).",
        ),
        "due_if": MapOf(
            duration(),
            description="Tighter deadlines under conditions: "
            "expression -> duration. The tightest that holds wins.",
        ),
        "when": expr("Expression over the inputs; the clock exists only when it is true."),
        "warn": ListOf(duration(), description="Warn this long before the deadline."),
        "escalate": ident("Route paged on each warning and on a miss."),
        "basis": BASIS,
        "confidence": Enum(
            CONFIDENCE,
            description="How sure the legal research is of this "
            "deadline (reference/regulatory.md).",
        ),
        "recipient": text("Who receives the report."),
    },
    required=("from", "basis"),
)

_COMMON = {
    "id": ident("Unique step id."),
    "title": text("One line the responder sees."),
    "kind": Enum(STEP_KINDS),
    "instructions": text("What to do, as a template over the inputs."),
    "owner": ident("The role that does it."),
    "needs": ListOf(ident(), description="Steps that must finish first."),
    "when": expr("Expression over the inputs; the step is skipped when false."),
    "estimate": duration("How long it usually takes (used by cslir plan)."),
    "checklist": ListOf(text(), description="Items confirmed one by one."),
    "stops": OneOf(
        (ident(), ListOf(ident(), min_items=1)),
        expected="a clock id or a list of them",
        description="Clocks stopped when this step finishes.",
    ),
    "evidence": Enum(("required", "optional"), description="Whether finishing needs evidence."),
    "basis": BASIS,
    "purpose": Enum(
        PURPOSES,
        description="What the step proves in the mitigation file and the report: a report to "
        "an authority, containment, a notice to those affected, cooperation with the "
        "authorities, evidence kept, or remediation.",
    ),
}

FLOOR = Obj(
    "floor",
    {
        "when": expr("Expression over the inputs: the threshold is met."),
        "choice": Str(description="The least choice the decision may take when it is met."),
        "indicator": text("The indicator met, as the record will name it."),
        "basis": BASIS,
        "confidence": Enum(CONFIDENCE),
    },
    required=("when", "choice", "indicator"),
)

TEMPLATE_TEXT = Str(description="A template over the inputs.")
HTTP_PROBE = Obj(
    "http probe",
    {
        "url": Str(description="http:// or https:// URL (a template)."),
        "method": Enum(("GET", "HEAD", "POST")),
        "expect_status": ListOf(Int(minimum=100), min_items=1, description="Statuses that hold."),
        "absent": text("Body text that must not appear (e.g. the login form's label)."),
        "present": text("Body text that must appear (e.g. after a restore)."),
        "unreachable_ok": Bool(
            description="true: a connection that fails (refused, timed out, no such name) "
            "also proves the site down."
        ),
    },
    required=("url",),
)
TCP_PROBE = Obj(
    "tcp probe",
    {
        "host": TEMPLATE_TEXT,
        "port": OneOf((Int(minimum=1), Str()), expected="a port number or a template"),
        "expect": Enum(("refused", "open")),
    },
    required=("host", "port", "expect"),
)
DNS_PROBE = Obj(
    "dns probe",
    {
        "name": TEMPLATE_TEXT,
        "expect": OneOf(
            (Enum(("nxdomain",)), ListOf(Str(), min_items=1)),
            expected="nxdomain or a list of addresses",
        ),
        "server": Str(
            description="Ask this resolver (HOST or HOST:PORT) directly instead of the "
            "system's, e.g. a public resolver outside the network."
        ),
    },
    required=("name", "expect"),
)

_KIND_FIELDS: dict[str, dict[str, Type]] = {
    "task": {},
    "decision": {
        "sets": Str(NAME, NAME_MSG, description="The input this decision sets."),
        "choices": ListOf(CHOICE, min_items=1),
        "default": AnyValue(description="The choice taken by --auto."),
    },
    "approval": {"by": ident("The role that must sign off.")},
    "command": {
        "run": ListOf(Str(), min_items=1, description="argv list; each item a template."),
        "env": MapOf(
            Str(),
            key_pattern=r"[A-Za-z_][A-Za-z0-9_]*",
            key_message="is not an environment variable name",
        ),
        "cwd": Str(),
        "timeout": duration(),
        "in_drill": Enum(("simulate", "execute", "skip")),
    },
    "notify": {
        "route": ident("The route paged."),
        "message": text("Template of the message."),
        "link": Str(
            r"https?://\S.*",
            "is not a link: write a URL that starts with https://",
            description="Template of a URL the message links to as Details (a runbook, a ticket).",
        ),
    },
    "evidence": {"collect": Enum(("file", "text", "either"))},
    "wait": {"duration": duration("How long the timer runs.")},
    "probe": {
        "http": HTTP_PROBE,
        "tcp": TCP_PROBE,
        "dns": DNS_PROBE,
        "within": duration("Keep trying this long (default 5m), then the step fails."),
        "every": duration("Wait this long between attempts (default 30s)."),
        "drill_target": Str(
            description="In a drill, probe this URL, host or name instead (a template)."
        ),
    },
}
_KIND_FIELDS["decision"]["floor"] = ListOf(
    FLOOR,
    description="Thresholds that propose the least choice (e.g. a grading indicator met); "
    "a lower choice needs a rationale and is flagged in the report.",
)
_KIND_FIELDS["probe"]["timeout"] = duration("Give up on one attempt after this long (10s).")
_KIND_FIELDS["probe"]["in_drill"] = Enum(("execute", "simulate", "skip"))


def _step_variants() -> dict[str, Obj]:
    variants = {}
    for kind, own in _KIND_FIELDS.items():
        elsewhere = {
            key: f"{other} steps"
            for other, fields in _KIND_FIELDS.items()
            if other != kind
            for key in fields
            if key not in own
        }
        required: tuple[str, ...] = ("id",)
        required += {
            "decision": ("sets",),
            "approval": ("by",),
            "command": ("run",),
            "notify": ("route",),
            "wait": ("duration",),
        }.get(kind, ())
        variants[kind] = Obj(f"{kind} step", {**_COMMON, **own}, required, elsewhere=elsewhere)
    return variants


STEP = Tagged("kind", "task", _step_variants())

INCLUDE = Obj(
    "include",
    {
        "include": Str(
            r"[^\\]+\.ya?ml",
            "is not a step file: give a relative path ending in .yaml, such as "
            "shared/open-incident.yaml",
            description="Insert the steps of this file here (a path relative to the playbook, "
            "inside the ops repo).",
        )
    },
    required=("include",),
)
STEP_OR_INCLUDE = Keyed("include", INCLUDE, STEP)

STEPS = Obj(
    "step file",
    {
        "cslir": Const(1, description="Format version."),
        "title": text("What these steps do together."),
        "summary": text(),
        "steps": ListOf(
            Keyed(
                "include",
                Refused("a step file cannot include another; include both from the playbook"),
                STEP,
            ),
            min_items=1,
        ),
    },
    required=("cslir", "steps"),
)

PLAYBOOK = Obj(
    "playbook",
    {
        "cslir": Const(1, description="Format version."),
        "id": ident(),
        "title": text(),
        "summary": text(),
        "version": Str(),
        "language": Str(LANG, "is not a language code such as en or zh"),
        "basis": BASIS,
        "roles": MapOf(text(), key_pattern=ID, key_message=ID_MSG),
        "inputs": MapOf(INPUT, key_pattern=NAME, key_message=NAME_MSG),
        "clocks": MapOf(CLOCK, key_pattern=ID, key_message=ID_MSG),
        "steps": ListOf(STEP_OR_INCLUDE, min_items=1),
    },
    required=("cslir", "id", "title", "steps"),
)
