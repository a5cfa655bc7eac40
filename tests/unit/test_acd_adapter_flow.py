"""The ACD adapter fed Asterisk's events by hand (no sockets): what it asks
Asterisk to do, and that bad or unexpected events change nothing and crash
nothing. The real thing runs in tests/lab/test_acd_*.py."""
from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from acd.asterisk import AcdService
from acd.model import QueueConfig
from cti.ami_errors import AmiActionError, AmiNotConnected
from cti.endpoints import EndpointTracker
from cti.events import parse_event

pytestmark = pytest.mark.asyncio

QUEUES = {"support": QueueConfig("support", skills=("support",), ring_timeout=7, wrap_up=0,
                                 callback_key="1", moh="calm")}


class FakeAmi:
    def __init__(self):
        self.handlers: dict[str, list] = {}
        self.actions: list[tuple[str, dict]] = []
        self.fail: dict[str, Exception] = {}

    def on(self, name, handler):
        self.handlers.setdefault(name.lower(), []).append(handler)

        class Sub:
            def cancel(self):
                pass
        return Sub()

    async def action(self, name, **headers):
        self.actions.append((name, headers))
        if name in self.fail:
            raise self.fail[name]
        return {"Response": "Success", "ActionID": headers.get("ActionID", "")}

    async def action_list(self, name, **headers):
        return []

    def emit(self, **headers):
        event = parse_event(headers)
        for handler in self.handlers.get(event.name.lower(), []):
            handler(event)

    def named(self, name):
        return [h for n, h in self.actions if n == name]


def tracker_with(*seats):
    tracker = EndpointTracker()
    tracker.resync([parse_event({"Event": "EndpointList", "ObjectName": seat, "Aor": seat,
                                 "Contacts": f"{seat}/sip:{seat}@127.0.0.1:5060,"})
                    for seat in seats])
    return tracker


class Bus:
    def __init__(self):
        self.seen = []

    def publish_nowait(self, topic, payload):
        self.seen.append((topic, payload))

    def calls(self, event):
        return [p for t, p in self.seen if t == "acd.call" and p["event"] == event]


@pytest_asyncio.fixture
async def acd():
    ami, bus = FakeAmi(), Bus()
    service = AcdService(ami, QUEUES, endpoints=tracker_with("1001", "1002"), bus=bus,
                         tick_interval=3600, publish_period=3600, clock=lambda: 1000.0)
    service.attach()
    await service.start()
    service.fake, service.bus_seen = ami, bus
    yield service
    await service.stop()


def caller(ami, uniqueid="pbx-1.0", caller_id="+15551230001", **body):
    headers = {"Event": "UserEvent", "UserEvent": "AcdEnqueue", "Channel": f"PJSIP/carrier-{uniqueid}",
               "Uniqueid": uniqueid, "Linkedid": uniqueid, "CallerIDNum": caller_id,
               "Timestamp": "990.0", "Queue": "support", "Skills": "support", "CallPriority": "0",
               "Customer": "0"}
    headers.update(body)
    ami.emit(**headers)


def agent(acd, name, seat, level=5):
    acd.router.login(name, seat, {"support": level}, 995.0, user_id=7)
    acd.router.ready(name, 995.0)


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_decision_sets_the_seat_and_redirects_the_caller(acd):
    agent(acd, "alice", "1001")
    caller(acd.fake)
    await settle()
    setvars = {h["Variable"]: h["Value"] for h in acd.fake.named("Setvar") if "Channel" in h}
    assert setvars == {"CC_SEAT": "1001", "CC_RING_TIMEOUT": 7, "CC_MOH": "calm"}
    (redirect,) = acd.fake.named("Redirect")
    assert redirect == {"Channel": "PJSIP/carrier-pbx-1.0", "Context": "acd-connect", "Exten": "s",
                        "Priority": "1"}
    (offer,) = [p for t, p in acd.bus_seen.seen if t == "acd.offer"]
    assert (offer["agent"], offer["seat"], offer["linkedid"], offer["caller"]) == \
        ("alice", "1001", "pbx-1.0", "+15551230001")


def dial(ami, event, status=None, uniqueid="pbx-1.0", dest="pbx-1.1", ts="1001.0"):
    headers = {"Event": event, "Channel": f"PJSIP/carrier-{uniqueid}", "Uniqueid": uniqueid,
               "Linkedid": uniqueid, "Context": "acd-connect", "DestChannel": "PJSIP/1001-1",
               "DestUniqueid": dest, "Timestamp": ts}
    if status:
        headers["DialStatus"] = status
    ami.emit(**headers)


