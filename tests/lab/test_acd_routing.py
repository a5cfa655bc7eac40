"""The ACD routing real calls: callers come in through the carrier and the IVR,
wait inside Asterisk, and the router's choice rings the world's desk phones."""
from __future__ import annotations

import asyncio

import pytest

from crm_core import customers

from .acd_support import RUSH, SALES, SUPPORT, AcdLab, add_agent

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]


async def test_two_agents_with_different_skills_and_three_callers(lab, sessions):
    async with AcdLab(lab, sessions) as acd:
        alice = await acd.agent_ready("alice", "1001", {"sales": 8})
        bob = await acd.agent_ready("bob", "1002", {"support": 7})
        await acd.call(SALES, "+15553000001", hold=5)
        first = await acd.queued("+15553000001")
        await acd.call(SUPPORT, "+15553000002", hold=5)
        second = await acd.queued("+15553000002")
        await acd.call(SALES, "+15553000003", hold=8)
        third = await acd.queued("+15553000003")
        # Alice (sales) takes the first caller, Bob (support) the second; the third
        # (sales) waits for Alice although Bob is free.
        for linkedid, agent in ((first, "alice"), (second, "bob"), (third, "alice")):
            answered = await acd.wait_bus("acd.call", 20, event="answered", linkedid=linkedid)
            assert answered["agent"] == agent
        assert [e.get("CallId") for e in acd.rang("1001")] == [first, third]
        assert [e.get("From") for e in acd.rang("1001")] == ["+15553000001", "+15553000003"]
        assert [e.get("CallId") for e in acd.rang("1002")] == [second]
        third_answer = acd.bus_events("acd.call", event="answered", linkedid=third)[0]
        assert third_answer["waited"] >= 3.0  # it waited for Alice's first call to end
        for linkedid in (first, second, third):
            await acd.wait_bus("acd.call", 20, event="ended", linkedid=linkedid)
        segments = await acd.segments(third, count=2)
    queue, agent = sorted(segments, key=lambda s: s.kind != "queue")
    assert (queue.kind, queue.detail["queue"], queue.detail["outcome"]) == ("queue", "sales",
                                                                            "answered")
    assert queue.detail["agent"] == "alice" and queue.agent_id == alice
    assert (agent.kind, agent.agent_id, agent.detail["agent"]) == ("agent", alice, "alice")
    assert agent.ended_at > agent.started_at
    assert bob != alice


async def test_a_vip_jumps_the_line(lab, sessions):
    with sessions.begin() as s:
        customers.create_customer(s, {"name": "Very Important", "level": "vip",
                                      "phones": ["+15553000012"]})
    async with AcdLab(lab, sessions) as acd:
        add_agent(sessions, "bob", {"support": 7})
        await acd.acd.login("bob", "1002")
        await acd.call(SUPPORT, "+15553000011", hold=12)
        regular = await acd.queued("+15553000011")
        await asyncio.sleep(1.0)  # the regular caller has waited a second longer
        await acd.call(SUPPORT, "+15553000012", hold=4)
        vip = await acd.queued("+15553000012")
        assert acd.acd.router.position(vip) == 1 and acd.acd.router.position(regular) == 2
        await acd.acd.ready("bob")
        answered = await acd.wait_bus("acd.call", 15, event="answered", agent="bob")
        assert answered["linkedid"] == vip
        # The regular caller is served next, when the VIP's call has ended.
        await acd.wait_bus("acd.call", 20, event="answered", linkedid=regular)
        assert [e.get("CallId") for e in acd.rang("1002")] == [vip, regular]
        (queued_vip,) = acd.bus_events("acd.call", event="queued", linkedid=vip)
        assert queued_vip["vip"] is True
        await acd.wait_bus("acd.call", 20, event="ended", linkedid=regular)


