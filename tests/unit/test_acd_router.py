"""The ACD router's rules: line order, agent choice, the offer cycle, wrap-up,
pending logout, overflow, callbacks, refusals and the reasons it gives."""
import logging

import pytest

from acd.model import AcdError, Overflow
from acd.router import Router
from acd.states import is_edge

from .test_acd_router_support import S, call, check_invariants, on_duty, queue, snapshot


@pytest.fixture
def events():
    return {"agents": [], "decisions": []}


@pytest.fixture
def router(events):
    queues = [queue("support", wrap_up=10), queue("sales", priority=5, wrap_up=0),
              queue("vip", skills=("support",), vip_weight=300, last_agent=True)]
    return Router(queues, on_decision=events["decisions"].append,
                  on_agent=lambda a, prev: events["agents"].append((a.agent_id, prev, a.state)))


def only(decisions):
    assert len(decisions) == 1, decisions
    return decisions[0]


# ---------------------------------------------------------------- agents

def test_login_is_not_ready_with_reason_login(router, events):
    agent = router.login("alice", "PJSIP/1001", {"support": 8}, 100.0, user_id=7)
    assert (agent.state, agent.reason, agent.since) == (S.NOT_READY, "login", 100.0)
    assert agent.user_id == 7
    assert router.agent("alice") is agent and router.agents() == [agent]
    assert events["agents"] == [("alice", S.LOGGED_OUT, S.NOT_READY)]


@pytest.mark.parametrize("skills, message", [
    ({"sup port": 5}, "bad skill name"),
    ({"x" * 65: 5}, "bad skill name"),
    ({"support": 0}, "proficiency"),
    ({"support": 11}, "proficiency"),
    ({"support": True}, "proficiency"),
    ({"support": 5.0}, "proficiency"),
])
def test_login_refuses_bad_skills(router, skills, message):
    before = snapshot(router)
    with pytest.raises(AcdError, match=message):
        router.login("alice", "PJSIP/1001", skills, 0.0)
    assert snapshot(router) == before
    with pytest.raises(AcdError, match="unknown agent"):
        router.agent("alice")


def test_login_refuses_a_seat_in_use_and_a_second_login(router):
    router.login("alice", "PJSIP/1001", {"support": 8}, 0.0)
    before = snapshot(router)
    with pytest.raises(AcdError, match="seat PJSIP/1001 is in use by alice"):
        router.login("bob", "PJSIP/1001", {"support": 8}, 1.0)
    with pytest.raises(AcdError, match="already logged in"):
        router.login("alice", "PJSIP/1002", {"support": 8}, 1.0)
    assert snapshot(router) == before
    router.logout("alice", 2.0)
    assert router.login("bob", "PJSIP/1001", {"sales": 3}, 3.0).seat == "PJSIP/1001"
    assert router.login("alice", "PJSIP/1002", {"sales": 4}, 4.0).skills == {"sales": 4}


def test_refused_transitions_change_nothing(router):
    router.login("alice", "PJSIP/1001", {"support": 8}, 0.0)
    before = snapshot(router)
    for request in (lambda: router.hold("alice", 1.0), lambda: router.unhold("alice", 1.0),
                    lambda: router.call_ended("alice", 1.0),
                    lambda: router.wrap_up_done("alice", 1.0),
                    lambda: router.not_ready("alice", "Coffee Break", 1.0),
                    lambda: router.ready("nobody", 1.0)):
        with pytest.raises(AcdError):
            request()
        assert snapshot(router) == before
    router.ready("alice", 2.0)
    before = snapshot(router)
    with pytest.raises(AcdError, match="ready refused while ready"):
        router.ready("alice", 3.0)
    assert snapshot(router) == before
    router.logout("alice", 4.0)
    before = snapshot(router)
    for request in (lambda: router.logout("alice", 5.0), lambda: router.ready("alice", 5.0),
                    lambda: router.not_ready("alice", "break", 5.0)):
        with pytest.raises(AcdError):
            request()
        assert snapshot(router) == before


def test_not_ready_reasons(router, events):
    router.login("alice", "PJSIP/1001", {"support": 8}, 0.0)
    router.not_ready("alice", "break", 5.0)
    assert (router.agent("alice").reason, router.agent("alice").since) == ("break", 5.0)
    router.not_ready("alice", "break", 9.0)  # same reason: nothing changes
    assert router.agent("alice").since == 5.0 and len(events["agents"]) == 2


