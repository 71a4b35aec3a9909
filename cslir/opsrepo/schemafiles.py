"""JSON Schema documents as committed in schema/ and printed by ``cslir schema``."""

from __future__ import annotations

import json

from cslir.opsrepo.schemas import KINDS
from cslir.opsrepo.spec import to_json_schema

FILENAMES = {
    "playbook": "playbook.schema.json",
    "route": "route.schema.json",
    "drill": "drill.schema.json",
    "settings": "settings.schema.json",
    "steps": "steps.schema.json",
}


def schema_dict(kind: str) -> dict[str, object]:
    spec, title = KINDS[kind]
    return to_json_schema(
        spec, title=title, schema_id=f"https://cslir.dev/schema/{FILENAMES[kind]}"
    )


def render_schema(kind: str) -> str:
    return json.dumps(schema_dict(kind), ensure_ascii=False, indent=2) + "\n"
