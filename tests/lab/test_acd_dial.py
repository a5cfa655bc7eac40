"""Click-to-dial on real calls (issue 6): the agent's phone rings, then the
customer's number is dialled through the world's carrier; the call is an
outbound interaction of the customer, written from what Asterisk reported.
Numbers on the do-not-call list, invalid ones, unknown customers and agents who
might get an ACD call meanwhile are refused, changing nothing."""
from __future__ import annotations

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from acd.model import AcdError
from crm_core import customers, dnc, interactions
from crm_core.models import Interaction

from .acd_support import OUTBOUND_CLI, AcdLab, add_agent
from .conftest import make_sessions

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(lab, tmp_path_factory):
    sessions = make_sessions(tmp_path_factory.mktemp("dial"))
    alice = add_agent(sessions, "alice", {"care": 5})
    with sessions.begin() as s:
        grace = customers.create_customer(s, {"name": "Grace Hopper",
                                              "phones": ["+15556000001"]}).customer.id
        dnc.add(s, "+15556000002", reason="asked not to be called")
    async with AcdLab(lab, sessions) as acd:
        acd.grace, acd.alice = grace, alice
        yield acd


def interaction_count(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Interaction))


async def not_ready(acd: AcdLab) -> None:
    acd.forget_events()
    await acd.off_duty("alice", "1001")
    assert acd.agent_state("alice")[0] == "not_ready"


async def test_click_to_dial_reaches_the_customer_and_lands_in_the_history(lab, desk):
    acd = desk
    await not_ready(acd)
    call_id = await acd.acd.dial("alice", "(555) 600-0001", customer_id=acd.grace)
    rang = await acd.phone_rang("1001", CallId=call_id)  # the agent's own phone first
    assert rang.get("From") == "+15556000001"
    dialled = await acd.carrier_call("+15556000001")  # then the customer, via the carrier
    assert dialled.get("From") == OUTBOUND_CLI
    answered = await acd.wait_bus("acd.call", event="answered", linkedid=call_id)
    assert (answered["direction"], answered["agent"], answered["number"]) == \
        ("outbound", "alice", "+15556000001")
    view = acd.acd.current_call("alice")
    assert (view["direction"], view["phase"], view["caller"]) == \
        ("outbound", "talking", "+15556000001")
    states = [p["state"] for t, p in acd.events.seen if t == "acd.agent" and p["agent"] == "alice"]
    assert states[-2:] == ["reserved", "on_call"]
    ended = await acd.wait_bus("acd.call", event="ended", linkedid=call_id)  # 2 s later
    assert ended["customer_dial"] == "answer" and ended["talk"] > 0
    await acd.in_state("alice", "wrap_up")  # like an inbound call
    await acd.history.flush()
    (talk,) = await acd.segments(call_id, kinds=("agent",))
    with acd.sessions() as s:
        row = interactions.by_linkedid(s, call_id)
    alice = acd.alice
    assert (row.direction, row.customer_id, row.agent_id) == ("outbound", acd.grace, alice)
    assert (row.dialled_number, row.caller_number, row.status) == \
        ("+15556000001", OUTBOUND_CLI, "completed")
    assert row.answered_at is not None and row.ended_at >= row.answered_at
    assert row.hangup_cause == 16  # the customer hung up: normal clearing, from Asterisk
    assert talk.agent_id == alice and talk.detail["agent"] == "alice"


async def test_refused_dials_change_nothing(lab, desk):
    acd = desk
    await not_ready(acd)
    before = interaction_count(acd.sessions)
    refused = [
        (("alice", "+15556000002"), "do-not-call"),
        (("alice", "not a number"), "cannot dial"),
        (("alice", "+1555600;0003"), "cannot dial"),
        (("alice", "+15556000003", 999999), "unknown customer"),
        (("alice", "+15556000003", "7"), "bad customer id"),
        (("ghost", "+15556000003"), "unknown agent"),
        (("alice\n", "+15556000003"), "bad user name"),
    ]
    for args, message in refused:
        with pytest.raises(AcdError, match=message):
            await acd.acd.dial(*args)
    await acd.acd.ready("alice")
    with pytest.raises(AcdError, match="only when not ready or in wrap-up, not while ready"):
        await acd.acd.dial("alice", "+15556000003")
    assert acd.agent_state("alice") == ("ready", "")
    assert acd.bus_events("acd.call") == []
    assert interaction_count(acd.sessions) == before
    assert acd.rang("1001") == []


async def test_the_agent_does_not_pick_up_their_phone(lab, desk):
    acd = desk
    await not_ready(acd)
    lab.world.rx("database put noanswer 1001 1")
    try:
        call_id = await acd.acd.dial("alice", "+15556000004")
        ended = await acd.wait_bus("acd.call", event="ended", linkedid=call_id, timeout=10)
    finally:
        lab.world.rx("database del noanswer 1001", check=False)
    assert ended["outcome"] == "ring-no-answer"
    assert acd.agent_state("alice") == ("not_ready", "ring-no-answer")
    assert call_id not in acd.acd.book
    await acd.history.flush()
    with acd.sessions() as s:
        row = interactions.by_linkedid(s, call_id)
    assert (row.direction, row.status, row.answered_at) == ("outbound", "completed", None)
    assert not [e for e in acd.phones.seen if e.user_event == "CarrierCall"]
