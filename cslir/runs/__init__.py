"""Running a playbook: the session core that records events, step effects (commands,
evidence, pages, approvals), automation (``--auto``) and answers files.

An application layer: it may import ``base``, ``engine``, ``opsrepo``, ``store`` and
``notify``; never ``terminal``, ``report`` or ``commands``.
"""
