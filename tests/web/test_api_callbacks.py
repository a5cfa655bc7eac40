"""Callbacks over HTTP: local times in the customer's zone, due lists, states."""
from datetime import datetime, timedelta, timezone

import pytest

from crm_core.models import Callback

from .test_api_support import api_template, world  # noqa: F401 (fixtures)


def schedule(world, **fields):
    body = {"phone": "+15551230001", "due": "2030-01-15T09:00:00", "timezone": "Asia/Shanghai",
            "queue": "sales", **fields}
    return world.post("/callbacks", json=body)


def test_a_local_time_is_read_in_the_given_zone(world):
    reply = schedule(world, note="回电：账单问题")
    assert reply.status_code == 201
    callback = reply.get_json()
    assert callback["due_at"] == "2030-01-15T01:00:00+00:00"
    assert callback["due_local"] == "2030-01-15T09:00:00+08:00"
    assert callback["state"] == "pending" and callback["note"] == "回电：账单问题"


def test_a_time_with_an_offset_is_that_instant(world):
    reply = schedule(world, due="2030-01-15T09:00:00-05:00", timezone="America/New_York")
    assert reply.get_json()["due_at"] == "2030-01-15T14:00:00+00:00"


def test_for_an_agent_instead_of_a_queue(world):
    ada = world.new_customer("Ada", timezone="Europe/Berlin")
    reply = schedule(world, queue=None, agent_id=world.user_ids["agent"], customer_id=ada["id"],
                     timezone=None)
    assert reply.status_code == 201
    assert reply.get_json()["timezone"] == "Europe/Berlin"  # the customer's zone by default


@pytest.mark.parametrize("fields,field", [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"due": "next tuesday"}, "due"),
    ({"due": "2001-01-01T09:00:00Z"}, "due"),  # in the past
    ({"due": "2030-03-10T02:30:00", "timezone": "America/New_York"}, "due"),  # skipped hour
    ({"phone": "CALL-ME-NOW"}, "phone"),
    ({"customer_id": 999}, "customer_id"),
    ({"customer_id": "one"}, "customer_id"),
    ({"note": "x" * 2001}, "note"),
    ({"shoe_size": 44}, "shoe_size"),
])
def test_bad_callbacks_name_the_field(world, fields, field):
    reply = schedule(world, **fields)
    assert reply.status_code == 422 and field in reply.get_json()["fields"], reply.get_json()


def test_due_callbacks_and_state_changes(world):
    soon = schedule(world).get_json()
    with world.sessions.begin() as s:  # let its time come
        s.get(Callback, soon["id"]).due_at = datetime.now(timezone.utc) - timedelta(minutes=5)
    due = world.get("/callbacks/due?limit=10").get_json()
    assert [c["id"] for c in due["items"]] == [soon["id"]] and due["limit"] == 10
    started = world.patch(f"/callbacks/{soon['id']}", json={"state": "in_progress"})
    assert started.status_code == 200 and started.get_json()["state"] == "in_progress"
    assert world.get("/callbacks/due").get_json()["items"] == []
    done = world.patch(f"/callbacks/{soon['id']}", json={"state": "done"}, role="supervisor")
    assert done.get_json()["state"] == "done"


def test_a_state_change_is_checked(world):
    callback = schedule(world).get_json()
    wrong = world.patch(f"/callbacks/{callback['id']}", json={"state": "done"})
    assert wrong.status_code == 422 and "state" in wrong.get_json()["fields"]
    empty = world.patch(f"/callbacks/{callback['id']}", json={})
    assert empty.status_code == 422 and "state" in empty.get_json()["fields"]
    assert world.patch("/callbacks/999", json={"state": "cancelled"}).status_code == 404
