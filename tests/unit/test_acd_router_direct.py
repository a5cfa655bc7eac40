"""The router's direct requests (issue 6): click-to-dial and consultations
reserve an agent outside the line, a blind transfer offers a call to one named
agent, and "the queue's next agent" is read without reserving anyone."""
import pytest

from acd.model import AcdError
from acd.router import Router
from acd.states import is_edge

from .test_acd_router_support import S, call, check_invariants, on_duty, queue, snapshot


@pytest.fixture
def edges():
    return []


@pytest.fixture
def router(edges):
    return Router([queue("support", wrap_up=10), queue("sales", wrap_up=0)],
                  on_agent=lambda a, prev: edges.append((a.agent_id, prev, a.state)))


def logged_in(router, agent_id, skills=None, now=0.0):
    router.login(agent_id, f"seat-{agent_id}", skills or {"support": 5}, now)


# ---------------------------------------------------------------- click-to-dial

def test_dial_reserves_a_not_ready_agent_then_talk_and_wrap_up(router, edges):
    logged_in(router, "alice")
    router.reserve_direct("alice", "out-1", 1.0, request="dial", wrap_up=7)
    agent = router.agent("alice")
    assert (agent.state, agent.call_id, router.direct_call("alice")) == (S.RESERVED, "out-1",
                                                                         "out-1")
    check_invariants(router)
    router.direct_answered("alice", 2.0)
    assert router.agent("alice").state is S.ON_CALL and router.direct_call("alice") is None
    router.call_ended("alice", 30.0)
    assert (agent.state, agent.wrap_up_until) == (S.WRAP_UP, 37.0)
    assert all(is_edge(prev, new) for _, prev, new in edges)
    check_invariants(router)


