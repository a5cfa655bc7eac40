"""The feeds from the engine's bus to the browsers, on a real bus and a real
CRM: screen pops with the right customer (one match, several, none), the IVR
path, the latest phase whatever finished first, agents' states, and a
wallboard refreshed by changes (the real ACD router and statistics)."""
import asyncio
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
import pytest_asyncio

from acd.model import QueueConfig
from acd.router import Router
from acd.stats import AcdStats
from agent_console.feeds import Feeds
from agent_console.push import Hub
from crm_core import customers, interactions, tickets
from cti.bus import InProcessBus

pytestmark = pytest.mark.asyncio


def seed(sessions) -> dict:
    with sessions.begin() as s:
        ada = customers.create_customer(s, {"name": "Ada Lovelace", "level": "vip",
                                            "phones": ["+15551230001"]}).customer
        tickets.create_ticket(s, ada.id, "Broken engine")
        office = [customers.create_customer(s, {"name": name, "phones": ["+442079460958"]},
                                            allow_duplicate=True).customer.id
                  for name in ("Alan Turing", "Joan Clarke")]
        for linkedid, caller in (("1.1", "+15551230001"), ("2.2", "+442079460958"),
                                 ("3.3", "+4930123456")):
            interactions.save_call(s, interactions.CallFacts(
                linkedid=linkedid, direction="inbound", started_at=datetime.now(timezone.utc),
                caller_number=caller))
        return {"ada": ada.id, "office": office}


@pytest_asyncio.fixture
async def wired(sessions):
    ids = seed(sessions)
    bus, hub = InProcessBus(), Hub()
    router = Router([QueueConfig("sales")])
    acd = SimpleNamespace(router=router, stats=AcdStats(router.queues), clock=lambda: 1000.0)
    feeds = Feeds(hub, sessions, acd=acd, board_gap=0.05)
    feeds.attach(bus)
    yield SimpleNamespace(bus=bus, hub=hub, feeds=feeds, ids=ids, sessions=sessions)
    feeds.close()


async def pop_of(hub, agent, linkedid, timeout=5.0, **fields):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        pop = hub.pop_of(agent)
        if pop and pop["linkedid"] == linkedid and all(pop.get(k) == v for k, v in fields.items()):
            return pop
        await asyncio.sleep(0.01)
    raise AssertionError(f"no pop {linkedid} {fields} for {agent}: {hub.pop_of(agent)}")


def offer(bus, agent, linkedid, caller, customer_id=None, queue="sales"):
    bus.publish_nowait("acd.offer", {"agent": agent, "seat": "1001", "linkedid": linkedid,
                                     "caller": caller, "customer_id": customer_id,
                                     "queue": queue, "callback": None, "why": "test"})


async def test_one_match_pops_the_customers_card_with_the_ivr_path(wired):
    wired.bus.publish_nowait("ivr.queue", {"linkedid": "1.1", "ivr": {
        "flow": "main", "path": [{"node": "identify"}, {"node": "vip_queue"}], "keys": "1",
        "account": None, "language": "en", "outcome": "queue", "words": []}})
    wired.bus.publish_nowait("acd.call", {"linkedid": "1.1", "event": "queued",
                                          "caller": "+15551230001", "queue": "sales"})
    offer(wired.bus, "ann", "1.1", "+15551230001")
    pop = await pop_of(wired.hub, "ann", "1.1")
    assert pop["customer_id"] == wired.ids["ada"] and pop["phase"] == "ringing"
    assert pop["card"]["customer"]["name"] == "Ada Lovelace"
    assert [t["subject"] for t in pop["card"]["open_tickets"]] == ["Broken engine"]
    assert pop["ivr"]["path"] == ["identify", "vip_queue"] and pop["ivr"]["keys"] == "1"
    assert pop["queued_at"] is not None and pop["interaction_id"] is not None


async def test_a_shared_number_offers_a_pick_and_an_unknown_caller_none(wired):
    offer(wired.bus, "ann", "2.2", "+442079460958")
    offer(wired.bus, "bob", "3.3", "+4930123456")
    shared = await pop_of(wired.hub, "ann", "2.2")
    assert shared["card"] is None and shared["customer_id"] is None
    assert sorted(m["id"] for m in shared["matches"]) == sorted(wired.ids["office"])
    unknown = await pop_of(wired.hub, "bob", "3.3")
    assert unknown["matches"] == [] and unknown["card"] is None


