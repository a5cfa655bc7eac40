"""The first real call in the history: a caller on the world dials the platform's
DID over SIP, the pbx answers through FastAGI, the caller presses a key, and
after hang-up the CRM holds one interaction keyed on Asterisk's linkedid."""
from __future__ import annotations

import asyncio

import pytest

from callcenter.world import CallerScript
from crm_core import interactions

from .helpers import AmiEvents, CallEvents

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]


async def test_the_engine_learns_the_desk_phones_from_asterisk(engine, lab):
    for name in lab.phones:
        phone = engine.endpoints.get(name)
        assert phone is not None and phone.registered, (name, phone)
    assert engine.endpoints.get("carrier") is not None
    assert len(engine.channels) == 0


async def test_a_call_with_a_key_lands_in_the_history(engine, world, sessions):
    events = CallEvents(engine.bus)
    pbx = AmiEvents(engine.ami)
    await world.place_call("8005550100", "+15551230001", "Ada Lovelace",
                           CallerScript(keys="7", delay=1.0, hold=15))
    first = await pbx.wait("Newchannel", context="from-carrier")
    # The key crossed real SIP as RFC 4733 and Asterisk reported it.
    await pbx.wait("DTMFEnd", digit="7", direction="Received", uniqueid=first.linkedid)
    ended = (await events.wait("call.ended", timeout=40))[0]
    await engine.history.flush(timeout=10)

    with sessions() as s:
        rows = interactions.recent(s)
    assert len(rows) == 1
    row = rows[0]
    assert row.linkedid == ended["linkedid"] == first.linkedid == first.uniqueid
    assert (row.direction, row.channel, row.status) == ("inbound", "call", "completed")
    assert (row.caller_number, row.caller_name) == ("+15551230001", "Ada Lovelace")
    assert row.dialled_number == "8005550100"
    assert row.keys_pressed == "7"
    assert row.started_at <= row.answered_at <= row.ended_at
    # The IVR said goodbye and hung up first: a normal clearing from our side.
    assert (row.hangup_cause, row.hangup_cause_text) == (16, "Normal Clearing")
    assert engine.agi.completed >= 1 and engine.agi.errors == 0


async def test_a_caller_who_hangs_up_while_ringing_is_still_in_the_history(lab, sessions):
    from .conftest import engine_for, world_of
    engine = engine_for(lab, sessions, ring_seconds=3.0)
    await engine.start()
    world = await world_of(lab)
    try:
        events = CallEvents(engine.bus)
        await world.place_call("8005550100", "+15551230009", script=CallerScript(keys="1"),
                               ring_timeout=0.8)
        await events.wait("call.ended", timeout=20)
        await engine.history.flush(timeout=10)
        with sessions() as s:
            (row,) = interactions.recent(s)
        assert row.caller_number == "+15551230009" and row.status == "completed"
        assert row.answered_at is None and row.keys_pressed == ""
        assert row.ended_at >= row.started_at and row.hangup_cause is not None
        # The IVR saw the hang-up mid-command and the server serves the next call.
        for _ in range(50):
            if engine.agi.hung_up >= 1:
                break
            await asyncio.sleep(0.1)
        assert engine.agi.hung_up >= 1 and engine.agi.errors == 0
    finally:
        await world.ami.stop()
        await engine.stop()


async def test_several_callers_at_once_each_get_their_own_row(engine, world, sessions):
    events = CallEvents(engine.bus)
    callers = [("+15551230101", "1"), ("+15551230102", "2"), ("+15551230103", "#")]
    for number, keys in callers:
        # The caller plays a sound before pressing, as a talking caller would.
        await world.place_call("8005550100", number,
                               script=CallerScript(keys=keys, delay=0.5, hold=15, audio="beep"))
    await events.wait("call.ended", count=3, timeout=60)
    await engine.history.flush(timeout=10)
    with sessions() as s:
        got = {(r.caller_number, r.keys_pressed, r.status) for r in interactions.recent(s)}
    assert got == {(n, k, "completed") for n, k in callers}
    assert engine.agi.errors == 0  # the IVR handled every key, * and # included


async def test_calls_land_on_the_card_of_the_customer_the_number_belongs_to(engine, world, sessions):
    from crm_core import customers
    with sessions.begin() as s:
        ada = customers.create_customer(s, {"name": "Ada Lovelace",
                                            "phones": ["(555) 123-0001"]}).customer
        customers.create_customer(s, {"name": "Office A", "phones": ["0044 20 7946 0958"]})
        customers.create_customer(s, {"name": "Office B", "phones": ["+44 20 7946 0958"]},
                                  allow_duplicate=True)
    events = CallEvents(engine.bus)
    for number in ("+15551230001", "+442079460958", "+4930123456"):
        await world.place_call("8005550100", number, script=CallerScript(keys="1", hold=15))
    await events.wait("call.ended", count=3, timeout=60)
    await engine.history.flush(timeout=10)
    with sessions() as s:
        linked = {r.caller_number: r.customer_id for r in interactions.recent(s)}
    # One match: linked. A shared office line (two customers) or an unknown
    # caller: left for the agent to choose or create on the pop.
    assert linked == {"+15551230001": ada.id, "+442079460958": None, "+4930123456": None}
