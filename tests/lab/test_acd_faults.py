"""The ACD when things go wrong on real calls: an agent's phone unregisters, the
dialplan sends garbage, a queue's wait runs out into voicemail, the engine
starts while callers are already waiting, agents send bad commands."""
from __future__ import annotations

import asyncio

import pytest

from acd.model import AcdError
from asterisk_conf.lab import wait_registered
from callcenter.world import CallerScript

from .acd_support import LATE, SALES, SUPPORT, AcdLab, add_agent, originate_waiting_caller
from .ivr_support import make_sound

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]


@pytest.fixture
def carrier_stays(lab):
    """The world's carrier side stays on the line 30 s for pbx-originated callers."""
    lab.world.rx("database put talk carrier 30")
    yield
    lab.world.rx("database del talk carrier", check=False)


async def test_an_unregistered_phone_never_strands_a_caller(lab, sessions):
    async with AcdLab(lab, sessions) as acd:
        try:
            await acd.agent_ready("alice", "1001", {"support": 5})
            await acd.agent_ready("bob", "1002", {"support": 9})  # the better one
            lab.world.rx("pjsip send unregister 1002")
            await acd.agent_becomes("bob", "not_ready", reason="phone-unregistered")
            with pytest.raises(AcdError, match="not registered"):
                await acd.acd.ready("bob")
            await acd.call(SUPPORT, "+15553000071", hold=5)
            linkedid = await acd.queued("+15553000071")
            answered = await acd.wait_bus("acd.call", 10, event="answered", linkedid=linkedid)
            assert answered["agent"] == "alice" and answered["waited"] < 2.0
            assert acd.rang("1002") == []
            await acd.wait_bus("acd.call", 15, event="ended", linkedid=linkedid)
        finally:
            lab.world.rx("pjsip send register 1002")
            await asyncio.to_thread(wait_registered, lab)
        await asyncio.sleep(0.5)  # the ContactStatus of the new registration
        await acd.acd.ready("bob")  # registered again: bob may take calls again


async def test_a_malformed_enqueue_is_still_served(lab, sessions, carrier_stays):
    async with AcdLab(lab, sessions) as acd:
        await acd.agent_ready("alice", "1001", {"sales": 5})
        # An AMI client's UserEvent has no channel: logged and ignored.
        await acd.engine.ami.action("UserEvent", UserEvent="AcdEnqueue", Queue="sales")
        # A dialplan originate with garbage in every CC_ variable.
        await originate_waiting_caller(lab, "+15553000061", {
            "CC_QUEUE": "no such queue!", "CC_SKILLS": "bad skill;x", "CC_PRIORITY": "high",
            "CC_CUSTOMER": "-5"})
        queued = await acd.wait_bus("acd.call", 10, event="queued", caller="+15553000061")
        assert (queued["queue"], queued["skills"], queued["priority"]) == ("sales", ["sales"], 0)
        assert queued["customer_id"] is None
        answered = await acd.wait_bus("acd.call", 10, event="answered",
                                      linkedid=queued["linkedid"])
        assert answered["agent"] == "alice"
        assert acd.acd.problems >= 2  # the channel-less event and the garbage, both logged
        lab.world.rx("channel request hangup all")
        await acd.wait_bus("acd.call", 10, event="ended", linkedid=queued["linkedid"])
        # The ACD carries on: the next caller is served as usual.
        await acd.agent_becomes("alice", "ready")
        await acd.call(SALES, "+15553000062", hold=3)
        linkedid = await acd.queued("+15553000062")
        await acd.wait_bus("acd.call", 10, event="answered", linkedid=linkedid)
        await acd.wait_bus("acd.call", 15, event="ended", linkedid=linkedid)


async def test_callers_already_waiting_are_taken_over_at_start(lab, sessions, carrier_stays):
    lab.pbx.rx("dialplan set global ACD_ONLINE 1")
    await originate_waiting_caller(lab, "+15553000081", {
        "CC_QUEUE": "support", "CC_SKILLS": "support", "CC_PRIORITY": "5", "CC_CUSTOMER": "0"})
    await asyncio.sleep(2.0)  # waiting in acd-wait with no engine to route it
    async with AcdLab(lab, sessions) as acd:
        queued = await acd.wait_bus("acd.call", 10, event="queued", caller="+15553000081")
        assert queued["queue"] == "support"
        await acd.agent_ready("bob", "1002", {"support": 5})
        answered = await acd.wait_bus("acd.call", 10, event="answered",
                                      linkedid=queued["linkedid"])
        assert answered["agent"] == "bob"
        assert answered["waited"] >= 2.0  # counted from the channel's age, not the resync
        lab.world.rx("channel request hangup all")
        await acd.wait_bus("acd.call", 10, event="ended", linkedid=queued["linkedid"])