async def test_the_ivrs_customer_wins_over_a_shared_number(wired):
    offer(wired.bus, "ann", "2.2", "+442079460958", customer_id=wired.ids["office"][1])
    pop = await pop_of(wired.hub, "ann", "2.2")
    assert pop["card"]["customer"]["name"] == "Joan Clarke"


async def test_an_answer_before_the_pop_is_built_is_not_lost(wired):
    offer(wired.bus, "ann", "1.1", "+15551230001")
    wired.bus.publish_nowait("acd.call", {"linkedid": "1.1", "event": "answered",
                                          "agent": "ann", "waited": 3.5})
    pop = await pop_of(wired.hub, "ann", "1.1", phase="talking")
    assert pop["waited"] == 3.5 and pop["answered_at"] is not None
    for event, phase in (("held", "on_hold"), ("resumed", "talking"), ("ended", "ended")):
        wired.bus.publish_nowait("acd.call", {"linkedid": "1.1", "event": event, "agent": "ann"})
        await pop_of(wired.hub, "ann", "1.1", phase=phase)


async def test_a_newer_offer_replaces_the_older_pop(wired):
    offer(wired.bus, "ann", "2.2", "+442079460958")
    offer(wired.bus, "ann", "1.1", "+15551230001")
    await pop_of(wired.hub, "ann", "1.1")
    await asyncio.sleep(0.2)
    assert wired.hub.pop_of("ann")["linkedid"] == "1.1"


async def test_agents_state_and_logout_clears_the_pop(wired):
    offer(wired.bus, "ann", "1.1", "+15551230001")
    await pop_of(wired.hub, "ann", "1.1")
    wired.bus.publish_nowait("acd.agent", {"agent": "ann", "state": "ready", "since": 1.0})
    assert wired.hub.agent_of("ann")["state"] == "ready"
    wired.bus.publish_nowait("acd.agent", {"agent": "ann", "state": "logged_out", "since": 2.0})
    assert wired.hub.agent_of("ann") is None and wired.hub.pop_of("ann") is None


async def test_changes_refresh_the_wallboard_soon(wired):
    wired.bus.publish_nowait("acd.agent", {"agent": "ann", "state": "ready", "since": 1.0})
    for _ in range(100):
        if wired.hub._board is not None:
            break
        await asyncio.sleep(0.01)
    board = wired.hub._board
    assert board is not None and [q["queue"] for q in board["queues"]] == ["sales"]


async def test_linking_a_customer_refreshes_the_pop(wired):
    offer(wired.bus, "ann", "3.3", "+4930123456")
    await pop_of(wired.hub, "ann", "3.3")
    await asyncio.to_thread(wired.feeds.customer_linked, "3.3", wired.ids["ada"])
    pop = wired.hub.pop_of("ann")
    assert pop["customer_id"] == wired.ids["ada"] and pop["card"]["customer"]["level"] == "vip"


async def test_a_crm_failure_still_pops_the_bare_call(wired, monkeypatch):
    from agent_console import pops

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")
    monkeypatch.setattr(pops, "build", broken)
    offer(wired.bus, "ann", "1.1", "+15551230001")
    pop = await pop_of(wired.hub, "ann", "1.1")
    assert pop["card"] is None and pop["error"] and pop["caller"] == "+15551230001"
    assert wired.feeds.pop_failures == 1


async def test_recording_state_reaches_the_pop_and_alerts_the_supervisors(wired):
    offer(wired.bus, "ann", "1.1", "+15551230001")
    wired.bus.publish_nowait("recording.state", {"agent": "ann", "linkedid": "1.1",
                                                 "recording": True, "paused": True,
                                                 "mode": "all"})
    await pop_of(wired.hub, "ann", "1.1")
    for _ in range(100):
        if (wired.hub.pop_of("ann") or {}).get("recording"):
            break
        await asyncio.sleep(0.01)
    assert wired.hub.pop_of("ann")["recording"] == {"recording": True, "paused": True,
                                                     "mode": "all"}
    wired.bus.publish_nowait("recording.alert", {"level": "error", "message": "disk full"})
    assert [n["message"] for n in wired.hub._notices] == ["disk full"]
