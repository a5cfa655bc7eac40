"""The customer card page: its data, company and contacts, phones with the DNC
flag, open tickets, pending callbacks, the whole timeline a page at a time,
notes, and a ticket opened from it."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from crm_core import audit, interactions, tickets
from crm_core.models import Callback, DoNotCall, Interaction, InteractionSegment, Ticket

from .crm_pages_support import T0, agent, crm  # noqa: F401 (fixtures)


def a_rich_customer(crm) -> tuple[int, int]:
    """Ada, a VIP contact of Acme: two numbers (one on the DNC list), tickets, callbacks."""
    acme = crm.customer("Acme Ltd", kind="company", phones=["+1 415 555 0100"])
    ada = crm.customer("Ada Lovelace", company_id=acme, code="C-1001", level="vip",
                       segment="retail", language="zh", timezone="Asia/Shanghai",
                       address="1 Main St", postcode="94105", city="San Francisco",
                       country="US", owner_id=crm.user_ids["agent2"], tags=["gold", "press"],
                       custom_fields={"favourite": "spicy"},
                       phones=[{"number": "+1 415 555 0001", "label": "mobile"},
                               {"number": "+1 415 555 0003", "label": "home"}],
                       emails=["ada@example.com"])
    with crm.sessions.begin() as s:
        s.add(DoNotCall(e164="+14155550003"))
        tickets.create_ticket(s, ada, "Printer jams", priority="high",
                              assignee_id=crm.user_ids["agent2"])
        done = tickets.create_ticket(s, ada, "Old closed one")
        tickets.update_ticket(s, done.id, {"status": "closed"}, expected_version=1)
        s.add(Callback(customer_id=ada, phone_e164="+14155550001", state="pending",
                       due_at=T0 + timedelta(days=400), timezone="Asia/Shanghai",
                       agent_id=crm.user_ids["agent1"], note="wants the invoice"))
        s.add(Callback(customer_id=ada, phone_e164="+14155550001", state="done",
                       due_at=T0, note="already called"))
    return ada, acme


def test_the_card_shows_the_customer(agent):
    ada, acme = a_rich_customer(agent)
    body = agent.page(f"/crm/customers/{ada}")
    for text in ("Ada Lovelace", "C-1001", "retail", "Asia/Shanghai", "1 Main St", "94105",
                 "San Francisco", "Bo Owner", "gold", "press", "favourite", "spicy",
                 "ada@example.com", "+14155550001", "mobile"):
        assert text in body, text
    assert '<span class="badge level vip">vip</span>' in body
    assert f'href="/crm/customers/{acme}">Acme Ltd</a>' in body
    company = agent.page(f"/crm/customers/{acme}")
    assert f'href="/crm/customers/{ada}">Ada Lovelace</a>' in company
    assert "badge level vip" not in company


def test_open_tickets_callbacks_and_the_dnc_flag(agent):
    ada, _ = a_rich_customer(agent)
    body = agent.page(f"/crm/customers/{ada}")
    assert "Printer jams" in body and "Old closed one" not in body
    assert "wants the invoice" in body and "already called" not in body
    assert "2026-04-05 17:00 CST" in body  # the callback in the customer's own time zone
    dial_buttons = re.findall(r'name="phone" value="([^"]+)"', body)
    assert dial_buttons == ["+14155550001"]  # the DNC number has no dial button
    assert "do not call" in body


def test_the_whole_timeline_a_page_at_a_time(agent):
    ada = agent.customer("Ada")
    agent.add_calls(ada, 60)
    first = agent.page(f"/crm/customers/{ada}")
    assert "(60, newest first)" in first and "Page 1 of 3" in first
    assert first.count("2025-03-01 09:") + first.count("2025-03-01 10:") == 25
    assert "2025-03-01 09:59 UTC" in first and "2025-03-01 09:35 UTC" in first
    assert "2025-03-01 09:34 UTC" not in first
    last = agent.page(f"/crm/customers/{ada}?page=3")
    assert "2025-03-01 09:00 UTC" in last and "2025-03-01 09:09 UTC" in last
    assert "2025-03-01 09:10 UTC" not in last and 'rel="next"' not in last
    assert "No interactions on page 4" in agent.page(f"/crm/customers/{ada}?page=4")
    assert agent.get(f"/crm/customers/{ada}?page=zero").status_code == 422


def test_the_timeline_shows_who_what_and_the_path(agent):
    ada = agent.customer("Ada")
    with agent.sessions.begin() as s:
        call = Interaction(direction="outbound", customer_id=ada, status="completed",
                           linkedid="9.1", caller_number="+14155550001",
                           dialled_number="+14155550002", started_at=T0,
                           agent_id=agent.user_ids["agent2"], notes="promised a refund")
        s.add(call)
        s.flush()
        for n, kind in enumerate(("ivr", "queue", "agent")):
            s.add(InteractionSegment(interaction_id=call.id, kind=kind,
                                     started_at=T0 + timedelta(seconds=n)))
    body = agent.page(f"/crm/customers/{ada}")
    for text in ("outbound", "+14155550002", "Bo Owner", "promised a refund",
                 "ivr → queue → agent", "completed"):
        assert text in body, text


def test_a_note_goes_on_the_timeline(agent):
    ada = agent.customer("Ada")
    reply = agent.post(f"/crm/customers/{ada}/notes",
                       {"text": "Asked about\nthe bill", "subject": "Billing", "channel": "visit"})
    assert reply.status_code == 303
    assert reply.headers["Location"] == f"/crm/customers/{ada}#timeline"
    body = agent.page(f"/crm/customers/{ada}")
    assert "Asked about\nthe bill" in body and "Billing" in body and "visit" in body
    with agent.sessions() as s:
        note = s.scalar(select(Interaction).where(Interaction.customer_id == ada))
        assert note.agent_id == agent.user_ids["agent1"] and note.channel == "visit"
        assert audit.history(s, "interaction", note.id)[0].user_id == agent.user_ids["agent1"]


def test_a_bad_note_is_refused_with_what_was_typed(agent):
    ada = agent.customer("Ada")
    before = agent.counts()
    reply = agent.post(f"/crm/customers/{ada}/notes", {"text": "   ", "subject": "Kept subject"})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 422 and "is required" in body and 'value="Kept subject"' in body
    reply = agent.post(f"/crm/customers/{ada}/notes", {"text": "typed <b>text</b>",
                                                      "channel": "call"})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 422 and "one of voicemail" in body
    assert "typed &lt;b&gt;text&lt;/b&gt;</textarea>" in body
    assert agent.counts() == before


def test_a_ticket_opened_from_the_card(agent):
    ada = agent.customer("Ada")
    reply = agent.post(f"/crm/customers/{ada}/tickets", {
        "subject": "Refund", "priority": "urgent", "category": "billing",
        "assignee_id": str(agent.user_ids["agent2"]), "description": "twice charged"})
    assert reply.status_code == 303
    with agent.sessions() as s:
        ticket = s.scalar(select(Ticket))
        assert (ticket.customer_id, ticket.subject, ticket.priority, ticket.category,
                ticket.assignee_id, ticket.description) == \
            (ada, "Refund", "urgent", "billing", agent.user_ids["agent2"], "twice charged")
    assert reply.headers["Location"] == f"/crm/tickets/{ticket.id}"
    assert "Refund" in agent.page(f"/crm/customers/{ada}")


def test_a_bad_ticket_is_refused_with_what_was_typed(agent):
    ada = agent.customer("Ada")
    before = agent.counts()
    reply = agent.post(f"/crm/customers/{ada}/tickets", {
        "subject": "", "priority": "whenever", "category": "billing", "description": "typed"})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert "is required" in body and "must be one of low" in body
    assert 'value="billing"' in body and ">typed</textarea>" in body
    reply = agent.post(f"/crm/customers/{ada}/tickets", {"subject": "x", "priority": "low",
                                                        "assignee_id": "someone"})
    assert reply.status_code == 422 and "pick someone" in reply.get_data(as_text=True)
    reply = agent.post(f"/crm/customers/{ada}/tickets", {"subject": "x", "priority": "low",
                                                        "assignee_id": "424242"})
    assert reply.status_code == 422 and "no such user" in reply.get_data(as_text=True)
    assert agent.counts() == before


def test_only_active_users_can_be_picked(agent):
    ada = agent.customer("Ada")
    body = agent.page(f"/crm/customers/{ada}")
    assert "Bo Owner" in body and "Gone Agent" not in body


def test_a_linked_call_lands_on_the_card(agent):
    # The card reads the same timeline the call history writes: a call the engine
    # saved for this number, linked by an agent, is on the card.
    ada = agent.customer("Ada", phones=["+1 415 555 0001"])
    with agent.sessions.begin() as s:
        interactions.save_call(s, interactions.CallFacts(
            linkedid="77.1", direction="inbound", started_at=T0, caller_number="+14155550001"))
        call = interactions.by_linkedid(s, "77.1")
        interactions.link_customer(s, call.id, ada)
    assert "in progress" in agent.page(f"/crm/customers/{ada}")
