"""Supervisors on real calls (issue 6): listen, whisper and barge through ChanSpy
from the supervisor's desk phone (1003), switching mode live; forcing agents
not ready or logged out, with audit rows; and every bad request refused."""
from __future__ import annotations

import pytest
import pytest_asyncio
from sqlalchemy import select

from acd.model import AcdError
from crm_core.models import AuditEntry

from .acd_support import CARE, AcdLab, add_agent
from .conftest import make_sessions

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(lab, tmp_path_factory):
    sessions = make_sessions(tmp_path_factory.mktemp("supervisor"))
    add_agent(sessions, "alice", {"care": 5})
    add_agent(sessions, "bob", {"care": 3})
    sue = add_agent(sessions, "sue", {}, role="supervisor")
    async with AcdLab(lab, sessions) as acd:
        acd.sue = sue
        yield acd


async def alice_talking(acd: AcdLab, caller: str) -> str:
    acd.forget_events()
    await acd.on_duty("alice", "1001")
    await acd.off_duty("bob", "1002")
    await acd.call(CARE, caller, hold=25)
    linkedid = await acd.queued(caller)
    await acd.wait_bus("acd.call", event="answered", linkedid=linkedid, agent="alice")
    return linkedid


def monitors(acd: AcdLab, **fields) -> list[dict]:
    return acd.bus_events("acd.monitor", **fields)


async def test_listen_then_whisper_until_the_agents_call_ends(lab, desk):
    acd = desk
    linkedid = await alice_talking(acd, "+15557000001")
    await acd.acd.monitor("sue", "1003", "alice", "listen")
    ringing = await acd.wait_bus("acd.monitor", state="ringing")
    assert (ringing["supervisor"], ringing["seat"], ringing["agent"], ringing["mode"]) == \
        ("sue", "1003", "alice", "listen")
    spy = await acd.pbx_event("ChanSpyStart", SpyeeLinkedid=linkedid)
    assert spy.get("SpyerChannel").startswith("PJSIP/1003-")
    assert spy.get("SpyeeChannel").startswith("PJSIP/1001-")
    started = await acd.wait_bus("acd.monitor", state="started")
    assert started["linkedid"] == linkedid
    with pytest.raises(AcdError, match="already monitoring alice"):
        await acd.acd.monitor("sue", "1003", "bob", "listen")

    await acd.acd.monitor_mode("sue", "whisper")
    # ChanSpy's d option: the DTMF 5 it received switches it to whisper
    await acd.pbx_event("DTMFEnd", Uniqueid=spy.get("SpyerUniqueid"), Digit="5",
                        Direction="Received")
    await acd.wait_bus("acd.monitor", state="started", mode="whisper")
    assert [m["mode"] for m in acd.acd.monitors()] == ["whisper"]

    await acd.acd.hangup("alice")  # the agent's call ends: so does the spying
    await acd.pbx_event("ChanSpyStop", SpyeeLinkedid=linkedid)
    ended = await acd.wait_bus("acd.monitor", state="ended")
    assert ended["supervisor"] == "sue" and acd.acd.monitors() == []


async def test_barge_from_the_start_and_stop(lab, desk):
    acd = desk
    linkedid = await alice_talking(acd, "+15557000002")
    await acd.acd.monitor("sue", "1003", "alice", "barge")
    spy = await acd.pbx_event("ChanSpyStart", SpyeeLinkedid=linkedid)
    # ChanSpy runs with quiet, exit-with-the-agent, DTMF modes and barge
    await acd.pbx_event("Newexten", Uniqueid=spy.get("SpyerUniqueid"), Application="ChanSpy",
                        AppData="PJSIP/1001-,qEdB")
    await acd.wait_bus("acd.monitor", state="started", mode="barge")
    await acd.acd.stop_monitor("sue")
    await acd.wait_bus("acd.monitor", state="ended")
    assert acd.agent_state("alice")[0] == "on_call"  # the agent's call goes on
    with pytest.raises(AcdError, match="not monitoring"):
        await acd.acd.stop_monitor("sue")
    await acd.acd.hangup("alice")
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid)


async def test_bad_monitor_requests_change_nothing(lab, desk):
    acd = desk
    acd.forget_events()
    await acd.on_duty("alice", "1001")
    await acd.off_duty("bob", "1002")
    refused = [
        (("sue", "1003", "alice", "shout"), "unknown listening mode"),
        (("alice", "1003", "bob", "listen"), "alice is not a supervisor"),
        (("nobody", "1003", "alice", "listen"), "unknown user"),
        (("sue", "1999", "alice", "listen"), "unknown seat"),
        (("sue", "10;03", "alice", "listen"), "bad seat"),
        (("sue", "1002", "alice", "listen"), "seat 1002 is bob's phone"),
        (("sue", "1003", "ghost", "listen"), "unknown agent"),
        (("sue\r\n", "1003", "alice", "listen"), "bad supervisor"),
    ]
    for args, message in refused:
        with pytest.raises(AcdError, match=message):
            await acd.acd.monitor(*args)
    with pytest.raises(AcdError, match="not monitoring"):
        await acd.acd.monitor_mode("sue", "whisper")
    assert monitors(acd) == [] and acd.acd.monitors() == []
    assert acd.rang("1003") == []


async def test_forced_not_ready_and_logout_are_audited(lab, desk):
    acd = desk
    linkedid = await alice_talking(acd, "+15557000003")
    reason = acd.agent_state("bob")[1]
    await acd.acd.force_not_ready("bob", "meeting", by="sue")
    assert acd.agent_state("bob") == ("not_ready", "meeting")
    with pytest.raises(AcdError, match="not_ready refused while on_call"):
        await acd.acd.force_not_ready("alice", "meeting", by="sue")
    with pytest.raises(AcdError, match="bob is not a supervisor"):
        await acd.acd.force_logout("alice", by="bob")
    with pytest.raises(AcdError, match="bad not-ready reason"):
        await acd.acd.force_not_ready("bob", "Coffee Break!", by="sue")
    await acd.acd.force_logout("alice", by="sue")  # busy: once the call ends
    assert acd.acd.router.agent("alice").presence == "pending_logout"
    await acd.acd.hangup("alice")
    await acd.in_state("alice", "logged_out")
    with acd.sessions() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.entity == "agent")
                         .order_by(AuditEntry.id)).all()
    assert [(r.entity_id, r.changes["action"], r.changes["by"]) for r in rows] == \
        [("bob", "force_not_ready", "sue"), ("alice", "force_logout", "sue")]
    assert rows[0].changes["reason"] == [reason, "meeting"]
    assert rows[0].user_id == rows[1].user_id == acd.sue
    assert rows[1].changes["presence"] == ["on_call", "pending_logout"]
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid)
