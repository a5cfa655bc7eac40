"""The agent's control of a real call (issue 6): hold with the queue's music and
resume, hang up from the console, what the console sees of the call, and bad
commands that change nothing.  One engine for the module; every test starts
from what it needs and ends with no channel left."""
from __future__ import annotations

import pytest
import pytest_asyncio

from acd.model import AcdError

from .acd_support import CARE, AcdLab, add_agent
from .conftest import make_sessions

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(lab, tmp_path_factory):
    sessions = make_sessions(tmp_path_factory.mktemp("control"))
    add_agent(sessions, "alice", {"care": 5})
    add_agent(sessions, "bob", {"care": 3})
    async with AcdLab(lab, sessions) as acd:
        yield acd


async def talking(acd: AcdLab, caller: str, hold: float = 20.0) -> str:
    """A caller of the care queue answered by alice (the only one ready)."""
    await acd.on_duty("alice", "1001")
    await acd.call(CARE, caller, hold=hold)
    linkedid = await acd.queued(caller)
    answered = await acd.wait_bus("acd.call", event="answered", linkedid=linkedid)
    assert answered["agent"] == "alice"
    return linkedid


async def test_hold_plays_the_queues_music_then_resume_and_hang_up(lab, desk):
    acd = desk
    acd.forget_events()
    linkedid = await talking(acd, "+15554000001")
    view = acd.acd.current_call("alice")
    assert (view["linkedid"], view["phase"], view["queue"], view["direction"]) == \
        (linkedid, "talking", "care", "inbound")
    assert view["caller"] == "+15554000001" and view["answered_at"] is not None

    await acd.acd.hold("alice")
    # Asterisk says the caller hears music: only then is the agent on hold.
    moh = await acd.pbx_event("MusicOnHoldStart", Uniqueid=linkedid, Context="acd-hold")
    assert moh.get("Class") == "default"  # the care queue's music class
    await acd.in_state("alice", "on_hold")
    await acd.wait_bus("acd.call", event="held", linkedid=linkedid, agent="alice")
    assert acd.acd.current_call("alice")["phase"] == "on_hold"
    with pytest.raises(AcdError, match="cannot hold the call while it is on_hold"):
        await acd.acd.hold("alice")

    await acd.acd.resume("alice")
    await acd.wait_bus("acd.call", event="resumed", linkedid=linkedid, agent="alice")
    await acd.in_state("alice", "on_call")
    assert acd.acd.current_call("alice")["phase"] == "talking"
    with pytest.raises(AcdError, match="cannot resume the call while it is talking"):
        await acd.acd.resume("alice")

    await acd.acd.hold("alice")  # a second hold works the same way
    await acd.in_state("alice", "on_hold")
    await acd.acd.hangup("alice")  # hanging up a held call ends it for both sides
    ended = await acd.wait_bus("acd.call", event="ended", linkedid=linkedid)
    assert ended["agent"] == "alice" and ended["talk"] > 0
    await acd.in_state("alice", "wrap_up")
    agent_row = next(p for t, p in acd.events.seen if t == "acd.agent"
                     and p["agent"] == "alice" and p["state"] == "wrap_up")
    assert agent_row["wrap_up_until"] > agent_row["since"] and agent_row["user_id"]
    assert acd.acd.current_call("alice") is None
    await acd.in_state("alice", "ready")  # the 2 s wrap-up ends by itself
    (talk,) = await acd.segments(linkedid, kinds=("agent",))
    assert talk.detail["agent"] == "alice" and talk.ended_at > talk.started_at


async def test_the_caller_hanging_up_on_hold_ends_the_talk(lab, desk):
    acd = desk
    acd.forget_events()
    linkedid = await talking(acd, "+15554000002", hold=4)
    await acd.acd.hold("alice")
    await acd.in_state("alice", "on_hold")
    # The caller hangs up while on hold; the engine hangs up alice's silent leg.
    ended = await acd.wait_bus("acd.call", event="ended", linkedid=linkedid)
    assert ended["agent"] == "alice"
    await acd.in_state("alice", "wrap_up")
    assert acd.acd.stats.kpis("care")["handled"] >= 1


async def test_the_agent_hanging_up_from_the_phone_while_on_hold(lab, desk):
    acd = desk
    acd.forget_events()
    linkedid = await talking(acd, "+15554000003")
    await acd.acd.hold("alice")
    await acd.in_state("alice", "on_hold")
    leg = acd.acd.book.get(linkedid).agent_uniqueid
    await acd.engine.ami.action("Hangup", Channel=leg)  # as if the desk phone hung up
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid)
    await acd.in_state("alice", "wrap_up")
    # nobody is left holding: the caller was hung up too (the autouse check)


async def test_bad_commands_change_nothing(lab, desk):
    acd = desk
    acd.forget_events()
    await acd.on_duty("alice", "1001")
    bad = [
        (acd.acd.hold("nobody"), "unknown agent"),
        (acd.acd.hold("bad name!"), "bad user name"),
        (acd.acd.hold("alice\r\nAction: Hangup"), "bad user name"),
        (acd.acd.resume("alice"), "alice has no call to resume"),
        (acd.acd.hangup("alice"), "alice has no call to hang up"),
        (acd.acd.transfer("alice", "queue", "care"), "alice has no call to transfer"),
        (acd.acd.transfer("alice", "fax", "care"), "unknown transfer kind"),
        (acd.acd.complete_transfer("alice"), "has no call"),
        (acd.acd.cancel_transfer("alice"), "has no call"),
    ]
    for command, message in bad:
        with pytest.raises(AcdError, match=message):
            await command
    assert acd.agent_state("alice") == ("ready", "")
    assert acd.acd.current_call("alice") is None and acd.acd.current_call("x y") is None
    assert [t for t, _ in acd.events.seen if t in ("acd.call", "acd.agent")] == []


async def test_bad_transfers_of_a_live_call_change_nothing(lab, desk):
    acd = desk
    acd.forget_events()
    await acd.on_duty("bob", "1002")
    await acd.acd.not_ready("bob", "break")
    linkedid = await talking(acd, "+15554000004", hold=15)
    bad = [
        (("queue", "nope"), "unknown queue"),
        (("queue", "care\nx"), "unknown queue"),
        (("agent", "bob"), "bob is not ready"),
        (("agent", "alice"), "yourself"),
        (("agent", "ghost"), "unknown agent"),
        (("number", "not a number"), "cannot dial"),
        (("number", "+1555;Hangup"), "cannot dial"),
        (("number", "12"), "cannot dial"),
    ]
    for (kind, target), message in bad:
        with pytest.raises(AcdError, match=message):
            await acd.acd.transfer("alice", kind, target)
    with pytest.raises(AcdError, match="nobody in queue support is ready"):
        await acd.acd.transfer("alice", "queue", "support", attended=True)
    with pytest.raises(AcdError, match="attended must be"):
        await acd.acd.transfer("alice", "queue", "care", attended="yes")
    with pytest.raises(AcdError, match="not consulting anyone|cannot complete"):
        await acd.acd.complete_transfer("alice")
    assert acd.agent_state("alice") == ("on_call", "")
    assert acd.agent_state("bob") == ("not_ready", "break")
    assert acd.acd.current_call("alice")["phase"] == "talking"
    await acd.acd.hangup("alice")
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid)