def test_dial_from_wrap_up_and_an_incoming_call_does_not_collide(router):
    on_duty(router, "alice", {"support": 5}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.answered("c1", 2.0)
    router.call_ended("alice", 3.0)  # wrap-up until 13
    router.reserve_direct("alice", "out-1", 4.0, request="dial")
    router.enqueue(call("c2", at=5.0), 5.0)  # nobody ready: it waits
    router.tick(20.0)  # the old wrap-up deadline is stale now
    assert router.agent("alice").state is S.RESERVED
    assert router.call("c2").offered_to is None
    check_invariants(router)


@pytest.mark.parametrize("state", ["ready", "reserved", "on_call"])
def test_dial_is_refused_unless_not_ready_or_in_wrap_up(router, state):
    on_duty(router, "alice", {"support": 5}, 0.0)
    if state != "ready":
        router.enqueue(call("c1", at=1.0), 1.0)
    if state == "on_call":
        router.answered("c1", 2.0)
    before = snapshot(router)
    with pytest.raises(AcdError, match="dial refused"):
        router.reserve_direct("alice", "out-1", 3.0, request="dial")
    assert snapshot(router) == before


@pytest.mark.parametrize("kwargs, message", [
    ({"request": "steal"}, "unknown direct"), ({"request": "dial", "wrap_up": -1}, "wrap-up"),
    ({"request": "dial", "wrap_up": float("nan")}, "wrap-up")])
def test_bad_direct_requests_change_nothing(router, kwargs, message):
    logged_in(router, "alice")
    before = snapshot(router)
    with pytest.raises(AcdError, match=message):
        router.reserve_direct("alice", "out-1", 1.0, **kwargs)
    with pytest.raises(AcdError, match="bad call id"):
        router.reserve_direct("alice", "", 1.0, request="dial")
    assert snapshot(router) == before


def test_a_dial_that_could_not_be_placed_puts_the_agent_back(router):
    logged_in(router, "alice")
    router.not_ready("alice", "lunch", 5.0)
    router.reserve_direct("alice", "out-1", 6.0, request="dial")
    router.direct_cancelled("alice", 7.0)
    agent = router.agent("alice")
    assert (agent.state, agent.reason, agent.since, agent.call_id) == (S.NOT_READY, "lunch",
                                                                      5.0, None)
    check_invariants(router)


def test_a_cancelled_dial_from_wrap_up_keeps_the_wrap_up_deadline(router):
    on_duty(router, "alice", {"support": 5}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.answered("c1", 2.0)
    router.call_ended("alice", 3.0)  # wrap-up until 13
    router.reserve_direct("alice", "out-1", 4.0, request="dial")
    router.direct_cancelled("alice", 5.0)
    assert (router.agent("alice").state, router.agent("alice").wrap_up_until) == (S.WRAP_UP, 13.0)
    router.tick(13.0)
    assert router.agent("alice").state is S.READY
    router.reserve_direct("alice", "out-2", 14.0, request="consult")
    router.direct_cancelled("alice", 15.0)  # a consultation dropped: ready again
    assert router.agent("alice").state is S.READY
    check_invariants(router)


def test_a_cancelled_dial_after_the_wrap_up_would_have_ended_frees_the_agent(router):
    on_duty(router, "alice", {"support": 5}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.answered("c1", 2.0)
    router.call_ended("alice", 3.0)  # wrap-up until 13
    router.reserve_direct("alice", "out-1", 4.0, request="dial")
    router.enqueue(call("c2", at=5.0), 5.0)
    decisions = router.direct_cancelled("alice", 20.0)
    assert [d.call_id for d in decisions] == ["c2"]  # ready, and given the waiting call
    check_invariants(router)


def test_the_dialling_agents_phone_does_not_answer(router):
    logged_in(router, "alice")
    router.reserve_direct("alice", "out-1", 1.0, request="dial")
    router.direct_failed("alice", 20.0, "ring-no-answer")
    assert router.agent("alice").state is S.NOT_READY
    assert router.agent("alice").reason == "ring-no-answer"
    with pytest.raises(AcdError):
        router.direct_failed("alice", 21.0, "ring-no-answer")
    check_invariants(router)


def test_a_pending_logout_ends_a_cancelled_or_failed_dial(router):
    logged_in(router, "alice")
    router.reserve_direct("alice", "out-1", 1.0, request="dial")
    router.logout("alice", 2.0)
    assert router.agent("alice").presence == "pending_logout"
    router.direct_cancelled("alice", 3.0)
    assert router.agent("alice").state is S.LOGGED_OUT
    check_invariants(router)


# ---------------------------------------------------------------- consultations

def test_consult_reserves_a_ready_agent_who_is_offered_nothing_else(router):
    on_duty(router, "bob", {"support": 5}, 0.0)
    router.reserve_direct("bob", "c1", 1.0, request="consult", wrap_up=10)
    router.enqueue(call("c2", at=2.0), 2.0)
    assert router.call("c2").offered_to is None  # bob is busy with the consultation
    router.direct_answered("bob", 3.0)
    router.call_ended("bob", 4.0, wrap_up=0.0)  # a consultation that did not take the call
    assert router.agent("bob").state is S.RESERVED  # ready, and given c2 at once
    assert router.call("c2").offered_to == "bob"
    check_invariants(router)


def test_consult_is_refused_unless_ready_and_a_queue_offer_is_not_a_direct_one(router):
    logged_in(router, "bob")
    with pytest.raises(AcdError, match="consult refused while not_ready"):
        router.reserve_direct("bob", "c1", 1.0, request="consult")
    router.ready("bob", 1.0)
    router.enqueue(call("c2", at=2.0), 2.0)  # bob's phone rings for c2
    before = snapshot(router)
    for request in ("direct_answered", "direct_cancelled"):
        with pytest.raises(AcdError, match="not a direct one"):
            getattr(router, request)("bob", 3.0)
    with pytest.raises(AcdError, match="call_ended refused"):
        router.call_ended("bob", 3.0)
    assert snapshot(router) == before


def test_call_ended_refuses_a_bad_wrap_up(router):
    on_duty(router, "bob", {"support": 5}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.answered("c1", 2.0)
    before = snapshot(router)
    with pytest.raises(AcdError, match="wrap-up"):
        router.call_ended("bob", 3.0, wrap_up=-2)
    assert snapshot(router) == before


# ---------------------------------------------------------------- blind transfer to an agent

def test_offer_to_rings_the_named_agent_even_when_a_better_one_is_ready(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    on_duty(router, "bob", {"sales": 2}, 0.0)  # lacks the skill: named anyway
    decisions = router.offer_to(call("c1", at=1.0), "bob", 5.0)
    assert [(d.call_id, d.agent_id) for d in decisions] == [("c1", "bob")]
    assert "transferred to bob" in decisions[0].why
    assert router.agent("alice").state is S.READY
    check_invariants(router)


def test_a_transfer_nobody_answers_keeps_its_original_place(router):
    logged_in(router, "alice")
    on_duty(router, "bob", {"support": 5}, 0.0)
    router.enqueue(call("c2", at=10.0), 10.0)  # bob takes c2 ...
    router.answered("c2", 11.0)
    router.enqueue(call("c3", at=12.0), 12.0)  # ... c3 waits
    router.call_ended("bob", 13.0, wrap_up=0)
    router.answered("c3", 14.0)
    router.call_ended("bob", 15.0, wrap_up=0)
    router.offer_to(call("c1", at=1.0), "bob", 16.0)  # transferred, arrived at 1.0
    router.enqueue(call("c4", at=17.0), 17.0)
    router.offer_failed("c1", 20.0)  # bob does not answer
    assert router.agent("bob").reason == "ring-no-answer"
    assert [c.call_id for c in router.waiting()] == ["c1", "c4"]
    router.ready("alice", 21.0)
    assert router.call("c1").offered_to == "alice"  # first in line
    check_invariants(router)


def test_offer_to_refusals_change_nothing(router):
    logged_in(router, "alice")
    on_duty(router, "bob", {"support": 5}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)  # offered to bob
    before = snapshot(router)
    with pytest.raises(AcdError, match="offer_to refused while not_ready"):
        router.offer_to(call("c2", at=2.0), "alice", 2.0)
    with pytest.raises(AcdError, match="unknown agent"):
        router.offer_to(call("c2", at=2.0), "nobody", 2.0)
    on_duty(router, "carol", {"support": 1}, 2.0)
    before = snapshot(router)
    with pytest.raises(AcdError, match="already waiting"):
        router.offer_to(call("c1", at=2.0), "carol", 2.0)
    with pytest.raises(AcdError, match="unknown queue"):
        router.offer_to(call("c9", "nope", at=2.0), "carol", 2.0)
    assert snapshot(router) == before


def test_best_ready_reads_without_reserving(router):
    assert router.best_ready("support") is None
    on_duty(router, "alice", {"support": 4}, 0.0)
    on_duty(router, "bob", {"support": 8}, 1.0)
    before = snapshot(router)
    assert router.best_ready("support") == "bob"
    assert router.best_ready("sales") is None
    assert snapshot(router) == before
    with pytest.raises(AcdError, match="unknown queue"):
        router.best_ready("nope")
