"""cslir: incident-response and shutdown-readiness playbooks under the PRC CSL, PIPL and DSL."""

__version__ = "0.1.0"
