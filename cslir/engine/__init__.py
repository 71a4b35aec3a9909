"""The pure engine: run state folded from events, clocks, and actions turned into events.

It imports no click, requests or sqlite3 and reads no wall clock: time is passed in.
"""