# ---------------------------------------------------------------- line order

def test_fifo_within_a_priority(router):
    for i, at in enumerate((10.0, 5.0, 20.0)):
        router.enqueue(call(f"c{i}", at=at), at)
    assert [c.call_id for c in router.waiting()] == ["c1", "c0", "c2"]
    assert only(on_duty(router, "alice", {"support": 5}, 30.0)).call_id == "c1"


def test_priority_across_queues(router):
    router.enqueue(call("early-support", at=0.0), 0.0)
    router.enqueue(call("late-sales", "sales", at=50.0), 50.0)
    assert [c.call_id for c in router.waiting()] == ["late-sales", "early-support"]
    d = only(on_duty(router, "alice", {"support": 5, "sales": 5}, 60.0))
    assert d.call_id == "late-sales" and "priority 5" in d.why


def test_the_calls_own_priority_adds_to_the_queues(router):
    router.enqueue(call("sales", "sales", at=0.0), 0.0)  # 5 + 0
    router.enqueue(call("urgent", at=10.0, priority=6), 10.0)  # 0 + 6
    assert [c.call_id for c in router.waiting()] == ["urgent", "sales"]


def test_vip_weight_jumps_the_line_by_that_many_seconds(router):
    router.enqueue(call("a", "vip", at=0.0, skills=("support",)), 0.0)
    router.enqueue(call("vip-late", "vip", at=250.0, skills=("support",), vip=True), 250.0)
    router.enqueue(call("vip-too-late", "vip", at=400.0, skills=("support",), vip=True), 400.0)
    assert [c.call_id for c in router.waiting()] == ["vip-late", "a", "vip-too-late"]
    d = only(on_duty(router, "alice", {"support": 5}, 260.0))
    assert d.call_id == "vip-late" and "VIP +300s" in d.why and "waited 10.0s" in d.why


def test_position_and_waiting_are_per_queue(router):
    router.enqueue(call("s1", at=0.0), 0.0)
    router.enqueue(call("x1", "sales", at=1.0), 1.0)
    router.enqueue(call("s2", at=2.0), 2.0)
    assert [router.position(c) for c in ("s1", "s2", "x1", "nope")] == [1, 2, 1, None]
    assert [c.call_id for c in router.waiting("support")] == ["s1", "s2"]
    assert router.call("s2").call_id == "s2" and router.call("nope") is None
    with pytest.raises(AcdError, match="unknown queue"):
        router.waiting("nope")


# ---------------------------------------------------------------- agent choice

def test_highest_proficiency_then_longest_idle_then_agent_id(router):
    on_duty(router, "dave", {"support": 5}, 0.0)
    on_duty(router, "carol", {"support": 5}, 0.0)
    on_duty(router, "bob", {"support": 5}, 10.0)
    on_duty(router, "alice", {"support": 9}, 20.0)
    d = only(router.enqueue(call("c1", at=30.0), 30.0))
    assert d.agent_id == "alice" and d.candidates == 4
    assert "-> alice (support=9, idle 10.0s, 4 candidates)" in d.why
    # carol and dave idle since 0: agent_id decides
    assert only(router.enqueue(call("c2", at=31.0), 31.0)).agent_id == "carol"
    assert only(router.enqueue(call("c3", at=32.0), 32.0)).agent_id == "dave"
    assert only(router.enqueue(call("c4", at=33.0), 33.0)).agent_id == "bob"
    assert router.enqueue(call("c5", at=34.0), 34.0) == []


def test_proficiency_is_the_lowest_level_over_the_required_skills(router):
    on_duty(router, "alice", {"support": 10, "sales": 2}, 0.0)
    on_duty(router, "bob", {"support": 6, "sales": 6}, 5.0)
    d = only(router.enqueue(call("c1", skills=("support", "sales"), at=9.0), 9.0))
    assert d.agent_id == "bob" and "support=6 sales=6" in d.why