async def test_no_answer_puts_the_agent_not_ready_and_offers_the_next(acd):
    agent(acd, "alice", "1001", level=9)
    agent(acd, "bob", "1002", level=3)
    caller(acd.fake)
    await settle()
    dial(acd.fake, "DialBegin")
    dial(acd.fake, "DialEnd", "NOANSWER")
    await settle()
    alice = acd.router.agent("alice")
    assert (alice.state.value, alice.reason) == ("not_ready", "ring-no-answer")
    seats = [h["Value"] for h in acd.fake.named("Setvar") if h.get("Variable") == "CC_SEAT"]
    assert seats == ["1001", "1002"]
    dial(acd.fake, "DialBegin", dest="pbx-1.2")
    dial(acd.fake, "DialEnd", "ANSWER", dest="pbx-1.2", ts="1003.5")
    (answered,) = acd.bus_seen.calls("answered")
    assert (answered["agent"], answered["waited"]) == ("bob", 13.5)
    assert acd.router.agent("bob").state.value == "on_call"
    acd.fake.emit(Event="Hangup", Channel="PJSIP/1002-2", Uniqueid="pbx-1.2", Linkedid="pbx-1.0",
                  Timestamp="1010.0")
    assert acd.router.agent("bob").state.value == "ready"  # wrap_up 0
    assert acd.stats.kpis("support")["handled"] == 1


async def test_a_caller_hanging_up_while_waiting_is_an_abandon(acd):
    caller(acd.fake)
    await settle()
    acd.fake.emit(Event="Hangup", Channel="PJSIP/carrier-pbx-1.0", Uniqueid="pbx-1.0",
                  Linkedid="pbx-1.0", Timestamp="1004.0")
    (abandoned,) = acd.bus_seen.calls("abandoned")
    assert abandoned["waited"] == 14.0
    assert acd.router.waiting() == [] and acd.stats.kpis("support")["abandoned"] == 1


async def test_a_caller_gone_before_the_redirect_is_an_abandon(acd):
    acd.fake.fail["Redirect"] = AmiActionError("Redirect", {"Message": "Channel does not exist"})
    agent(acd, "alice", "1001")
    caller(acd.fake)
    await settle()
    assert acd.router.waiting() == [] and acd.router.agent("alice").state.value == "ready"
    assert len(acd.bus_seen.calls("abandoned")) == 1


async def test_without_an_ami_link_the_agent_is_released_and_the_call_kept(acd):
    acd.fake.fail["Setvar"] = AmiNotConnected("down")
    agent(acd, "alice", "1001")
    caller(acd.fake)
    await settle()
    assert acd.router.agent("alice").state.value == "ready"
    assert acd.book.get("pbx-1.0").phase == "detached"  # the resync routes it again


async def test_bad_events_change_nothing(acd):
    agent(acd, "alice", "1001")
    ami = acd.fake
    ami.emit(Event="UserEvent", UserEvent="AcdEnqueue", Queue="support")  # no channel
    ami.emit(Event="UserEvent", UserEvent="AcdKey", Channel="PJSIP/x-1", Uniqueid="u9", Key="12")
    ami.emit(Event="DialEnd", Uniqueid="nobody", DestUniqueid="x", DialStatus="ANSWER")
    ami.emit(Event="Hangup", Uniqueid="nobody", Cause="banana")
    ami.emit(Event="OriginateResponse", ActionID="acd-cb-99", Response="Success")
    ami.emit(Event="ContactStatus", URI="sip:x", ContactStatus="Removed", AOR="9999")
    await settle()
    assert acd.problems == 2 and acd.fake.actions == []
    assert acd.router.agent("alice").state.value == "ready"


async def test_an_unregistered_seat_makes_its_agent_not_ready(acd):
    agent(acd, "alice", "1001")
    acd.endpoints.apply(parse_event({"Event": "ContactStatus", "URI": "sip:1001@127.0.0.1:5060",
                                     "ContactStatus": "Removed", "AOR": "1001",
                                     "EndpointName": "1001"}))
    acd.fake.emit(Event="ContactStatus", URI="sip:1001@127.0.0.1:5060", ContactStatus="Removed",
                  AOR="1001", EndpointName="1001")
    alice = acd.router.agent("alice")
    assert (alice.state.value, alice.reason) == ("not_ready", "phone-unregistered")


