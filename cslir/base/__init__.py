"""The ground floor: the error hierarchy, time, files, redaction and processes.

Everything else may import from here; this package imports nothing else of cslir, and no
third-party library.
"""
