"""Running a playbook: the session core that records events (``session``), step effects
(``effects``: pages, approvals, evidence, commands), command steps (``commandstep``),
content-addressed evidence (``evidence``), ``--auto``/``--answers`` driving (``automation``) and
answers files and starting inputs (``answers``).

An application layer: it may import ``base``, ``engine``, ``opsrepo``, ``store`` and
``notify``; never ``terminal``, ``report`` or ``commands``. Asking on a terminal is passed in.
"""