async def test_virtual_hold_then_the_callback(acd):
    caller(acd.fake)
    await settle()
    acd.fake.emit(Event="UserEvent", UserEvent="AcdKey", Channel="PJSIP/carrier-pbx-1.0",
                  Uniqueid="pbx-1.0", Linkedid="pbx-1.0", Key="1")
    await settle()
    assert [h["Context"] for h in acd.fake.named("Redirect")] == ["acd-callback-ack"]
    acd.fake.emit(Event="Hangup", Uniqueid="pbx-1.0", Linkedid="pbx-1.0", Timestamp="1002.0")
    assert acd.bus_seen.calls("abandoned") == []  # the caller's hang-up keeps the callback
    agent(acd, "alice", "1001")
    await settle()
    (originate,) = acd.fake.named("Originate")
    assert (originate["Channel"], originate["Context"], originate["CallerID"]) == \
        ("PJSIP/1001", "acd-callback-dial", '"Callback" <+15551230001>')
    assert "CC_CALLBACK=+15551230001" in originate["Variable"]
    acd.fake.emit(Event="OriginateResponse", ActionID=originate["ActionID"], Response="Success",
                  Uniqueid="pbx-2.0", Timestamp="1005.0")
    assert acd.router.agent("alice").state.value == "on_call"
    acd.fake.emit(Event="DialEnd", Channel="PJSIP/1001-1", Uniqueid="pbx-2.0", Linkedid="pbx-2.0",
                  DestUniqueid="pbx-2.1", DialStatus="ANSWER")
    acd.fake.emit(Event="Hangup", Uniqueid="pbx-2.0", Linkedid="pbx-2.0", Timestamp="1030.0")
    (ended,) = acd.bus_seen.calls("ended")
    assert (ended["callback"], ended["talk"]) == ("+15551230001", 25.0)
    assert acd.router.agent("alice").state.value == "ready"


async def test_hold_and_unhold_on_the_agent_leg(acd):
    agent(acd, "alice", "1001")
    caller(acd.fake)
    await settle()
    dial(acd.fake, "DialBegin")
    dial(acd.fake, "DialEnd", "ANSWER")
    acd.fake.emit(Event="Hold", Channel="PJSIP/1001-1", Uniqueid="pbx-1.1", Linkedid="pbx-1.0")
    assert acd.router.agent("alice").state.value == "on_hold"
    acd.fake.emit(Event="Hold", Channel="PJSIP/carrier-1", Uniqueid="pbx-1.0", Linkedid="pbx-1.0")
    acd.fake.emit(Event="Unhold", Channel="PJSIP/1001-1", Uniqueid="pbx-1.1", Linkedid="pbx-1.0")
    assert acd.router.agent("alice").state.value == "on_call"


async def test_resync_abandons_vanished_callers_and_adopts_unknown_ones(acd):
    caller(acd.fake)  # known, but its channel is gone from Asterisk's list below
    await settle()
    listing = [parse_event({"Event": "CoreShowChannel", "Channel": "PJSIP/carrier-7",
                            "Uniqueid": "pbx-7.0", "Linkedid": "pbx-7.0", "Context": "acd-wait",
                            "CallerIDNum": "+15551230007", "Duration": "00:00:42"}),
               parse_event({"Event": "CoreShowChannel", "Channel": "PJSIP/1002-3",
                            "Uniqueid": "pbx-8.1", "Linkedid": "pbx-8.0", "Context": "from-phones"})]
    values = {"CC_QUEUE": "support", "CC_SKILLS": "support", "CC_PRIORITY": "3", "CC_CUSTOMER": ""}

    async def action(name, **headers):
        acd.fake.actions.append((name, headers))
        return {"Response": "Success", "Value": values.get(headers.get("Variable"), "")}
    acd.fake.action = action
    await acd.resync(listing)
    await settle()
    assert len(acd.bus_seen.calls("abandoned")) == 1
    (adopted,) = acd.router.waiting()
    assert (adopted.call_id, adopted.priority, adopted.arrived_at) == ("pbx-7.0", 3, 958.0)
    assert [h["Variable"] for h in acd.fake.named("Getvar")] == list(values)
    assert ("Setvar", {"Variable": "ACD_ONLINE", "Value": "1"}) in acd.fake.actions
