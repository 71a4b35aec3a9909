"""Reading and checking the ops repo's files: safe YAML with source positions, diagnostics,
the declarative shapes and their JSON Schema export, semantic checks, ``validate``, settings
(``cslir.yaml``) and the ``init`` scaffold.

It may import ``cslir.base`` and ``cslir.engine``; nothing above.
"""
