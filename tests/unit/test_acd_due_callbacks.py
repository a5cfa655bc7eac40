"""Callbacks kept in the CRM are taken by the ACD's poller and placed like a
virtual hold; and the callback offer after the announcement.  The CRM is
replaced by fakes of acd.crm's functions, Asterisk by the fake AMI of
test_acd_adapter_flow."""
from __future__ import annotations

import asyncio
import logging

import pytest
import pytest_asyncio

from acd import crm
from acd.announce import Announcer
from acd.asterisk import AcdService, offer_text
from acd.model import QueueConfig
from crm_core.errors import Conflict

from .test_acd_adapter_flow import Bus, FakeAmi, caller, settle, tracker_with

pytestmark = pytest.mark.asyncio

QUEUES = {"support": QueueConfig("support", skills=("support",), ring_timeout=7, wrap_up=0,
                                 callback_key="1", last_agent=True),
          "sales": QueueConfig("sales", skills=("sales",), ring_timeout=7, wrap_up=0)}


class FakeCrm:
    """acd.crm's due_callbacks / mark_callback / save_virtual_hold, in memory."""

    def __init__(self):
        self.rows: list[crm.DueCallback] = []
        self.marks: list[tuple[int, str]] = []
        self.excluded: list[set] = []
        self.fail: Exception | None = None
        self.conflict: set[int] = set()

    def due_callbacks(self, sessions, now=None, limit=100, *, exclude=()):
        self.excluded.append(set(exclude))
        if self.fail is not None:
            raise self.fail
        return [r for r in self.rows if r.id not in set(exclude) and r.due_at <= now][:limit]

    def mark_callback(self, sessions, callback_id, state, note=""):
        if callback_id in self.conflict:
            raise Conflict(f"callback {callback_id} changed state meanwhile")
        self.marks.append((callback_id, state))

    def save_virtual_hold(self, sessions, **kwargs):
        return 42

    def caller_context(self, sessions, **kwargs):
        return crm.CallerContext()


def row(id=7, phone="+15551230009", queue="support", agent=None, due_at=900.0):
    return crm.DueCallback(id=id, phone_e164=phone, queue=queue, agent=agent,
                           agent_id=1 if agent else None, customer_id=5, due_at=due_at,
                           attempts=0, note="", interaction_id=None)


@pytest.fixture
def fake_crm(monkeypatch):
    fake = FakeCrm()
    for name in ("due_callbacks", "mark_callback", "save_virtual_hold", "caller_context"):
        monkeypatch.setattr(crm, name, getattr(fake, name))
    return fake


@pytest_asyncio.fixture
async def acd(fake_crm):
    ami, bus = FakeAmi(), Bus()
    service = AcdService(ami, QUEUES, sessions=object(), endpoints=tracker_with("1001", "1002"),
                         bus=bus, tick_interval=3600, publish_period=3600, callback_poll=None,
                         clock=lambda: 1000.0)
    service.attach()
    await service.start()
    service.fake, service.bus_seen, service.crm = ami, bus, fake_crm
    yield service
    await service.stop()


def ready(acd, name, seat, skill="support"):
    acd.router.login(name, seat, {skill: 5}, 995.0, user_id=7)
    acd.router.ready(name, 995.0)


