"""The agent's call control fed by hand (no sockets): what is asked of Asterisk,
that states follow Asterisk's events and not the commands, and that a command
Asterisk refuses or never gets changes nothing.  The real thing runs in
tests/lab/test_acd_control.py and friends."""
from __future__ import annotations

import pytest
import pytest_asyncio

from acd.asterisk import AcdService
from acd.model import AcdError
from cti.ami_errors import AmiActionError, AmiNotConnected

from .test_acd_adapter_flow import QUEUES, Bus, FakeAmi, agent, caller, dial, settle, tracker_with

pytestmark = pytest.mark.asyncio

CALLER, LEG = "pbx-1.0", "pbx-1.1"


@pytest_asyncio.fixture
async def acd():
    ami, bus = FakeAmi(), Bus()
    service = AcdService(ami, QUEUES, endpoints=tracker_with("1001", "1002", "1003"), bus=bus,
                         tick_interval=3600, publish_period=3600, clock=lambda: 1000.0,
                         outbound_cli="+18005550300")
    service.attach()
    await service.start()
    service.fake, service.bus_seen = ami, bus
    yield service
    await service.stop()


async def talking(acd) -> None:
    """alice answered the caller pbx-1.0 on her leg pbx-1.1."""
    agent(acd, "alice", "1001")
    caller(acd.fake)
    await settle()
    dial(acd.fake, "DialBegin", dest=LEG)
    dial(acd.fake, "DialEnd", "ANSWER", dest=LEG)
    acd.fake.actions.clear()
    assert acd.router.agent("alice").state.value == "on_call"


def bridge_enter(acd, uniqueid: str, bridge: str = "b1") -> None:
    acd.fake.emit(Event="BridgeEnter", Uniqueid=uniqueid, Channel=f"PJSIP/x-{uniqueid}",
                  BridgeUniqueid=bridge, BridgeNumChannels="2")


async def test_hold_asks_for_music_and_the_agent_is_on_hold_when_asterisk_says_so(acd):
    await talking(acd)
    await acd.hold("alice")
    setvar, redirect = acd.fake.actions
    assert setvar == ("Setvar", {"Channel": CALLER, "Variable": "CC_MOH", "Value": "calm"})
    assert redirect == ("Redirect", {"Channel": CALLER, "Context": "acd-hold", "Exten": "s",
                                     "Priority": "1", "ExtraChannel": LEG,
                                     "ExtraContext": "acd-held-agent", "ExtraExten": "s",
                                     "ExtraPriority": "1"})
    assert acd.router.agent("alice").state.value == "on_call"  # Asterisk has not said so yet
    acd.fake.emit(Event="MusicOnHoldStart", Uniqueid=CALLER, Channel="PJSIP/c",
                  Context="acd-connect", Class="calm")  # ringing music: not the hold
    assert acd.router.agent("alice").state.value == "on_call"
    acd.fake.emit(Event="MusicOnHoldStart", Uniqueid=CALLER, Channel="PJSIP/c",
                  Context="acd-hold", Class="calm")
    assert acd.router.agent("alice").state.value == "on_hold"
    assert acd.current_call("alice")["phase"] == "on_hold"
    assert [p["event"] for p in acd.bus_seen.calls("held")] == ["held"]


async def test_resume_bridges_and_follows_the_bridge(acd):
    await talking(acd)
    await acd.hold("alice")
    acd.fake.emit(Event="MusicOnHoldStart", Uniqueid=CALLER, Context="acd-hold")
    acd.fake.actions.clear()
    await acd.resume("alice")
    assert acd.fake.actions == [("Bridge", {"Channel1": CALLER, "Channel2": LEG})]
    bridge_enter(acd, CALLER)
    assert acd.router.agent("alice").state.value == "on_hold"  # one side only so far
    bridge_enter(acd, LEG, bridge="other")
    assert acd.router.agent("alice").state.value == "on_hold"  # not the same bridge
    bridge_enter(acd, LEG)
    assert acd.router.agent("alice").state.value == "on_call"
    assert len(acd.bus_seen.calls("resumed")) == 1


@pytest.mark.parametrize("error, message", [
    (AmiActionError("Redirect", {"Message": "Channel not found"}), "Asterisk refused the hold"),
    (AmiNotConnected("link down"), "could not be sent")])
async def test_a_hold_asterisk_refuses_changes_nothing(acd, error, message):
    await talking(acd)
    acd.fake.fail["Redirect"] = error
    with pytest.raises(AcdError, match=message):
        await acd.hold("alice")
    live = acd.book.get(CALLER)
    assert (live.phase, live.pending) == ("talking", None)
    assert acd.router.agent("alice").state.value == "on_call"
    assert acd.bus_seen.calls("held") == []
    del acd.fake.fail["Redirect"]
    await acd.hold("alice")  # and the next try goes through


async def test_a_blind_transfer_asterisk_cannot_take_leaves_the_talk_as_it_was(acd):
    await talking(acd)
    acd.fake.fail["Redirect"] = AmiNotConnected("link down")
    with pytest.raises(AcdError, match="transfer could not be sent"):
        await acd.transfer("alice", "queue", "support")
    assert acd.router.agent("alice").state.value == "on_call"
    assert acd.book.get(CALLER).agent_uniqueid == LEG
    assert acd.router.waiting() == [] and acd.bus_seen.calls("transfer") == []