async def test_ring_no_answer_requeues_to_the_other_agent(lab, sessions):
    lab.world.rx("database put noanswer 1001 1")
    async with AcdLab(lab, sessions) as acd:
        await acd.agent_ready("alice", "1001", {"support": 9})  # the better one: offered first
        await acd.agent_ready("bob", "1002", {"support": 5})
        await acd.call(SUPPORT, "+15553000021", hold=10)
        linkedid = await acd.queued("+15553000021")
        await acd.phone_rang("1001", CallId=linkedid)
        await acd.agent_becomes("alice", "not_ready", reason="ring-no-answer")
        answered = await acd.wait_bus("acd.call", 15, event="answered", linkedid=linkedid)
        assert answered["agent"] == "bob"
        requeued = acd.bus_events("acd.call", event="requeued", linkedid=linkedid)
        assert [(r["agent"], r["reason"]) for r in requeued] == [("alice", "ring-no-answer")]
        # The caller kept their place: the wait counts from their arrival.
        assert answered["waited"] >= 3.0
        await acd.wait_bus("acd.call", 20, event="ended", linkedid=linkedid)
        queue, = await acd.segments(linkedid, kinds=("queue",))
    assert (queue.detail["outcome"], queue.detail["agent"]) == ("answered", "bob")


async def test_overflow_after_the_maximum_wait(lab, sessions):
    async with AcdLab(lab, sessions) as acd:
        bob = await acd.agent_ready("bob", "1002", {"support": 5})
        await acd.call(RUSH, "+15553000031", hold=9)
        linkedid = await acd.queued("+15553000031")
        overflow = await acd.wait_bus("acd.call", 10, event="overflow", linkedid=linkedid)
        assert (overflow["origin"], overflow["target"], overflow["action"]) == \
            ("rush", "support", "queue")
        answered = await acd.wait_bus("acd.call", 10, event="answered", linkedid=linkedid)
        assert answered["agent"] == "bob" and answered["queue"] == "support"
        assert 3.0 <= answered["waited"] < 6.0  # max_wait 3 s, then the next tick
        assert acd.acd.stats.kpis("rush")["overflowed"] == 1
        await acd.wait_bus("acd.call", 20, event="ended", linkedid=linkedid)
        segments = await acd.segments(linkedid, count=3)
    stays = [(s.detail["queue"], s.detail["outcome"]) for s in segments if s.kind == "queue"]
    assert stays == [("rush", "overflow"), ("support", "answered")]
    (talk,) = [s for s in segments if s.kind == "agent"]
    assert talk.agent_id == bob and talk.detail["queue"] == "support"


async def test_a_caller_who_hangs_up_while_waiting_is_an_abandon(lab, sessions):
    async with AcdLab(lab, sessions) as acd:
        await acd.call(SALES, "+15553000041", hold=6)  # nobody is logged in
        linkedid = await acd.queued("+15553000041")
        abandoned = await acd.wait_bus("acd.call", 15, event="abandoned", linkedid=linkedid)
        assert abandoned["waited"] >= 4.0
        kpis = acd.acd.stats.kpis("sales")
        assert (kpis["offered"], kpis["abandoned"], kpis["answered"]) == (1, 1, 0)
        # The caller heard where they are in line (first), from Asterisk's own prompts.
        assert acd.acd.announcer.spoken >= 1
        played = [e.get("Command") for e in acd.pbx.seen if e.name == "AGIExecEnd"
                  and e.get("Linkedid") == linkedid]
        assert "STREAM FILE queue-youarenext \"0123456789*#\"" in played
        (queue,) = await acd.segments(linkedid, kinds=("queue",))
        snapshot = await acd.next_bus("acd.stats")  # the wallboard's picture
    assert (queue.detail["queue"], queue.detail["outcome"], queue.agent_id) == \
        ("sales", "abandoned", None)
    assert queue.detail["waited"] >= 4.0
    assert snapshot["queues"]["sales"]["interval"]["abandoned"] == 1
