"""Reading and checking the ops repo's files: safe YAML with source positions, diagnostics,
the declarative shapes and their JSON Schema export, semantic checks, ``documents`` (each file
read once and checked by kind, shared by ``validate`` and the route loader), ``validate``,
settings (``cslir.yaml``) and the ``init`` scaffold.

It may import ``cslir.base`` and ``cslir.engine``; nothing above.
"""
