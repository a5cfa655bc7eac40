"""Callbacks kept in the CRM on real calls: one an agent scheduled, due now, is
taken by the ACD's poller and placed (the agent's phone rings, then the
customer's number is dialled on the world's carrier side); and the callback
offer a waiting caller hears after the announcement."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from crm_core import callbacks
from crm_core.models import Callback

from .acd_support import SUPPORT, AcdLab

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]


async def test_a_callback_scheduled_in_the_crm_is_placed_when_due(lab, sessions):
    with sessions.begin() as s:
        callback_id = callbacks.schedule_callback(
            s, phone="+15553000061", due=datetime.now(timezone.utc), timezone="UTC",
            queue="support", note="call her back about the invoice").id
    async with AcdLab(lab, sessions) as acd:
        await acd.agent_ready("bob", "1002", {"support": 5})
        call_id = f"callback-{callback_id}"
        queued = await acd.wait_bus("acd.call", 10, event="queued", linkedid=call_id)
        assert (queued["source"], queued["callback_id"]) == ("crm", callback_id)
        rang = await acd.phone_rang("1002", CallId=call_id)
        assert rang.get("From") == "+15553000061"  # the agent sees whom they call back
        await acd.carrier_call("+15553000061")
        await acd.wait_bus("acd.call", 20, event="ended", linkedid=call_id)
        await acd.agent_becomes("bob", "ready")
        for _ in range(50):  # the mark runs in a thread once the talk ended
            with sessions() as s:
                saved = s.get(Callback, callback_id)
            if saved.state != "in_progress":
                break
            await acd.next_bus("acd.stats", 2)
    assert saved.state == "done" and "reached by bob" in saved.note
    with sessions() as s:
        assert len(s.scalars(select(Callback)).all()) == 1


async def test_a_waiting_caller_is_offered_a_callback(lab, sessions):
    async with AcdLab(lab, sessions) as acd:
        await acd.call(SUPPORT, "+15553000062", hold=9)  # nobody is logged in
        linkedid = await acd.queued("+15553000062")
        sound = acd.acd.offer_sounds.get("1")
        assert sound, "the offer prompt was not made at start"
        # After "you are next" and "thank you", the offer is streamed to the caller.
        await acd.pbx_event("AGIExecEnd", timeout=15, Linkedid=linkedid,
                            Command=f'STREAM FILE {sound} "0123456789*#"')
        assert acd.acd.announcer.offers >= 1
