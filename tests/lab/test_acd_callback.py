"""Virtual hold on real calls: a waiting caller presses the callback key, hangs
up keeping their place, and when an agent is free the agent's phone rings and
then the customer's number is dialled out through the world's carrier."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_core.models import Callback

from .acd_support import SUPPORT, AcdLab, add_agent

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]


async def test_the_caller_is_called_back_when_an_agent_is_free(lab, sessions):
    async with AcdLab(lab, sessions) as acd:
        bob = add_agent(sessions, "bob", {"support": 5})
        await acd.acd.login("bob", "1002")  # logged in, not ready: nobody answers yet
        await acd.call(SUPPORT, "+15553000051", keys="1", delay=1.5, hold=20)
        linkedid = await acd.queued("+15553000051")
        asked = await acd.wait_bus("acd.call", 10, event="callback", linkedid=linkedid)
        assert (asked["number"], asked["trigger"]) == ("+15553000051", "key")
        # The caller hears a confirmation and the pbx hangs up: not an abandon.
        await acd.pbx.wait("Hangup", timeout=10, uniqueid=linkedid)
        kpis = acd.acd.stats.kpis("support")
        assert (kpis["callbacks"], kpis["abandoned"]) == (1, 0)
        assert acd.acd.router.call(linkedid).callback == "+15553000051"  # still in line
        with sessions() as s:
            (saved,) = s.scalars(select(Callback)).all()
            assert (saved.phone_e164, saved.queue, saved.state) == ("+15553000051", "support",
                                                                   "pending")
        await acd.acd.ready("bob")
        rang = await acd.phone_rang("1002", CallId=linkedid)
        assert rang.get("From") == "+15553000051"  # the agent sees whom they call back
        dialled = await acd.carrier_call("+15553000051")
        assert dialled.get("From") == SUPPORT  # the customer sees the number they had called
        await acd.wait_bus("acd.call", 20, event="ended", linkedid=linkedid)
        segments = await acd.segments(linkedid, count=2)
        await acd.agent_becomes("bob", "ready")
    (queue,) = [s for s in segments if s.kind == "queue"]
    (talk,) = [s for s in segments if s.kind == "agent"]
    assert (queue.detail["outcome"], queue.detail["number"]) == ("callback", "+15553000051")
    assert talk.agent_id == bob and talk.detail["callback"] is True
    assert talk.detail["outcome"] == "reached"
    with sessions() as s:
        (saved,) = s.scalars(select(Callback)).all()
    assert saved.state == "done" and "reached by bob" in saved.note


async def test_a_caller_without_a_usable_number_keeps_waiting(lab, sessions):
    async with AcdLab(lab, sessions) as acd:
        await acd.call(SUPPORT, "12", keys="1", delay=1.5, hold=7)  # "12" is no phone number
        linkedid = await acd.queued("12")
        refused = await acd.wait_bus("acd.call", 10, event="no-callback", linkedid=linkedid)
        assert refused["trigger"] == "key"
        # Asterisk told them (unidentified-no-callback) and they went on waiting.
        await acd.pbx_event("Newexten", Linkedid=linkedid, Context="acd-no-callback",
                            AppData="unidentified-no-callback")
        abandoned = await acd.wait_bus("acd.call", 15, event="abandoned", linkedid=linkedid)
        assert abandoned["waited"] >= 5.0
        assert acd.acd.stats.kpis("support")["callbacks"] == 0
        with sessions() as s:
            assert s.scalars(select(Callback)).all() == []