async def test_a_due_callback_is_claimed_queued_and_placed(acd):
    acd.crm.rows = [row()]
    assert await acd.poll_due_callbacks() == 1
    (waiting,) = acd.router.waiting()
    assert (waiting.call_id, waiting.queue, waiting.arrived_at, waiting.callback, waiting.caller,
            waiting.customer_id) == ("callback-7", "support", 900.0, "+15551230009",
                                     "+15551230009", 5)
    assert acd.crm.marks == [(7, "in_progress")]
    assert await acd.poll_due_callbacks() == 0  # held: not taken twice
    assert acd.crm.excluded[-1] == {7}
    ready(acd, "alice", "1001")
    await settle()
    (originate,) = acd.fake.named("Originate")
    assert originate["Channel"] == "PJSIP/1001" and "CC_CALLBACK=+15551230009" in \
        originate["Variable"]
    acd.fake.emit(Event="OriginateResponse", ActionID=originate["ActionID"], Response="Success",
                  Uniqueid="pbx-2.0", Timestamp="1005.0")
    acd.fake.emit(Event="DialEnd", Channel="PJSIP/1001-1", Uniqueid="pbx-2.0",
                  Linkedid="pbx-2.0", DestUniqueid="pbx-2.1", DialStatus="ANSWER")
    acd.fake.emit(Event="Hangup", Uniqueid="pbx-2.0", Linkedid="pbx-2.0", Timestamp="1030.0")
    await settle()
    await asyncio.sleep(0.05)  # the mark runs in a thread
    assert acd.crm.marks == [(7, "in_progress"), (7, "done")]  # claimed once, then done
    assert acd.router.agent("alice").state.value == "ready" and len(acd.book) == 0


async def test_an_unanswered_callback_goes_back_to_pending_and_is_claimed_again(acd):
    acd.crm.rows = [row()]
    await acd.poll_due_callbacks()
    ready(acd, "alice", "1001")
    await settle()
    (originate,) = acd.fake.named("Originate")
    acd.fake.emit(Event="OriginateResponse", ActionID=originate["ActionID"], Response="Failure",
                  Reason="3")
    await settle()
    await asyncio.sleep(0.05)
    assert acd.crm.marks == [(7, "in_progress"), (7, "pending")]
    assert acd.router.call("callback-7") is not None  # kept its place in the line
    ready(acd, "bob", "1002")
    await settle()
    await asyncio.sleep(0.05)
    assert acd.crm.marks[-1] == (7, "in_progress") and len(acd.fake.named("Originate")) == 2


async def test_a_callback_another_engine_took_is_skipped(acd):
    acd.crm.rows = [row(7), row(8, phone="+15551230008")]
    acd.crm.conflict = {7}
    assert await acd.poll_due_callbacks() == 1
    assert [c.call_id for c in acd.router.waiting()] == ["callback-8"]


async def test_unknown_queue_goes_to_the_first_and_an_agents_callback_prefers_them(acd, caplog):
    acd.crm.rows = [row(7, queue="nosuch"), row(8, queue="", agent="bob", due_at=950.0)]
    with caplog.at_level(logging.INFO, logger="acd.callback"):
        assert await acd.poll_due_callbacks() == 2
    assert [(c.call_id, c.queue) for c in acd.router.waiting()] == [("callback-7", "support"),
                                                                  ("callback-8", "support")]
    assert "not configured" in caplog.text
    assert acd.router.call("callback-8").last_agent == "bob"
    ready(acd, "alice", "1001")
    ready(acd, "bob", "1002")
    await settle()
    # The older one went to alice (the first free agent); bob got the one promised by him.
    seats = sorted(h["Channel"] for h in acd.fake.named("Originate"))
    assert seats == ["PJSIP/1001", "PJSIP/1002"]
    assert acd.router.agent("bob").call_id == "callback-8"


async def test_a_crm_failure_is_logged_and_retried(acd, caplog):
    acd.crm.fail = RuntimeError("database is down")
    with caplog.at_level(logging.WARNING, logger="acd.callback"):
        assert await acd.poll_due_callbacks() == 0
    assert "database is down" in caplog.text and acd.router.waiting() == []
    acd.crm.fail, acd.crm.rows = None, [row()]
    assert await acd.poll_due_callbacks() == 1


async def test_the_poller_runs_at_start_and_survives_failures(fake_crm):
    fake_crm.fail = RuntimeError("down")
    service = AcdService(FakeAmi(), QUEUES, sessions=object(), endpoints=tracker_with("1001"),
                         tick_interval=3600, publish_period=3600, callback_poll=0.05,
                         clock=lambda: 1000.0)
    await service.start()
    try:
        await asyncio.sleep(0.02)
        assert len(fake_crm.excluded) == 1  # once right after start
        fake_crm.fail, fake_crm.rows = None, [row()]
        await asyncio.sleep(0.2)
        assert service.router.call("callback-7") is not None
    finally:
        await service.stop()