def test_an_agent_lacking_one_required_skill_is_never_chosen(router):
    on_duty(router, "alice", {"support": 10}, 0.0)
    assert router.enqueue(call("c1", skills=("support", "sales"), at=1.0), 1.0) == []
    router.not_ready("alice", "break", 2.0)
    assert router.ready("alice", 3.0) == []
    d = only(on_duty(router, "bob", {"support": 1, "sales": 1}, 4.0))
    assert (d.agent_id, d.call_id) == ("bob", "c1")


def test_a_call_needing_no_skill_takes_anyone_by_longest_idle(router):
    on_duty(router, "bob", {"sales": 1}, 5.0)
    on_duty(router, "alice", {"support": 9}, 6.0)
    d = only(router.enqueue(call("c1", skills=(), at=7.0), 7.0))
    assert d.agent_id == "bob" and "any skill" in d.why


def test_last_agent_preferred_when_the_queue_says_so(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    on_duty(router, "bob", {"support": 2}, 5.0)
    d = only(router.enqueue(call("c1", "vip", skills=("support",), last_agent="bob", at=9.0), 9.0))
    assert d.agent_id == "bob" and "-> bob (last agent" in d.why


def test_last_agent_ignored_when_the_queue_does_not_prefer_them(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    on_duty(router, "bob", {"support": 2}, 5.0)
    d = only(router.enqueue(call("c1", last_agent="bob", at=9.0), 9.0))
    assert d.agent_id == "alice" and "last agent" not in d.why


def test_last_agent_not_ready_does_not_hold_the_call(router):
    router.login("bob", "PJSIP/bob", {"support": 9}, 0.0)
    on_duty(router, "alice", {"support": 2}, 0.0)
    d = only(router.enqueue(call("c1", "vip", skills=("support",), last_agent="bob", at=9.0), 9.0))
    assert d.agent_id == "alice"


# ---------------------------------------------------------------- the offer cycle

def test_a_decision_reserves_the_agent_and_marks_the_call(router, events, caplog):
    router.enqueue(call("c1", at=0.0, caller="+12025550143"), 0.0)
    with caplog.at_level(logging.INFO, logger="acd.router"):
        d = only(on_duty(router, "alice", {"support": 8}, 12.5))
    assert (d.call_id, d.agent_id, d.seat, d.queue, d.at, d.waited, d.callback, d.candidates) == \
        ("c1", "alice", "PJSIP/alice", "support", 12.5, 12.5, None, 1)
    agent, c = router.agent("alice"), router.call("c1")
    assert (agent.state, agent.call_id, agent.since) == (S.RESERVED, "c1", 12.5)
    assert (c.offered_to, c.attempts) == ("alice", 1)
    assert events["decisions"] == [d]
    assert d.why in caplog.messages
    assert d.why.startswith("call c1 (queue support, priority 0, waited 12.5s) -> alice (support=8")
    assert "agent ready" in d.why


def test_answered_puts_the_agent_on_the_call_and_the_call_leaves_the_line(router):
    on_duty(router, "alice", {"support": 8}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    c = router.answered("c1", 4.0)
    assert c.call_id == "c1" and router.waiting() == [] and router.call("c1") is None
    assert (router.agent("alice").state, router.agent("alice").call_id) == (S.ON_CALL, "c1")
    router.hold("alice", 5.0)
    assert router.agent("alice").state is S.ON_HOLD
    router.unhold("alice", 6.0)
    assert router.agent("alice").state is S.ON_CALL
    with pytest.raises(AcdError, match="unknown call"):
        router.answered("c1", 7.0)


def test_answered_and_offer_failed_refuse_a_call_not_ringing(router):
    router.enqueue(call("c1", at=0.0), 0.0)
    before = snapshot(router)
    with pytest.raises(AcdError, match="not offered"):
        router.answered("c1", 1.0)
    with pytest.raises(AcdError, match="not offered"):
        router.offer_failed("c1", 1.0)
    with pytest.raises(AcdError, match="reason"):
        router.offer_failed("c1", 1.0, reason="No Answer!")
    assert snapshot(router) == before


def test_ring_no_answer_requeues_at_the_head_and_goes_to_the_next_agent(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    on_duty(router, "bob", {"support": 5}, 0.0)
    assert only(router.enqueue(call("c1", at=1.0), 1.0)).agent_id == "alice"
    d = only(router.offer_failed("c1", 16.0))
    assert d.agent_id == "bob" and "attempt 2" in d.why
    alice = router.agent("alice")
    assert (alice.state, alice.reason, alice.call_id) == (S.NOT_READY, "ring-no-answer", None)
    assert router.call("c1").attempts == 2


def test_ring_no_answer_keeps_the_call_ahead_of_later_ones(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.enqueue(call("c2", at=2.0), 2.0)
    assert router.offer_failed("c1", 16.0, reason="rejected") == []
    assert router.agent("alice").reason == "rejected"
    assert [c.call_id for c in router.waiting()] == ["c1", "c2"] and router.position("c1") == 1
    c1 = router.call("c1")
    assert (c1.offered_to, c1.attempts, c1.arrived_at) == (None, 1, 1.0)
    assert only(on_duty(router, "bob", {"support": 1}, 20.0)).call_id == "c1"


def test_an_agent_ready_skips_a_call_ringing_someone_else(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.enqueue(call("c2", at=2.0), 2.0)
    d = only(on_duty(router, "bob", {"support": 1}, 3.0))
    assert d.call_id == "c2" and "#2 in line" in d.why


def test_abandon_while_ringing_frees_the_agent_keeping_idle_since(router):
    on_duty(router, "alice", {"support": 9}, 5.0)
    router.enqueue(call("c1", at=6.0), 6.0)
    gone, decisions = router.abandon("c1", 9.0)
    assert gone.call_id == "c1" and gone.offered_to == "alice" and decisions == []
    alice = router.agent("alice")
    assert (alice.state, alice.idle_since, alice.call_id, alice.since) == (S.READY, 5.0, None, 9.0)
    assert router.waiting() == []
    assert router.abandon("c1", 10.0) == (None, [])


def test_abandon_while_ringing_hands_the_agent_the_next_call(router):
    on_duty(router, "alice", {"support": 9}, 5.0)
    router.enqueue(call("c1", at=6.0), 6.0)
    router.enqueue(call("c2", at=7.0), 7.0)
    _, decisions = router.abandon("c1", 9.0)
    assert only(decisions).call_id == "c2"


def test_abandon_while_waiting_just_leaves(router):
    router.enqueue(call("c1", at=0.0), 0.0)
    gone, decisions = router.abandon("c1", 3.0)
    assert gone.call_id == "c1" and decisions == [] and router.waiting() == []


def test_enqueue_refusals(router):
    router.enqueue(call("c1", at=0.0), 0.0)
    before = snapshot(router)
    with pytest.raises(AcdError, match="already waiting"):
        router.enqueue(call("c1", at=1.0), 1.0)
    with pytest.raises(AcdError, match="unknown queue"):
        router.enqueue(call("c2", "billing", at=1.0), 1.0)
    with pytest.raises(AcdError, match="bad skill name"):
        router.enqueue(call("c2", skills=("no way",), at=1.0), 1.0)
    with pytest.raises(AcdError, match="list of names"):
        router.enqueue(call("c2", skills="support", at=1.0), 1.0)
    with pytest.raises(AcdError, match="bad call id"):
        router.enqueue(call("", at=1.0), 1.0)
    with pytest.raises(AcdError, match="priority"):
        router.enqueue(call("c2", at=1.0, priority="high"), 1.0)
    with pytest.raises(AcdError, match="arrived_at"):
        router.enqueue(call("c2", at=float("nan")), 1.0)
    assert snapshot(router) == before


# ---------------------------------------------------------------- after the call

def test_wrap_up_ends_by_tick_and_the_agent_takes_the_next_call(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.answered("c1", 3.0)
    router.enqueue(call("c2", at=4.0), 4.0)
    assert router.call_ended("alice", 60.0) == []
    alice = router.agent("alice")
    assert (alice.state, alice.wrap_up_until, alice.call_id) == (S.WRAP_UP, 70.0, "c1")
    assert router.next_deadline() == 70.0
    assert router.tick(69.9) == ([], [])
    decisions, actions = router.tick(70.5)
    assert only(decisions).call_id == "c2" and actions == []
    assert (alice.state, alice.idle_since, alice.wrap_up_until) == (S.RESERVED, 70.0, None)
    assert router.next_deadline() is None


def test_wrap_up_zero_is_ready_at_once(router):
    on_duty(router, "alice", {"sales": 9}, 0.0)
    router.enqueue(call("c1", "sales", at=1.0), 1.0)
    router.answered("c1", 2.0)
    router.hold("alice", 3.0)
    router.enqueue(call("c2", "sales", at=4.0), 4.0)
    d = only(router.call_ended("alice", 30.0))
    assert d.call_id == "c2" and router.agent("alice").idle_since == 30.0


def test_wrap_up_done_early_and_not_ready_from_wrap_up(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.answered("c1", 2.0)
    router.call_ended("alice", 10.0)
    assert router.wrap_up_done("alice", 12.0) == []
    assert router.agent("alice").state is S.READY and router.next_deadline() is None
    assert router.tick(100.0) == ([], [])
    router.enqueue(call("c2", at=13.0), 13.0)
    router.answered("c2", 14.0)
    router.call_ended("alice", 15.0)
    router.not_ready("alice", "paperwork", 16.0)
    assert router.agent("alice").state is S.NOT_READY and router.tick(100.0) == ([], [])
    assert router.enqueue(call("c3", at=17.0), 17.0) == []


def test_ready_during_wrap_up_ends_it(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.answered("c1", 2.0)
    router.call_ended("alice", 10.0)
    router.enqueue(call("c2", at=11.0), 11.0)
    assert only(router.ready("alice", 12.0)).call_id == "c2"


# ---------------------------------------------------------------- logout

def test_logout_when_free_is_immediate_and_frees_the_seat(router, events):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.logout("alice", 5.0)
    alice = router.agent("alice")
    assert (alice.state, alice.since, alice.logout_pending) == (S.LOGGED_OUT, 5.0, False)
    assert router.enqueue(call("c1", at=6.0), 6.0) == []
    assert router.agents() == [alice]


def test_pending_logout_waits_for_wrap_up_and_never_goes_ready(router, events):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.answered("c1", 2.0)
    router.logout("alice", 3.0)
    alice = router.agent("alice")
    assert (alice.state, alice.logout_pending) == (S.ON_CALL, True)
    assert alice.presence == "pending_logout"
    assert events["agents"][-1] == ("alice", S.ON_CALL, S.ON_CALL)
    with pytest.raises(AcdError, match="already pending"):
        router.logout("alice", 3.5)
    router.enqueue(call("c2", at=4.0), 4.0)
    assert router.call_ended("alice", 10.0) == []
    assert alice.state is S.WRAP_UP
    assert router.tick(20.0) == ([], [])
    assert (alice.state, alice.logout_pending) == (S.LOGGED_OUT, False)
    assert alice.presence == "logged_out"
    assert router.call("c2").offered_to is None
    assert all(new is not S.READY for _, prev, new in events["agents"] if prev is S.WRAP_UP)


@pytest.mark.parametrize("finish", ["wrap_up_done", "ready", "not_ready"])
def test_pending_logout_ends_when_wrap_up_is_ended_by_hand(router, finish):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.answered("c1", 2.0)
    router.call_ended("alice", 3.0)
    router.logout("alice", 4.0)
    router.enqueue(call("c2", at=4.0), 4.0)
    if finish == "not_ready":
        router.not_ready("alice", "break", 5.0)
    else:
        assert getattr(router, finish)("alice", 5.0) == []
    assert router.agent("alice").state is S.LOGGED_OUT


def test_pending_logout_with_no_wrap_up(router):
    on_duty(router, "alice", {"sales": 9}, 0.0)
    router.enqueue(call("c1", "sales", at=1.0), 1.0)
    router.answered("c1", 2.0)
    router.logout("alice", 3.0)
    router.enqueue(call("c2", "sales", at=4.0), 4.0)
    assert router.call_ended("alice", 5.0) == []
    assert router.agent("alice").state is S.LOGGED_OUT


@pytest.mark.parametrize("end", ["offer_failed", "abandon"])
def test_pending_logout_while_ringing(router, end):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.logout("alice", 2.0)
    assert router.agent("alice").state is S.RESERVED
    getattr(router, end)("c1", 3.0)
    assert router.agent("alice").state is S.LOGGED_OUT


# ---------------------------------------------------------------- overflow

def overflow_router(action: Overflow, **kw) -> Router:
    return Router([queue("sales", max_wait=60, overflow=action, **kw),
                   queue("support", priority=1, max_wait=100,
                         overflow=Overflow("voicemail", target="support"))])


def test_overflow_to_another_queue(router):
    r = overflow_router(Overflow("queue", target="support"))
    r.enqueue(call("c1", "sales", at=0.0, skills=("sales",)), 0.0)
    assert r.next_deadline() == 60.0
    assert r.tick(59.0) == ([], [])
    decisions, actions = r.tick(61.0)
    action = only(actions)
    c = r.call("c1")
    assert decisions == [] and action.call is c and action.queue == "sales" and action.at == 61.0
    assert (c.queue, c.queued_at, c.skills, c.overflowed_from) == ("support", 61.0, ("support",),
                                                                   ("sales",))
    assert r.next_deadline() == 161.0  # support's own max_wait, from the move
    d = only(on_duty(r, "bob", {"support": 3}, 70.0))
    assert "overflowed from sales" in d.why


def test_overflow_to_a_queue_with_a_ready_agent_routes_at_once():
    r = overflow_router(Overflow("queue", target="support"))
    on_duty(r, "bob", {"support": 3}, 0.0)
    r.enqueue(call("c1", "sales", at=0.0, skills=("sales",)), 0.0)
    decisions, actions = r.tick(60.0)
    assert only(decisions).agent_id == "bob" and only(actions).overflow.target == "support"


def test_overflowed_call_takes_its_place_by_arrival_in_the_new_queue():
    r = overflow_router(Overflow("queue", target="support"))
    r.enqueue(call("old", "sales", at=0.0, skills=("sales",)), 0.0)
    r.enqueue(call("s1", "support", at=30.0), 30.0)
    r.tick(60.0)
    assert [c.call_id for c in r.waiting("support")] == ["old", "s1"]


def test_overflow_relax_replaces_the_skills_once():
    r = overflow_router(Overflow("relax", skills=("general",)))
    on_duty(r, "bob", {"general": 3}, 0.0)
    r.enqueue(call("c1", "sales", at=0.0, skills=("sales", "french")), 0.0)
    decisions, actions = r.tick(60.0)
    assert only(decisions).agent_id == "bob" and r.call("c1").skills == ("general",)
    r.offer_failed("c1", 75.0)
    assert r.next_deadline() is None and r.tick(500.0) == ([], [])


def test_a_relaxed_call_goes_to_the_next_agent_holding_the_relaxed_skills():
    r = overflow_router(Overflow("relax", skills=("general",)))
    r.enqueue(call("c1", "sales", at=0.0, skills=("sales", "french")), 0.0)
    r.enqueue(call("c2", "sales", at=1.0, skills=("sales", "french")), 1.0)
    decisions, actions = r.tick(61.0)
    assert decisions == [] and len(actions) == 2
    assert [c.skills for c in r.waiting()] == [("general",), ("general",)]
    assert on_duty(r, "bob", {"sales": 9, "french": 9}, 62.0) == []  # the old skills: no more
    d = only(on_duty(r, "carol", {"general": 1}, 63.0))
    assert d.call_id == "c1" and "general=1" in d.why


def test_tick_applies_deadlines_in_time_order():
    r = overflow_router(Overflow("voicemail", target="box"), wrap_up=30)
    on_duty(r, "bob", {"sales": 3}, 0.0)
    r.enqueue(call("c1", "sales", at=0.0, skills=("sales",)), 0.0)
    r.answered("c1", 1.0)
    r.enqueue(call("c2", "sales", at=10.0, skills=("sales",)), 10.0)
    r.call_ended("bob", 20.0)  # wrap-up ends at 50, c2 would overflow at 70
    decisions, actions = r.tick(100.0)  # a late tick: bob was free first, so bob takes c2
    assert only(decisions).call_id == "c2" and actions == []
    assert r.agent("bob").idle_since == 50.0


def test_overflow_voicemail_removes_the_call():
    r = overflow_router(Overflow("voicemail", target="sales-box"))
    r.enqueue(call("c1", "sales", at=0.0, skills=("sales",)), 0.0)
    _, actions = r.tick(60.0)
    assert only(actions).overflow.target == "sales-box" and r.waiting() == []
    assert r.abandon("c1", 61.0) == (None, [])


def test_overflow_callback_marks_and_keeps_the_call():
    r = overflow_router(Overflow("callback"))
    r.enqueue(call("c1", "sales", at=0.0, skills=("sales",)), 0.0)
    r.enqueue(call("c2", "sales", at=1.0, skills=("sales",)), 1.0)
    _, actions = r.tick(60.5)
    assert [a.call.call_id for a in actions] == ["c1"]
    assert r.next_deadline() == 61.0 and r.tick(61.0)[1][0].call.call_id == "c2"
    assert r.tick(1000.0) == ([], [])  # marked calls do not overflow again
    r.to_callback("c1", "+12025550143", 62.0)
    assert [c.call_id for c in r.waiting()] == ["c1", "c2"]
    d = only(on_duty(r, "bob", {"sales": 3}, 70.0))
    assert (d.call_id, d.callback) == ("c1", "+12025550143") and "callback" in d.why


def test_a_ringing_call_does_not_overflow_until_the_offer_fails():
    r = overflow_router(Overflow("voicemail", target="box"))
    on_duty(r, "bob", {"sales": 3}, 0.0)
    r.enqueue(call("c1", "sales", at=0.0, skills=("sales",)), 0.0)
    assert r.next_deadline() is None and r.tick(100.0) == ([], [])
    r.offer_failed("c1", 101.0)
    assert r.next_deadline() == 60.0
    assert only(r.tick(101.0)[1]).call.call_id == "c1"


def test_to_callback_keeps_the_place_and_never_overflows(router):
    r = overflow_router(Overflow("queue", target="support"))
    r.enqueue(call("c1", "sales", at=0.0, skills=("sales",)), 0.0)
    r.enqueue(call("c2", "sales", at=5.0, skills=("sales",)), 5.0)
    assert r.to_callback("c1", "+12025550143", 10.0) == []
    assert r.position("c1") == 1 and r.call("c1").callback == "+12025550143"
    _, actions = r.tick(1000.0)
    assert [a.call.call_id for a in actions] == ["c2"]
    assert r.call("c1").queue == "sales"


def test_to_callback_refusals(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", at=0.0), 0.0)
    before = snapshot(router)
    with pytest.raises(AcdError, match="ringing"):
        router.to_callback("c1", "+12025550143", 1.0)
    with pytest.raises(AcdError, match="unknown call"):
        router.to_callback("c9", "+12025550143", 1.0)
    router.offer_failed("c1", 2.0)
    before = snapshot(router)
    with pytest.raises(AcdError, match="callback number"):
        router.to_callback("c1", " ", 3.0)
    assert snapshot(router) == before


def test_next_deadline_is_the_earliest_of_wrap_up_and_max_wait():
    r = overflow_router(Overflow("voicemail", target="box"), wrap_up=30)
    on_duty(r, "bob", {"sales": 3}, 0.0)
    r.enqueue(call("c1", "sales", at=0.0, skills=("sales",)), 0.0)
    r.answered("c1", 1.0)
    r.enqueue(call("c2", "sales", at=10.0, skills=("sales",)), 10.0)
    r.call_ended("bob", 20.0)
    assert r.next_deadline() == 50.0  # bob's wrap-up ends before c2's 70.0
    decisions, _ = r.tick(50.0)
    assert only(decisions).call_id == "c2" and r.next_deadline() is None


# ---------------------------------------------------------------- queues and staffing

def test_staffed_counts_qualified_agents_not_on_a_break(router):
    on_duty(router, "a", {"support": 1}, 0.0)
    on_duty(router, "b", {"support": 1, "sales": 1}, 0.0)
    router.login("c", "PJSIP/c", {"support": 1}, 0.0)
    on_duty(router, "d", {"sales": 1}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)  # reserves one of a, b: still staffed
    assert (router.staffed("support"), router.staffed("sales")) == (2, 2)
    with pytest.raises(AcdError):
        router.staffed("nope")


def test_constructor_refuses_a_bad_configuration():
    with pytest.raises(AcdError, match="overflow target"):
        Router([queue("a", max_wait=5, overflow=Overflow("queue", target="b"))])
    with pytest.raises(AcdError, match="twice"):
        Router([queue("a"), queue("a")])
    with pytest.raises(AcdError, match="unknown overflow action"):
        Router([queue("a", overflow=Overflow("teleport"))])
    with pytest.raises(AcdError, match="key must be"):
        Router({"b": queue("a")})
    with pytest.raises(AcdError, match="bad skill name"):
        Router([queue("a", skills=("a b",))])
    assert list(Router({"a": queue("a")}).queues) == ["a"]


def test_set_queues_reorders_the_line_and_refuses_to_drop_busy_queues(router):
    router.enqueue(call("s1", at=0.0), 0.0)
    router.enqueue(call("x1", "sales", at=10.0), 10.0)
    assert [c.call_id for c in router.waiting()] == ["x1", "s1"]
    before = snapshot(router)
    with pytest.raises(AcdError, match="calls are waiting"):
        router.set_queues([queue("support")], 20.0)
    with pytest.raises(AcdError, match="overflow target"):
        router.set_queues([queue("support"), queue("sales"),
                           queue("vip", overflow=Overflow("queue", target="gone"))], 20.0)
    assert snapshot(router) == before
    assert router.set_queues({"support": queue("support", priority=9),
                              "sales": queue("sales")}, 20.0) == []
    assert [c.call_id for c in router.waiting()] == ["s1", "x1"]
    assert router.queues["support"].priority == 9 and "vip" not in router.queues
    with pytest.raises(TypeError):
        router.queues["x"] = queue("x")


def test_wrap_up_of_a_call_from_a_queue_removed_meanwhile(router):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", "vip", skills=("support",), at=0.0), 0.0)
    router.answered("c1", 1.0)
    router.set_queues([queue("support"), queue("sales")], 2.0)
    router.call_ended("alice", 3.0)
    assert router.agent("alice").wrap_up_until == 13.0  # the old vip config's wrap_up


# ---------------------------------------------------------------- listeners

def test_every_state_change_is_an_allowed_edge_and_reported(router, events):
    on_duty(router, "alice", {"support": 9}, 0.0)
    router.enqueue(call("c1", at=1.0), 1.0)
    router.answered("c1", 2.0)
    router.hold("alice", 3.0)
    router.unhold("alice", 4.0)
    router.call_ended("alice", 5.0)
    router.tick(15.0)
    states = [(prev, new) for _, prev, new in events["agents"]]
    assert states == [(S.LOGGED_OUT, S.NOT_READY), (S.NOT_READY, S.READY), (S.READY, S.RESERVED),
                      (S.RESERVED, S.ON_CALL), (S.ON_CALL, S.ON_HOLD), (S.ON_HOLD, S.ON_CALL),
                      (S.ON_CALL, S.WRAP_UP), (S.WRAP_UP, S.READY)]
    assert all(is_edge(p, n) for p, n in states)
    check_invariants(router)


def test_a_failing_listener_does_not_break_the_router(caplog):
    def boom(*_):
        raise RuntimeError("listener bug")
    r = Router([queue("support")], on_decision=boom, on_agent=boom)
    on_duty(r, "alice", {"support": 9}, 0.0)
    assert only(r.enqueue(call("c1", at=1.0), 1.0)).agent_id == "alice"
    assert r.agent("alice").state is S.RESERVED
    assert "listener" in caplog.text and "failed" in caplog.text
    check_invariants(r)


def test_listeners_run_after_the_request_and_may_call_back_in():
    seen = []

    def dial(decision):  # the seat cannot be dialled: the adapter says so at once
        seen.append(("decision", decision.agent_id, r.agent(decision.agent_id).state))
        if decision.agent_id == "alice":
            r.offer_failed(decision.call_id, decision.at, reason="dial-failed")

    r = Router([queue("support")], on_decision=dial,
               on_agent=lambda a, prev: seen.append((a.agent_id, prev, a.state)))
    on_duty(r, "alice", {"support": 9}, 0.0)
    on_duty(r, "bob", {"support": 1}, 0.0)
    seen.clear()
    assert only(r.enqueue(call("c1", at=1.0), 1.0)).agent_id == "alice"
    assert seen == [("alice", S.READY, S.RESERVED), ("decision", "alice", S.RESERVED),
                    ("alice", S.RESERVED, S.NOT_READY), ("bob", S.READY, S.RESERVED),
                    ("decision", "bob", S.RESERVED)]
    assert r.agent("alice").reason == "dial-failed" and r.call("c1").offered_to == "bob"
    check_invariants(r)
