"""The ground floor: the error hierarchy, the wall clock and time formats, whole-file writes,
crash logs, secret references (``${env:NAME}``) and their redaction, and process liveness.

Everything else may import from here; this package imports nothing else of cslir, and no
third-party library.
"""
