"""The ticket pages: the list with its filters and pages, one ticket with its
linked calls, edits under the version read, and errors that change nothing."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import select

from crm_core import audit, tickets
from crm_core.models import Interaction, Ticket

from .crm_pages_support import agent, crm  # noqa: F401 (fixtures)


def a_ticket(crm, subject: str = "Printer jams", **fields) -> tuple[int, int]:
    customer_id = crm.customer("Ada")
    with crm.sessions.begin() as s:
        return customer_id, tickets.create_ticket(s, customer_id, subject, **fields).id


def edit(crm, ticket_id: int, **changes):
    with crm.sessions() as s:
        t = tickets.get_ticket(s, ticket_id)
        form = {"subject": t.subject, "status": t.status, "priority": t.priority,
                "category": t.category, "description": t.description,
                "assignee_id": str(t.assignee_id or ""), "version": str(t.version)}
    return crm.post(f"/crm/tickets/{ticket_id}", {**form, **changes})


def subjects(body: str) -> list[str]:
    return re.findall(r'href="/crm/tickets/\d+">([^<]+)</a>', body)


def test_the_list_filters_by_status_and_mine(agent):
    customer_id = agent.customer("Ada")
    mine = agent.user_ids["agent1"]
    with agent.sessions.begin() as s:
        tickets.create_ticket(s, customer_id, "new and mine", assignee_id=mine)
        tickets.create_ticket(s, customer_id, "new, someone else's",
                              assignee_id=agent.user_ids["agent2"])
        done = tickets.create_ticket(s, customer_id, "closed and mine", assignee_id=mine)
        tickets.update_ticket(s, done.id, {"status": "closed"}, expected_version=1)
    assert subjects(agent.page("/crm/tickets")) == \
        ["closed and mine", "new, someone else&#39;s", "new and mine"]
    assert subjects(agent.page("/crm/tickets?assignee=mine")) == ["closed and mine", "new and mine"]
    assert subjects(agent.page("/crm/tickets?status=new&assignee=mine")) == ["new and mine"]
    body = agent.page("/crm/tickets?status=new")
    assert '<option value="new" selected>' in body and "Bo Owner" in body and "Ada" in body
    assert "one of new" in agent.page("/crm/tickets?status=<b>", 422)
    assert "mine, or anyone" in agent.page("/crm/tickets?assignee=everyone", 422)


def test_the_list_pages(agent):
    customer_id = agent.customer("Ada")
    with agent.sessions.begin() as s:
        for n in range(55):
            tickets.create_ticket(s, customer_id, f"ticket {n:02}")
    first = agent.page("/crm/tickets?status=new")
    assert len(subjects(first)) == 50 and subjects(first)[0] == "ticket 54"
    assert 'href="/crm/tickets?page=2&amp;status=new"' in first
    second = agent.page("/crm/tickets?status=new&page=2")
    assert subjects(second) == [f"ticket {n:02}" for n in range(4, -1, -1)]
    assert 'rel="next"' not in second
    assert agent.get("/crm/tickets?page=0").status_code == 422


def test_a_ticket_with_its_linked_calls(agent):
    customer_id, ticket_id = a_ticket(agent, category="billing", description="twice charged")
    with agent.sessions.begin() as s:
        call = Interaction(direction="inbound", customer_id=customer_id, status="completed",
                           linkedid="5.5", caller_number="+14155550001", notes="angry caller",
                           started_at=datetime(2025, 3, 1, 9, tzinfo=timezone.utc),
                           agent_id=agent.user_ids["agent2"])
        s.add(call)
        s.flush()
        tickets.link_interaction(s, ticket_id, call.id)
    body = agent.page(f"/crm/tickets/{ticket_id}")
    for text in ("Printer jams", "billing", "twice charged", "angry caller", "+14155550001",
                 "2025-03-01 09:00 UTC", "Bo Owner", f'href="/crm/customers/{customer_id}">Ada'):
        assert text in body, text
    # The status offers only the moves the workflow allows from "new".
    assert re.findall(r'<option value="(\w+)"[^>]*>\w+</option>',
                      body.split('name="status"')[1].split("</select>")[0]) == \
        ["new", "open", "pending", "resolved", "closed"]


def test_an_edit_is_saved_and_audited(agent):
    _, ticket_id = a_ticket(agent)
    reply = edit(agent, ticket_id, status="open", priority="urgent", category="hardware",
                 assignee_id=str(agent.user_ids["agent2"]), description="paper tray")
    assert reply.status_code == 303 and reply.headers["Location"] == f"/crm/tickets/{ticket_id}"
    with agent.sessions() as s:
        t = tickets.get_ticket(s, ticket_id)
        assert (t.status, t.priority, t.category, t.assignee_id, t.description, t.version) == \
            ("open", "urgent", "hardware", agent.user_ids["agent2"], "paper tray", 2)
        entry = audit.history(s, "ticket", ticket_id)[-1]
        assert entry.user_id == agent.user_ids["agent1"] and entry.action == "update"
    assert edit(agent, ticket_id, assignee_id="").status_code == 303
    with agent.sessions() as s:
        assert tickets.get_ticket(s, ticket_id).assignee_id is None


def test_a_stale_version_is_refused(agent):
    _, ticket_id = a_ticket(agent)
    with agent.sessions.begin() as s:  # someone else saves first
        tickets.update_ticket(s, ticket_id, {"priority": "high"}, expected_version=1)
    before = agent.counts()
    reply = edit(agent, ticket_id, version="1", priority="low", category="mine <b>typed</b>")
    body = reply.get_data(as_text=True)
    assert reply.status_code == 409 and "Someone else changed this ticket" in body
    assert "Your values (not saved)" in body and "mine &lt;b&gt;typed&lt;/b&gt;" in body
    assert 'name="version" value="2"' in body  # the form now holds the ticket as it is
    with agent.sessions() as s:
        t = tickets.get_ticket(s, ticket_id)
        assert (t.priority, t.category, t.version) == ("high", "", 2)
    assert agent.counts() == before


def test_bad_edits_are_refused_with_what_was_typed(agent):
    _, ticket_id = a_ticket(agent)
    with agent.sessions.begin() as s:
        tickets.update_ticket(s, ticket_id, {"status": "closed"}, expected_version=1)
    before = agent.counts()
    for changes, says in (({"subject": " "}, "is required"),
                          ({"status": "pending"}, "a closed ticket cannot become pending"),
                          ({"priority": "asap"}, "must be one of low"),
                          ({"assignee_id": "me"}, "pick someone from the list"),
                          ({"assignee_id": "99999"}, "no such user"),
                          ({"version": ""}, "missing the ticket&#39;s version"),
                          ({"version": "x"}, "missing the ticket&#39;s version")):
        reply = edit(agent, ticket_id, description="kept text", **changes)
        body = reply.get_data(as_text=True)
        assert reply.status_code == 422 and says in body, changes
        assert ">kept text</textarea>" in body
    assert agent.counts() == before
    with agent.sessions() as s:
        assert s.scalar(select(Ticket.version)) == 2
