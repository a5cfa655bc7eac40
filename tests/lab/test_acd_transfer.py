"""Transfers of real calls (issue 6): blind to a queue, to an agent (answered, or
not: back in line at its place) and to a number through the carrier; attended
to an agent (completed, cancelled, the target or the caller hanging up) and to
a number.  The history gets the queue, agent and transfer segments."""
from __future__ import annotations

import pytest
import pytest_asyncio

from acd.model import AcdError

from .acd_support import CARE, OUTBOUND_CLI, AcdLab, add_agent
from .conftest import make_sessions

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(lab, tmp_path_factory):
    sessions = make_sessions(tmp_path_factory.mktemp("transfer"))
    add_agent(sessions, "alice", {"care": 9})
    add_agent(sessions, "bob", {"care": 2, "support": 5})
    async with AcdLab(lab, sessions) as acd:
        yield acd


@pytest.fixture
def world_db(lab):
    """AstDB keys set on the world for one test, removed after it."""
    keys = []

    def put(family: str, key: str, value: str) -> None:
        lab.world.rx(f"database put {family} {key} {value}")
        keys.append((family, key))
    yield put
    for family, key in keys:
        lab.world.rx(f"database del {family} {key}", check=False)


async def alice_talking(acd: AcdLab, caller: str, bob: str | None = "ready") -> str:
    """alice (the only care agent ready) answers ``caller``; then bob is ready
    (``bob`` = "ready") or stays not ready (None)."""
    acd.forget_events()
    await acd.on_duty("alice", "1001")
    await acd.off_duty("bob", "1002")
    await acd.call(CARE, caller, hold=25)
    linkedid = await acd.queued(caller)
    answered = await acd.wait_bus("acd.call", event="answered", linkedid=linkedid)
    assert answered["agent"] == "alice"
    if bob == "ready":
        await acd.on_duty("bob", "1002")
    return linkedid


def kinds(segments) -> list[str]:
    return [s.kind for s in segments]


async def test_blind_transfer_to_a_queue(lab, desk):
    acd = desk
    linkedid = await alice_talking(acd, "+15555000001")
    await acd.acd.transfer("alice", "queue", "support")
    moved = await acd.wait_bus("acd.call", event="transfer", linkedid=linkedid)
    assert (moved["kind"], moved["target"], moved["agent"]) == ("queue", "support", "alice")
    answered = await acd.wait_bus("acd.call", event="answered", linkedid=linkedid, agent="bob")
    assert answered["queue"] == "support"
    await acd.in_state("alice", "wrap_up", timeout=5)  # released at the transfer
    assert acd.acd.current_call("bob")["queue"] == "support"
    assert acd.acd.stats.kpis("support")["offered"] == 1
    await acd.acd.hangup("bob")
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid, agent="bob")
    segments = await acd.segments(linkedid, kinds=("queue", "agent", "transfer"), count=5)
    assert kinds(segments) == ["queue", "agent", "transfer", "queue", "agent"]
    care, first, transfer, support, second = segments
    assert (care.detail["queue"], care.detail["agent"]) == ("care", "alice")
    assert first.detail["agent"] == "alice" and second.detail["agent"] == "bob"
    assert transfer.detail == {"kind": "queue", "target": "support", "attended": False,
                               "from_agent": "alice", "to_agent": None, "outcome": "queued"}
    assert (support.detail["queue"], support.detail["outcome"], support.detail["agent"]) == \
        ("support", "answered", "bob")
    assert first.ended_at <= transfer.started_at + (transfer.ended_at - transfer.started_at)


async def test_blind_transfer_to_an_agent_who_answers(lab, desk):
    acd = desk
    linkedid = await alice_talking(acd, "+15555000002")
    await acd.acd.transfer("alice", "agent", "bob")
    rang = await acd.phone_rang("1002", CallId=linkedid)
    assert rang.get("From") == "+15555000002"  # bob's phone shows the caller
    await acd.wait_bus("acd.call", event="answered", linkedid=linkedid, agent="bob")
    (offer,) = [p for t, p in acd.events.seen if t == "acd.offer" and p["agent"] == "bob"]
    assert "transferred to bob" in offer["why"]  # the pop says why it rings
    await acd.acd.hangup("bob")
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid, agent="bob")
    segments = await acd.segments(linkedid, kinds=("transfer",))
    assert (segments[0].detail["to_agent"], segments[0].detail["outcome"]) == ("bob", "answered")


