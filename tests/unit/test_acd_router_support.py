"""Shared helpers for the router tests: queues, calls, snapshots and the invariant check."""
from __future__ import annotations

from acd.model import AgentState, QueueConfig, WaitingCall
from acd.router import Router

S = AgentState


def queue(name: str, **kw) -> QueueConfig:
    kw.setdefault("skills", (name,))
    return QueueConfig(name=name, **kw)


def call(call_id: str, queue_name: str = "support", at: float = 0.0, **kw) -> WaitingCall:
    kw.setdefault("skills", (queue_name,))
    return WaitingCall(call_id=call_id, queue=queue_name, arrived_at=at, queued_at=at, **kw)


def on_duty(router: Router, agent_id: str, skills: dict[str, int], now: float,
            seat: str | None = None):
    """Log an agent in and make them ready; returns the decisions of becoming ready."""
    router.login(agent_id, seat or f"PJSIP/{agent_id}", skills, now)
    return router.ready(agent_id, now)


def snapshot(router: Router) -> tuple:
    """Everything observable, deep-copied, to compare before/after a refused request."""
    # shallow copies suffice: every field is immutable but an agent's skills dict
    agents = sorted(({**vars(a), "skills": dict(a.skills)} for a in router.agents()),
                    key=lambda a: a["agent_id"])
    calls = [dict(vars(c)) for c in router.waiting()]
    staffed = {name: router.staffed(name) for name in router.queues}
    positions = {c["call_id"]: router.position(c["call_id"]) for c in calls}
    return agents, calls, staffed, positions, router.next_deadline(), dict(router.queues)


def check_invariants(router: Router) -> None:
    """The router's promises after every public method."""
    agents = {a.agent_id: a for a in router.agents()}
    line = router.waiting()
    by_id = {c.call_id: c for c in line}
    assert len(by_id) == len(line)
    ready = {a.agent_id for a in agents.values() if a.state is S.READY}

    # nobody ready could take a waiting call that is not ringing someone
    for c in line:
        if c.offered_to is None:
            able = [a for a in ready if set(c.skills) <= set(agents[a].skills)]
            assert not able, f"call {c.call_id} waits while {able} are ready"
        else:
            agent = agents[c.offered_to]
            assert agent.state is S.RESERVED and agent.call_id == c.call_id

    seats = {}
    for a in agents.values():
        if a.state is S.RESERVED and router.direct_call(a.agent_id) is not None:
            # reserved outside the line (click-to-dial, consultation)
            assert a.call_id == router.direct_call(a.agent_id)
            assert not any(c.offered_to == a.agent_id for c in line)
        elif a.state is S.RESERVED:
            assert a.call_id in by_id and by_id[a.call_id].offered_to == a.agent_id
        elif a.state in (S.ON_CALL, S.ON_HOLD):
            # (the same call id may be queued again, e.g. transferred back to a queue)
            assert a.call_id is not None
            assert a.call_id not in by_id or by_id[a.call_id].offered_to != a.agent_id
        elif a.state is S.WRAP_UP:
            assert a.wrap_up_until is not None and a.call_id is not None
        else:
            assert a.call_id is None
        if a.state is not S.WRAP_UP:
            assert a.wrap_up_until is None
        assert (a.state is S.NOT_READY) == bool(a.reason)
        if a.logout_pending:
            assert a.state in (S.RESERVED, S.ON_CALL, S.ON_HOLD, S.WRAP_UP)
        if a.state is not S.LOGGED_OUT:
            assert a.seat not in seats, f"seat {a.seat} twice"
            seats[a.seat] = a.agent_id

    # the private indexes agree with the records
    assert router._ready == ready == set(router._ready_idle)
    assert router._rank_any == sorted((agents[a].idle_since, a) for a in ready)
    for skill, holders in router._ready_by_skill.items():
        assert holders == {a for a in ready if skill in agents[a].skills}
        assert router._rank_by_skill[skill] == sorted(
            (-agents[a].skills[skill], agents[a].idle_since, a) for a in holders)
    keys = [slot.key for slot in router._line]
    assert keys == sorted(keys)
    for anchor, part in router._line_by_anchor.items():
        assert part == [slot for slot in router._line if slot.anchor == anchor]
        assert all(slot.anchor == min(slot.skills, default="") for slot in part)
    assert set(router._slots) == set(by_id)
    assert all(agents[a].state is S.RESERVED for a in router._direct)
