"""Tickets over HTTP: open, list, read, edit with versions, link, escalate."""
from datetime import datetime, timedelta, timezone

import pytest

from .test_api_support import api_template, world  # noqa: F401 (fixtures)


@pytest.fixture
def customer(world):
    return world.new_customer("Ada")


def open_ticket(world, customer, **fields):
    reply = world.post("/tickets", json={"customer_id": customer["id"], "subject": "Broken",
                                         **fields})
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def test_open_a_ticket(world, customer):
    reply = world.post("/tickets", json={"customer_id": customer["id"], "subject": "无法登录",
                                         "priority": "high", "description": "line 1\nline 2",
                                         "assignee_id": world.user_ids["agent"]})
    assert reply.status_code == 201
    ticket = reply.get_json()
    assert ticket["subject"] == "无法登录" and ticket["status"] == "new"
    assert ticket["sla_due_at"] and ticket["version"] == 1
    assert reply.headers["Location"].endswith(f"/tickets/{ticket['id']}")
    assert world.get(f"/tickets/{ticket['id']}").get_json() == ticket


@pytest.mark.parametrize("fields,field", [
    ({"subject": ""}, "subject"),
    ({"subject": "x" * 201}, "subject"),
    ({"priority": "whenever"}, "priority"),
    ({"sla_due_at": "tomorrow"}, "sla_due_at"),
    ({"sla_due_at": "2030-01-01T09:00:00"}, "sla_due_at"),  # no offset
    ({"assignee_id": "me"}, "assignee_id"),
    ({"assignee_id": 999}, "assignee_id"),
    ({"status": "open"}, "status"),
])
def test_a_new_ticket_is_checked(world, customer, fields, field):
    reply = world.post("/tickets", json={"customer_id": customer["id"], "subject": "S", **fields})
    assert reply.status_code == 422 and field in reply.get_json()["fields"]


def test_a_ticket_needs_a_customer(world):
    reply = world.post("/tickets", json={"subject": "S"})
    assert reply.status_code == 422 and "customer_id" in reply.get_json()["fields"]
    reply = world.post("/tickets", json={"customer_id": 999, "subject": "S"})
    assert reply.status_code == 422 and "customer_id" in reply.get_json()["fields"]


def test_list_and_filter(world, customer):
    a = open_ticket(world, customer, assignee_id=world.user_ids["agent"])
    b = open_ticket(world, customer)
    assert [t["id"] for t in world.get("/tickets").get_json()["items"]] == [b["id"], a["id"]]
    mine = world.get(f"/tickets?assignee_id={world.user_ids['agent']}").get_json()["items"]
    assert [t["id"] for t in mine] == [a["id"]]
    assert world.get("/tickets?status=closed").get_json()["items"] == []
    bad = world.get("/tickets?status=lost")
    assert bad.status_code == 422 and "status" in bad.get_json()["fields"]


def test_edit_with_versions(world, customer):
    ticket = open_ticket(world, customer)
    reply = world.patch(f"/tickets/{ticket['id']}", json={"status": "open", "version": 1})
    assert reply.status_code == 200 and reply.get_json()["status"] == "open"
    assert reply.headers["ETag"] == '"2"'
    stale = world.patch(f"/tickets/{ticket['id']}", json={"status": "resolved"},
                        headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert world.get(f"/tickets/{ticket['id']}").get_json()["status"] == "open"
    missing = world.patch(f"/tickets/{ticket['id']}", json={"status": "resolved"})
    assert missing.status_code == 422 and "version" in missing.get_json()["fields"]
    assert world.patch("/tickets/999", json={"status": "open", "version": 1}).status_code == 404


def test_link_an_interaction(world, customer):
    ticket = open_ticket(world, customer)
    call_id = world.save_call(caller_number="+15551230001")
    reply = world.post(f"/tickets/{ticket['id']}/interactions", json={"interaction_id": call_id})
    assert reply.status_code == 201
    assert reply.get_json() == {"ticket_id": ticket["id"], "interaction_id": call_id}
    again = world.post(f"/tickets/{ticket['id']}/interactions", json={"interaction_id": call_id})
    assert again.status_code == 201  # idempotent
    assert world.post(f"/tickets/{ticket['id']}/interactions",
                      json={"interaction_id": 999}).status_code == 404
    bad = world.post(f"/tickets/{ticket['id']}/interactions", json={})
    assert bad.status_code == 422 and "interaction_id" in bad.get_json()["fields"]


def test_supervisors_escalate_overdue_tickets(world, customer):
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    overdue = open_ticket(world, customer, sla_due_at=past)
    open_ticket(world, customer)  # on time
    reply = world.post("/tickets/escalate", role="supervisor")
    assert reply.status_code == 200
    escalated = reply.get_json()["escalated"]
    assert [t["id"] for t in escalated] == [overdue["id"]]
    assert escalated[0]["priority"] == "high" and escalated[0]["escalation_level"] == 1