async def test_blind_transfer_to_an_agent_who_does_not_answer(lab, desk, world_db):
    acd = desk
    linkedid = await alice_talking(acd, "+15555000003")
    world_db("noanswer", "1002", "1")
    await acd.acd.transfer("alice", "agent", "bob")
    await acd.phone_rang("1002", CallId=linkedid)
    # bob goes not ready as after any ring-no-answer; the caller is back in line
    # at its original place, and alice takes it once her wrap-up ends.
    await acd.in_state("bob", "not_ready", timeout=10)
    assert acd.agent_state("bob") == ("not_ready", "ring-no-answer")
    await acd.until(lambda: len(acd.bus_events("acd.call", event="answered", agent="alice",
                                                linkedid=linkedid)) == 2, timeout=10)
    again = acd.bus_events("acd.call", event="answered", agent="alice", linkedid=linkedid)[1]
    assert again["waited"] >= 3.0  # from the call's arrival: it kept its place
    (requeued,) = acd.bus_events("acd.call", event="requeued", linkedid=linkedid)
    assert requeued["agent"] == "bob"
    await acd.acd.hangup("alice")
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid, agent="alice")
    (transfer,) = await acd.segments(linkedid, kinds=("transfer",))
    assert transfer.detail["outcome"] == "not-answered"


async def test_blind_transfer_to_a_number(lab, desk, world_db):
    acd = desk
    world_db("talk", "carrier", "2")
    linkedid = await alice_talking(acd, "+15555000004", bob=None)
    await acd.acd.transfer("alice", "number", "(555) 500-0099")  # national, normalised
    dialled = await acd.carrier_call("+15555000099")
    assert dialled.get("From") == OUTBOUND_CLI
    await acd.in_state("alice", "wrap_up", timeout=5)
    (transfer,) = await acd.segments(linkedid, kinds=("transfer",))
    assert (transfer.detail["kind"], transfer.detail["target"], transfer.detail["outcome"]) == \
        ("number", "+15555000099", "answered")
    assert linkedid not in acd.acd.book


async def test_attended_transfer_to_an_agent_completed(lab, desk):
    acd = desk
    linkedid = await alice_talking(acd, "+15555000005")
    await acd.acd.transfer("alice", "agent", "bob", attended=True)
    await acd.wait_bus("acd.call", event="consulting", linkedid=linkedid, agent="alice")
    await acd.pbx_event("MusicOnHoldStart", Uniqueid=linkedid, Context="acd-hold")
    await acd.wait_bus("acd.call", event="consult-answered", linkedid=linkedid)
    await acd.in_state("bob", "on_call")
    assert acd.agent_state("alice")[0] == "on_hold"  # the caller hears music meanwhile
    assert acd.acd.current_call("alice")["phase"] == "consulting"
    assert acd.acd.current_call("alice")["consult"]["answered"] is True
    assert acd.acd.current_call("bob")["role"] == "consulted"
    with pytest.raises(AcdError, match="consulting"):
        await acd.acd.hold("alice")
    await acd.acd.complete_transfer("alice")
    done = await acd.wait_bus("acd.call", event="transferred", linkedid=linkedid)
    assert (done["agent"], done["from_agent"]) == ("bob", "alice")
    await acd.in_state("alice", "wrap_up", timeout=5)
    view = acd.acd.current_call("bob")
    assert (view["phase"], view["role"], view["linkedid"]) == ("talking", "agent", linkedid)
    # the caller now talks to bob: one bridge with the caller and bob's leg
    leg = acd.acd.book.get(linkedid).agent_uniqueid
    await acd.until(lambda: acd.acd._bridge_of.get(leg) and
                    acd.acd._bridge_of.get(leg) == acd.acd._bridge_of.get(linkedid))
    await acd.acd.hangup("bob")
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid, agent="bob")
    await acd.in_state("bob", "wrap_up", timeout=5)
    segments = await acd.segments(linkedid, kinds=("agent", "transfer"), count=3)
    assert kinds(segments) == ["agent", "transfer", "agent"]
    first, transfer, second = segments
    assert transfer.detail == {"kind": "agent", "target": "bob", "attended": True,
                               "from_agent": "alice", "to_agent": "bob", "outcome": "completed"}
    assert (first.detail["agent"], second.detail["agent"]) == ("alice", "bob")
    assert first.ended_at <= second.started_at


async def test_attended_transfer_cancelled(lab, desk):
    acd = desk
    linkedid = await alice_talking(acd, "+15555000006")
    await acd.acd.transfer("alice", "agent", "bob", attended=True)
    await acd.wait_bus("acd.call", event="consult-answered", linkedid=linkedid)
    await acd.acd.cancel_transfer("alice")
    cancelled = await acd.wait_bus("acd.call", event="transfer-cancelled", linkedid=linkedid)
    assert cancelled["reason"] == "cancelled"
    await acd.wait_bus("acd.call", event="resumed", linkedid=linkedid, agent="alice")
    await acd.in_state("alice", "on_call")
    await acd.in_state("bob", "ready")  # a consultation is no call of theirs: no wrap-up
    assert acd.acd.current_call("alice")["phase"] == "talking"
    await acd.acd.hangup("alice")
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid, agent="alice")
    (transfer,) = await acd.segments(linkedid, kinds=("transfer",))
    assert transfer.detail["outcome"] == "cancelled"


