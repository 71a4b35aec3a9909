"""The after-action record: report data built from a run's events, its three renderings, the
improvement plan, the mitigation file and export bundles.

An application layer: it may import ``base``, ``engine``, ``opsrepo`` and ``store``.
"""
