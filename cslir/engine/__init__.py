"""The pure engine: the playbook model, events, durations, inputs, templates, the state fold,
clocks, and actions turned into events.

It imports only ``cslir.base`` (and Jinja2 for templates, lazily). It imports no click,
requests, YAML or sqlite3 and reads no wall clock: time and playbooks are passed in.
"""