async def test_the_agent_leg_hanging_up_during_a_blind_transfer_is_expected(acd):
    await talking(acd)
    agent(acd, "bob", "1002")
    await acd.transfer("alice", "agent", "bob")
    acd.fake.emit(Event="Hangup", Uniqueid=LEG, Channel="PJSIP/1001-1", Timestamp="1005.0")
    assert acd.router.agent("alice").state.value == "ready"  # released once (wrap_up 0)
    assert acd.router.agent("bob").state.value == "reserved"
    assert acd.router.call(CALLER).offered_to == "bob"
    assert [p["agent"] for p in acd.bus_seen.calls("ended")] == ["alice"]
    redirects = [h for h in acd.fake.named("Redirect")]
    assert [r["Context"] for r in redirects][:1] == ["acd-wait"]


async def test_a_consultation_reserves_the_target_and_undoes_it_when_refused(acd):
    await talking(acd)
    agent(acd, "bob", "1002")
    acd.fake.fail["Redirect"] = AmiActionError("Redirect", {"Message": "gone"})
    with pytest.raises(AcdError, match="refused the consult"):
        await acd.transfer("alice", "agent", "bob", attended=True)
    assert acd.router.agent("bob").state.value == "ready"
    assert acd.book.get(CALLER).transfer is None


async def test_click_to_dial_that_cannot_be_placed_puts_the_agent_back(acd):
    acd.router.login("alice", "1001", {"support": 5}, 995.0, user_id=7)
    acd.router.not_ready("alice", "lunch", 996.0)
    acd.fake.fail["Originate"] = AmiNotConnected("link down")
    with pytest.raises(AcdError, match="could not be rung"):
        await acd.dial("alice", "+15556000001")
    alice = acd.router.agent("alice")
    assert (alice.state.value, alice.reason, alice.since) == ("not_ready", "lunch", 996.0)
    assert len(acd.book) == 0
    assert [p["outcome"] for p in acd.bus_seen.calls("ended")] == ["not-placed"]


async def test_click_to_dial_follows_asterisk(acd):
    acd.router.login("alice", "1001", {"support": 5}, 995.0, user_id=7)
    call_id = await acd.dial("alice", "555-600-0001")
    (originate,) = acd.fake.named("Originate")
    assert (originate["Channel"], originate["ChannelId"], originate["Context"]) == \
        ("PJSIP/1001", call_id, "acd-callback-dial")
    assert "CC_CALLBACK=+15556000001" in originate["Variable"]
    assert "CC_CALLBACK_CLI=+18005550300" in originate["Variable"]
    assert acd.router.agent("alice").state.value == "reserved"
    acd.fake.emit(Event="OriginateResponse", ActionID=originate["ActionID"], Response="Success",
                  Uniqueid=call_id)
    assert acd.router.agent("alice").state.value == "on_call"
    assert acd.current_call("alice")["phase"] == "dialling"
    acd.fake.emit(Event="DialBegin", Uniqueid=call_id, Channel="PJSIP/1001-1",
                  Context="acd-callback-dial", DestUniqueid="pbx-9", DestChannel="PJSIP/c-9")
    acd.fake.emit(Event="DialEnd", Uniqueid=call_id, Channel="PJSIP/1001-1",
                  Context="acd-callback-dial", DestUniqueid="pbx-9", DialStatus="ANSWER")
    assert acd.current_call("alice")["phase"] == "talking"
    acd.fake.emit(Event="Hangup", Uniqueid="pbx-9", Channel="PJSIP/c-9", Cause="16")
    acd.fake.emit(Event="Hangup", Uniqueid=call_id, Channel="PJSIP/1001-1", Cause="16")
    assert acd.router.agent("alice").state.value == "ready"  # the first queue's wrap-up: 0
    assert [p["event"] for t, p in acd.bus_seen.seen
            if t == "acd.call" and p["linkedid"] == call_id] == ["dialling", "answered", "ended"]


async def test_supervisor_commands_need_the_crm(acd):
    agent(acd, "alice", "1001")
    with pytest.raises(AcdError, match="no CRM"):
        await acd.monitor("sue", "1003", "alice", "listen")
    with pytest.raises(AcdError, match="no CRM"):
        await acd.force_not_ready("alice", "meeting", by="sue")
    assert acd.fake.actions == [] and acd.router.agent("alice").state.value == "ready"


async def test_stray_events_change_nothing(acd):
    await talking(acd)
    acd.fake.emit(Event="MusicOnHoldStart", Uniqueid="nobody", Context="acd-hold")
    acd.fake.emit(Event="BridgeEnter", Uniqueid="nobody", BridgeUniqueid="b9",
                  BridgeNumChannels="2")
    acd.fake.emit(Event="ChanSpyStart", SpyerUniqueid="nobody", SpyeeLinkedid=CALLER)
    acd.fake.emit(Event="DTMFEnd", Uniqueid="nobody", Digit="5", Direction="Received")
    acd.fake.emit(Event="DialEnd", Uniqueid=LEG, Context="acd-consult", DestUniqueid="x",
                  DialStatus="ANSWER")
    assert acd.problems == 0 and acd.fake.actions == []
    assert acd.router.agent("alice").state.value == "on_call"
    assert acd.current_call("alice")["phase"] == "talking"