async def test_a_dialplan_reload_does_not_strand_callers(lab, sessions):
    async with AcdLab(lab, sessions) as acd:
        await acd.agent_ready("alice", "1001", {"sales": 5})
        lab.pbx.rx("dialplan reload")  # clears the global ACD_ONLINE (clearglobalvars)
        await acd.call(SALES, "+15553000101", hold=12)
        # The caller lands in [ivr-queue]'s plain music, then the ACD notices the
        # switch is gone, sets it again and takes the caller over.
        await acd.pbx_event("Newexten", Context="ivr-queue", AppData="default",
                            CallerIDNum="+15553000101")
        queued = await acd.wait_bus("acd.call", 10, event="queued", caller="+15553000101")
        answered = await acd.wait_bus("acd.call", 10, event="answered",
                                      linkedid=queued["linkedid"])
        assert answered["agent"] == "alice"
        assert "ACD_ONLINE=1" in lab.pbx.rx("dialplan show globals")
        await acd.wait_bus("acd.call", 15, event="ended", linkedid=queued["linkedid"])


async def test_overflow_to_voicemail_records_a_message(lab, sessions):
    message = make_sound(lab.pbx.root, "acd-call-me", "Please call me back about my order")
    async with AcdLab(lab, sessions) as acd:
        # max_wait 3 s, the greeting (vm-intro) and the beep: then the caller speaks.
        await acd.world.place_call(LATE, "+15553000091", "",
                                   CallerScript(audio=message, delay=10.5, hold=0.5))
        linkedid = await acd.queued("+15553000091")
        overflow = await acd.wait_bus("acd.call", 10, event="overflow", linkedid=linkedid)
        assert (overflow["action"], overflow["target"]) == ("voicemail", "200")
        stored = await acd.wait_bus("acd.voicemail", 25, linkedid=linkedid)
        assert stored["mailbox"] == "200" and stored["queue"] == "late"
        assert stored["seconds"] > 1.0
        (queue,) = await acd.segments(linkedid, kinds=("queue",))
        for _ in range(50):
            links = acd.links(linkedid)
            if links:
                break
            await asyncio.sleep(0.2)
    assert (queue.detail["outcome"], queue.detail["to"]) == ("overflow", "voicemail")
    (link,) = links
    assert link.kind == "voicemail" and link.ref == str(acd.recordings / "voicemail" /
                                                          f"{linkedid}.wav")
    assert link.meta["source"] == "acd" and link.meta["caller"] == "+15553000091"


async def test_agent_commands_are_checked(lab, sessions):
    async with AcdLab(lab, sessions) as acd:
        add_agent(sessions, "alice", {"sales": 5})
        add_agent(sessions, "carol", {"sales": 5})
        cases = [(acd.acd.login("mallory", "1001"), "unknown user"),
                 (acd.acd.login("alice", "9999"), "unknown seat"),
                 (acd.acd.login("alice", "x;Dial"), "bad seat"),
                 (acd.acd.login("alice\n", "1001"), "bad user name"),
                 (acd.acd.ready("alice"), "unknown agent")]
        for command, message in cases:
            with pytest.raises(AcdError, match=message):
                await command
        await acd.acd.login("alice", "1001")
        with pytest.raises(AcdError, match="in use by alice"):
            await acd.acd.login("carol", "1001")
        with pytest.raises(AcdError, match="already logged in"):
            await acd.acd.login("alice", "1002")
        with pytest.raises(AcdError, match="reason"):
            await acd.acd.not_ready("alice", "Lunch Break")
        with pytest.raises(AcdError, match="wrap_up_done refused"):
            await acd.acd.end_wrap_up("alice")
        await acd.acd.ready("alice")
        await acd.acd.not_ready("alice", "lunch")
        assert acd.agent_state("alice") == ("not_ready", "lunch")
        await acd.acd.logout("alice")
        assert acd.agent_state("alice") == ("logged_out", "")
        await acd.acd.login("carol", "1001")  # the seat is free again
        await acd.agent_becomes("carol", "not_ready")
        states = [(p["agent"], p["state"]) for p in acd.bus_events("acd.agent")]
    assert states == [("alice", "not_ready"), ("alice", "ready"), ("alice", "not_ready"),
                      ("alice", "logged_out"), ("carol", "not_ready")]
