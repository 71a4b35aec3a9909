"""Milestones made provable: the head witnessed by the ``audit`` route and signed by the key.

After each milestone (``engine.state.milestone``) a run session records, each in its own commit
so that each follows exactly the head it names:

1. a ``notify.requested`` to the settings' ``audit`` route carrying the run, seq and head of the
   chain at the milestone: a copy held outside this machine (an outside witness);
2. a ``checkpoint.signed`` event: the organisation key's signature on the head that now ends
   the chain (the witness request included).

A process that dies between the two leaves the milestone unsealed; the next session on the run
(with the key) seals it, because the state says which milestone was last witnessed and signed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cslir.engine import actions
from cslir.engine.events import Event
from cslir.engine.state import RunState
from cslir.trust.checkpoints import sign_head

if TYPE_CHECKING:
    from cslir.runs.session import RunCore as RunSession

SYSTEM = "cslir"


def witness_message(st: RunState) -> str:
    return (
        f"cslir record witness: run {st.run_id}, event {st.last_seq}, chain head {st.head}"
        f" ({st.playbook.id}{', drill' if st.drill else ''})"
    )


def unsealed(session: RunSession, st: RunState) -> bool:
    """Whether the last milestone still wants its witness or its signature (cheap: no I/O)."""
    if session.sealing:
        return False
    witness = session.audit_route is not None and st.milestone_seq > st.witness_seq
    return witness or (session.signer is not None and st.milestone_seq > st.checkpoint_seq)


def seal_milestones(session: RunSession) -> list[Event]:
    """Witness and sign the last milestone if that has not been done yet."""
    if session.sealing or (session.signer is None and session.audit_route is None):
        return []
    session.sealing = True
    try:
        out: list[Event] = []
        if session.audit_route is not None:
            route = session.audit_route

            def witness(st: RunState) -> actions.Events:
                if st.milestone_seq <= st.witness_seq:
                    return []
                data = {"route": route, "message": witness_message(st), "reason": "witness",
                        "seq": st.last_seq, "head": st.head}  # fmt: skip
                return [("notify.requested", data)]

            out += session.record(witness, actor=SYSTEM)
        if session.signer is not None:
            out += session.record(
                lambda st: (
                    _checkpoint(session, st, "milestone")
                    if st.milestone_seq > st.checkpoint_seq
                    else []
                ),
                actor=SYSTEM,
            )
        return out
    finally:
        session.sealing = False


def seal_head(session: RunSession, reason: str = "session") -> list[Event]:
    """Sign the head unless the last event already is a checkpoint (needs a signer)."""
    if session.signer is None:
        return []
    session.sealing = True
    try:
        return session.record(
            lambda st: _checkpoint(session, st, reason) if st.checkpoint_seq < st.last_seq else [],
            actor=SYSTEM,
        )
    finally:
        session.sealing = False


def _checkpoint(session: RunSession, st: RunState, reason: str) -> actions.Events:
    assert session.signer is not None
    data = sign_head(session.signer, st.run_id, st.last_seq, st.head, reason)
    return [("checkpoint.signed", data)]
