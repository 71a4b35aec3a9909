"""One error hierarchy and the exit codes DESIGN.md promises.

Every error a user can act on is a ``CslirError`` carrying the message to show. The CLI maps
them to exit codes in one place (``cslir.__main__``); anything else becomes a one-line message
plus a crash log.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # invalid playbook, verification failed, not ready
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130  # a run is paused, never lost


class CslirError(Exception):
    """An error whose message is meant for the user."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CslirError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class InvalidInput(CslirError):
    """A file (playbook, route, answers, bundle) is malformed; the message locates the fault."""


class NotFound(CslirError):
    """A named run, route, step or file does not exist."""


class StoreError(CslirError):
    """The store cannot be opened or written; nothing recorded is lost."""


class VerificationFailed(CslirError):
    """A hash chain or bundle does not verify."""


class ActionRefused(CslirError):
    """The engine refused an action (needs unmet, self-approval, unknown choice...)."""


class Interrupted(CslirError):
    """The responder paused or pressed Ctrl-C; the run is resumable."""

    exit_code = EXIT_INTERRUPTED
