"""The command line: the lazy click group (``cli``), the shared wiring (``app``) and one module
per command, each of which parses options, calls one core function and prints.

The top layer: it may import anything; nothing imports it but ``cslir.__main__``.
"""
