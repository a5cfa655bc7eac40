"""Which agent requests are allowed from which state, and which state changes exist.

Pure tables, no I/O.  The router checks a request against `ALLOWED_FROM` before it
changes anything (so a refused request leaves everything as it was), and
`EDGES` lists every state change the router may make; a test holds the router
to it.  An edge from a state to itself is a change of presence or reason only
(a pending logout, a new not-ready reason).
"""
from __future__ import annotations

from .model import AcdError, Agent, AgentState

__all__ = ["ALLOWED_FROM", "EDGES", "LOGGED_IN", "FREE_STATES", "check_request", "is_edge"]

S = AgentState

LOGGED_IN = frozenset(s for s in AgentState if s is not S.LOGGED_OUT)

# Free states: a logout takes effect at once, no call is attached to the agent.
FREE_STATES = frozenset({S.READY, S.NOT_READY})

# request -> states the agent may be in when it is made
ALLOWED_FROM: dict[str, frozenset[AgentState]] = {
    "login": frozenset({S.LOGGED_OUT}),
    "ready": frozenset({S.NOT_READY, S.WRAP_UP}),
    "not_ready": frozenset({S.READY, S.NOT_READY, S.WRAP_UP}),
    "logout": LOGGED_IN,
    "answered": frozenset({S.RESERVED}),
    "offer_failed": frozenset({S.RESERVED}),
    "hold": frozenset({S.ON_CALL}),
    "unhold": frozenset({S.ON_HOLD}),
    "call_ended": frozenset({S.ON_CALL, S.ON_HOLD}),
    "wrap_up_done": frozenset({S.WRAP_UP}),
    # Direct reservations, outside the line (see Router.reserve_direct): a
    # click-to-dial rings the agent's own phone, so only an agent who takes no
    # ACD call right now may dial (never while ready: no offer may collide);
    # a consultation (attended transfer) and a blind transfer to a named agent
    # need that agent ready.
    "dial": frozenset({S.NOT_READY, S.WRAP_UP}),
    "consult": frozenset({S.READY}),
    "offer_to": frozenset({S.READY}),
    "direct_answered": frozenset({S.RESERVED}),
    "direct_failed": frozenset({S.RESERVED}),
    "direct_cancelled": frozenset({S.RESERVED}),
}

# (from, to) state changes the router may make
EDGES: frozenset[tuple[AgentState, AgentState]] = frozenset({
    (S.LOGGED_OUT, S.NOT_READY),  # login
    (S.NOT_READY, S.READY), (S.NOT_READY, S.NOT_READY), (S.NOT_READY, S.LOGGED_OUT),
    (S.READY, S.RESERVED), (S.READY, S.NOT_READY), (S.READY, S.LOGGED_OUT),
    (S.RESERVED, S.ON_CALL),  # answered
    (S.RESERVED, S.NOT_READY), (S.RESERVED, S.LOGGED_OUT),  # ring-no-answer (pending logout)
    (S.RESERVED, S.READY),  # the caller hung up while the phone rang
    (S.ON_CALL, S.ON_HOLD), (S.ON_HOLD, S.ON_CALL),
    (S.ON_CALL, S.WRAP_UP), (S.ON_HOLD, S.WRAP_UP),
    (S.ON_CALL, S.READY), (S.ON_HOLD, S.READY),  # no after-call work (wrap_up == 0)
    (S.ON_CALL, S.LOGGED_OUT), (S.ON_HOLD, S.LOGGED_OUT),  # ... with a pending logout
    (S.WRAP_UP, S.READY), (S.WRAP_UP, S.NOT_READY), (S.WRAP_UP, S.LOGGED_OUT),
    # click-to-dial: the agent's phone rings for their own call ...
    (S.NOT_READY, S.RESERVED), (S.WRAP_UP, S.RESERVED),
    # ... and when it could not even be placed, the agent is back in wrap-up
    (S.RESERVED, S.WRAP_UP),
    # a logout asked while busy: same state, presence "pending_logout"
    (S.RESERVED, S.RESERVED), (S.ON_CALL, S.ON_CALL), (S.ON_HOLD, S.ON_HOLD),
    (S.WRAP_UP, S.WRAP_UP),
})


def check_request(request: str, agent: Agent) -> None:
    """Raise AcdError when `agent` may not make `request` in its current state."""
    allowed = ALLOWED_FROM[request]
    if agent.state not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise AcdError(f"agent {agent.agent_id}: {request} refused while {agent.state.value} "
                       f"(allowed from: {names})")


def is_edge(previous: AgentState, state: AgentState) -> bool:
    """True when the router may change an agent from `previous` to `state`."""
    return (previous, state) in EDGES