async def admitted(acd, call_id="pbx-1.0"):
    for _ in range(100):  # the CRM is asked in a thread first
        if acd.router.call(call_id) is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{call_id} never admitted")


async def test_a_virtual_hold_of_this_run_is_not_taken_again(acd):
    caller(acd.fake)
    await admitted(acd)
    acd.fake.emit(Event="UserEvent", UserEvent="AcdKey", Channel="PJSIP/carrier-pbx-1.0",
                  Uniqueid="pbx-1.0", Linkedid="pbx-1.0", Key="1")
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert acd.book.get("pbx-1.0").callback_id == 42
    acd.crm.rows = [row(42, phone="+15551230001", due_at=1000.0)]
    assert await acd.poll_due_callbacks() == 0
    assert 42 in acd.crm.excluded[-1] and len(acd.router.waiting()) == 1


async def test_rows_due_while_a_virtual_hold_is_being_saved_wait(acd):
    acd._holding["pbx-9.0"] = 999.5  # a save in flight: its row has no id for us yet
    acd.crm.rows = [row(43, due_at=999.8), row(7, due_at=900.0)]
    assert await acd.poll_due_callbacks() == 1
    assert [c.call_id for c in acd.router.waiting()] == ["callback-7"]


# -- the callback offer ----------------------------------------------------------------------
class FakeAgi:
    def __init__(self, linkedid, keys=None):
        self._linkedid = linkedid
        self.streamed: list[str] = []
        self.keys = keys or {}
        self.commands: list[str] = []

    async def linkedid(self):
        return self._linkedid

    async def set_variable(self, name, value):
        pass

    async def stream_file(self, name, escape=""):
        self.streamed.append(name)
        return self.keys.get(name, "")

    async def command(self, line, **kwargs):
        self.commands.append(line)

        class Result:
            result_int = 0
        return Result()


async def made_offers(service):
    for _ in range(100):
        if service.offer_sounds:
            return
        await asyncio.sleep(0.01)


async def test_the_offer_follows_the_announcement(fake_crm):
    said = []

    def say(text, language):
        said.append((text, language))
        return "/tts/offer-1"
    ami = FakeAmi()
    service = AcdService(ami, QUEUES, endpoints=tracker_with("1001"), tick_interval=3600,
                         publish_period=3600, clock=lambda: 1000.0, say=say)
    service.attach()
    await service.start()
    try:
        await made_offers(service)
        assert said == [(offer_text("1"), "en")] and offer_text("1").endswith("press 1.")
        caller(ami)
        await settle()
        announcer = Announcer(service)
        agi = FakeAgi("pbx-1.0", keys={"/tts/offer-1": "1"})
        await announcer(agi)
        assert agi.streamed[0] == "queue-youarenext" and agi.streamed[-1] == "/tts/offer-1"
        assert announcer.offers == 1 and "SET EXTENSION 1" in agi.commands
        caller(ami, uniqueid="pbx-3.0", caller_id="anonymous")  # nothing to call back
        await settle()
        agi = FakeAgi("pbx-3.0")
        await Announcer(service)(agi)
        assert agi.streamed and "/tts/offer-1" not in agi.streamed
    finally:
        await service.stop()


async def test_no_offer_when_synthesis_fails(fake_crm, caplog):
    def say(text, language):
        raise OSError("espeak-ng not found")
    ami = FakeAmi()
    service = AcdService(ami, QUEUES, endpoints=tracker_with("1001"), tick_interval=3600,
                         publish_period=3600, clock=lambda: 1000.0, say=say)
    service.attach()
    with caplog.at_level(logging.ERROR, logger="acd.asterisk"):
        await service.start()
        try:
            await made_offers(service)
            caller(ami)
            await settle()
            agi = FakeAgi("pbx-1.0")
            await Announcer(service)(agi)
            assert agi.streamed[-1] == "queue-thankyou"  # the announcement, no offer
        finally:
            await service.stop()
    assert caplog.text.count("no callback offer prompt") == 1