async def test_the_target_hangs_up_and_the_caller_is_back(lab, desk, world_db):
    acd = desk
    world_db("talk", "1002", "1")
    linkedid = await alice_talking(acd, "+15555000007")
    await acd.acd.transfer("alice", "queue", "care", attended=True)  # its next agent: bob
    started = await acd.wait_bus("acd.call", event="consulting", linkedid=linkedid)
    assert started["to_agent"] == "bob"
    cancelled = await acd.wait_bus("acd.call", event="transfer-cancelled", linkedid=linkedid)
    assert cancelled["reason"] == "target-hung-up"
    await acd.wait_bus("acd.call", event="resumed", linkedid=linkedid, agent="alice")
    await acd.in_state("alice", "on_call")
    await acd.acd.hangup("alice")
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid, agent="alice")


async def test_the_caller_hangs_up_during_the_consultation(lab, desk):
    acd = desk
    acd.forget_events()
    await acd.on_duty("alice", "1001")
    await acd.off_duty("bob", "1002")
    await acd.call(CARE, "+15555000008", hold=5)
    linkedid = await acd.queued("+15555000008")
    await acd.wait_bus("acd.call", event="answered", linkedid=linkedid, agent="alice")
    await acd.on_duty("bob", "1002")
    await acd.acd.transfer("alice", "agent", "bob", attended=True)
    await acd.wait_bus("acd.call", event="consult-answered", linkedid=linkedid)
    # the caller hangs up (5 s after answer); alice and bob may finish talking
    (transfer,) = await acd.segments(linkedid, kinds=("transfer",), timeout=10)
    assert transfer.detail["outcome"] == "caller-hung-up"
    assert acd.agent_state("alice")[0] in ("on_call", "on_hold")
    assert acd.agent_state("bob")[0] == "on_call"
    with pytest.raises(AcdError, match="the caller has hung up"):
        await acd.acd.complete_transfer("alice")
    leg = acd.acd.book.get(linkedid).agent_uniqueid
    await acd.engine.ami.action("Hangup", Channel=leg)  # alice hangs up her phone
    await acd.in_state("alice", "wrap_up")
    await acd.in_state("bob", "ready")


async def test_attended_transfer_to_a_number(lab, desk, world_db):
    acd = desk
    world_db("talk", "carrier", "4")
    linkedid = await alice_talking(acd, "+15555000009", bob=None)
    await acd.acd.transfer("alice", "number", "+15555000098", attended=True)
    await acd.carrier_call("+15555000098")
    await acd.wait_bus("acd.call", event="consult-answered", linkedid=linkedid)
    await acd.acd.complete_transfer("alice")
    done = await acd.wait_bus("acd.call", event="transferred", linkedid=linkedid)
    assert done["agent"] is None and done["target"] == "+15555000098"
    await acd.in_state("alice", "wrap_up", timeout=5)
    assert linkedid not in acd.acd.book  # the ACD's part is over; the carrier hangs up
    (transfer,) = await acd.segments(linkedid, kinds=("transfer",))
    assert (transfer.detail["attended"], transfer.detail["outcome"]) == (True, "completed")


async def test_transfers_of_a_caller_on_hold(lab, desk):
    acd = desk
    linkedid = await alice_talking(acd, "+15555000010")
    await acd.acd.hold("alice")
    await acd.in_state("alice", "on_hold")
    # a consultation from hold: only alice's leg moves, the caller keeps the music
    await acd.acd.transfer("alice", "agent", "bob", attended=True)
    await acd.wait_bus("acd.call", event="consult-answered", linkedid=linkedid)
    await acd.acd.cancel_transfer("alice")
    await acd.wait_bus("acd.call", event="resumed", linkedid=linkedid, agent="alice")
    await acd.in_state("alice", "on_call")
    await acd.in_state("bob", "ready")
    await acd.acd.hold("alice")
    await acd.in_state("alice", "on_hold")
    # blind from hold: the engine hangs up alice's silent leg itself
    await acd.acd.transfer("alice", "queue", "support")
    await acd.wait_bus("acd.call", event="answered", linkedid=linkedid, agent="bob")
    await acd.in_state("alice", "wrap_up", timeout=5)
    await acd.acd.hangup("bob")
    await acd.wait_bus("acd.call", event="ended", linkedid=linkedid, agent="bob")
    transfers = await acd.segments(linkedid, kinds=("transfer",), count=2)
    assert [(t.detail["attended"], t.detail["outcome"]) for t in transfers] == \
        [(True, "cancelled"), (False, "queued")]
