"""Wrap-up from the console: disposition, notes, ticket and callback in one
transaction (a bad part writes nothing), notes editable during and after the
call, the agent's last calls, and choosing whose call it is."""
import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from crm_core import audit, interactions
from crm_core.models import Callback, Interaction, Ticket

from .console_support import console, console_crm, post, put  # noqa: F401  (fixtures)

_ids = itertools.count(1)


def linkedid() -> str:
    return f"wrap.{next(_ids)}"


def row(console, call_id) -> Interaction:
    with console.sessions() as s:
        found = interactions.by_linkedid(s, call_id)
        s.expunge(found)
        return found


def tomorrow() -> str:
    return (datetime.now() + timedelta(days=1)).replace(microsecond=0).isoformat()


def test_disposition_notes_ticket_and_callback_land_together(console):
    call = linkedid()
    customer = console.ids["ada lovelace"]
    console.call(call, agent="ann", customer_id=customer)
    console.hub.set_pop("ann", {"linkedid": call, "phase": "ended"})
    reply = post(console.client("ann"), "/console/wrap-up", {
        "linkedid": call, "disposition": "resolved", "notes": "Rotor 王 replaced",
        "ticket": {"subject": "Send a new rotor", "priority": "high"},
        "callback": {"due": tomorrow(), "note": "check it works"}})
    assert reply.status_code == 200, reply.json
    saved = row(console, call)
    assert (saved.disposition_code, saved.notes) == ("resolved", "Rotor 王 replaced")
    with console.sessions() as s:
        ticket = s.get(Ticket, reply.json["ticket_id"])
        callback = s.get(Callback, reply.json["callback_id"])
        assert ticket.customer_id == customer and ticket.priority == "high"
        assert callback.agent_id == console.ids["ann"] and callback.interaction_id == saved.id
        assert callback.phone_e164 == "+15551230001" and callback.timezone == "Europe/London"
        assert audit.history(s, "interaction", saved.id)[-1].user_id == console.ids["ann"]
    pop = console.hub.pop_of("ann")  # every tab shows it saved
    assert pop["wrap_up"]["disposition"] == "resolved" and pop["notes"] == "Rotor 王 replaced"


def test_a_bad_callback_writes_nothing_at_all(console):
    call = linkedid()
    console.call(call, agent="ann", customer_id=console.ids["ada lovelace"])
    reply = post(console.client("ann"), "/console/wrap-up", {
        "linkedid": call, "disposition": "resolved", "notes": "typed",
        "ticket": {"subject": "should not exist"},
        "callback": {"due": "2001-01-01T10:00:00"}})
    assert reply.status_code == 422 and "due" in str(reply.json["fields"])
    saved = row(console, call)
    assert saved.disposition_code is None and saved.notes == ""
    with console.sessions() as s:
        assert s.scalar(select(Ticket).where(Ticket.subject == "should not exist")) is None


@pytest.mark.parametrize("body,field", [
    ({"disposition": "resolved"}, "linkedid"),
    ({"linkedid": "x"}, "disposition"),
    ({"linkedid": "x", "disposition": "resolved", "ticket": "yes"}, "ticket"),
    ({"linkedid": "x", "disposition": "resolved", "ticket": {"subject": ""}}, "ticket.subject"),
    ({"linkedid": "x", "disposition": "resolved", "callback": {"due": "soon"}}, "callback.due"),
    ({"linkedid": "x", "disposition": "resolved", "notes": "a\x00b"}, "notes"),
])
def test_bad_wrap_ups_name_the_field(console, body, field):
    call = body.get("linkedid")
    if call:
        console.call(call + linkedid(), agent="ann")
    reply = post(console.client("ann"), "/console/wrap-up", body)
    assert reply.status_code in (404, 422)
    if reply.status_code == 422:
        assert field in str(reply.json["fields"]), reply.json


def test_an_unknown_disposition_is_refused(console):
    call = linkedid()
    console.call(call, agent="ann")
    reply = post(console.client("ann"), "/console/wrap-up",
                 {"linkedid": call, "disposition": "bribed"})
    assert reply.status_code == 422 and "disposition" in reply.json["fields"]


def test_a_ticket_needs_to_know_whose_call_it_is(console):
    call = linkedid()
    console.call(call, caller="+4930123456", agent="ann")
    reply = post(console.client("ann"), "/console/wrap-up", {
        "linkedid": call, "disposition": "resolved", "ticket": {"subject": "x"}})
    assert reply.status_code == 422 and "whose call" in reply.json["message"]
    assert row(console, call).disposition_code is None


def test_agents_wrap_up_their_own_calls_supervisors_any(console):
    call = linkedid()
    console.call(call, agent="ann")
    body = {"linkedid": call, "disposition": "resolved"}
    assert post(console.client("bob"), "/console/wrap-up", body).status_code == 403
    assert row(console, call).disposition_code is None
    assert post(console.client("sue"), "/console/wrap-up", body).status_code == 200


def test_the_call_on_the_agents_screen_is_theirs_before_the_history_says_so(console):
    call = linkedid()
    console.call(call)  # no agent on the row yet
    console.hub.set_pop("bob", {"linkedid": call, "phase": "talking"})
    reply = post(console.client("bob"), "/console/wrap-up",
                 {"linkedid": call, "disposition": "resolved"})
    assert reply.status_code == 200
    assert row(console, call).agent_id == console.ids["bob"]


def test_an_unknown_call_is_a_404(console):
    reply = post(console.client("ann"), "/console/wrap-up",
                 {"linkedid": "no.such", "disposition": "resolved"})
    assert reply.status_code == 404


def test_notes_save_as_typed_and_stay_editable_after_the_call(console):
    call = linkedid()
    interaction_id = console.call(call, agent="ann")
    console.hub.set_pop("ann", {"linkedid": call, "phase": "talking"})
    client = console.client("ann")
    assert put(client, "/console/notes", {"linkedid": call, "notes": "first"}).status_code == 200
    assert console.hub.pop_of("ann")["notes"] == "first"
    console.hub.set_pop("ann", None)  # the call is long over
    reply = put(client, "/console/notes", {"interaction_id": interaction_id, "notes": "later"})
    assert reply.status_code == 200 and row(console, call).notes == "later"
    assert put(console.client("bob"), "/console/notes",
               {"interaction_id": interaction_id, "notes": "not mine"}).status_code == 403
    assert put(client, "/console/notes", {"notes": "where?"}).status_code == 422
    assert put(client, "/console/notes", {"linkedid": call, "notes": "x"}, csrf=False) \
        .status_code == 400
    assert row(console, call).notes == "later"


def test_recent_lists_my_calls_only(console):
    mine, theirs = linkedid(), linkedid()
    console.call(mine, agent="ann", customer_id=console.ids["ada lovelace"])
    console.call(theirs, agent="bob")
    reply = console.client("ann").get("/console/recent", headers={"Accept": "application/json"})
    items = {item["linkedid"]: item for item in reply.json["items"]}
    assert mine in items and theirs not in items
    assert items[mine]["customer"] == "Ada Lovelace" and items[mine]["number"] == "+15551230001"


def test_choosing_the_customer_links_the_call_and_updates_the_pop(console):
    call = linkedid()
    console.call(call, caller="+4930123456")
    console.hub.set_pop("ann", {"linkedid": call, "phase": "talking", "customer_id": None,
                                "card": None})
    customer = console.ids["ada lovelace"]
    reply = post(console.client("ann"), "/console/call/customer",
                 {"linkedid": call, "customer_id": customer})
    assert reply.status_code == 200
    assert row(console, call).customer_id == customer
    pop = console.hub.pop_of("ann")
    assert pop["customer_id"] == customer and pop["card"]["customer"]["name"] == "Ada Lovelace"
    with console.sessions() as s:
        entry = audit.history(s, "interaction", row(console, call).id)[-1]
        assert entry.changes["customer_id"] == [None, customer]


def test_choosing_a_customer_of_someone_elses_call_is_refused(console):
    call = linkedid()
    console.call(call, agent="bob")
    reply = post(console.client("ann"), "/console/call/customer",
                 {"linkedid": call, "customer_id": console.ids["ada lovelace"]})
    assert reply.status_code == 403 and row(console, call).customer_id is None
    reply = post(console.client("bob"), "/console/call/customer",
                 {"linkedid": call, "customer_id": 999999})
    assert reply.status_code == 422 and row(console, call).customer_id is None


def test_a_pop_of_a_live_call_cannot_be_put_away(console):
    console.hub.set_pop("ann", {"linkedid": "x.1", "phase": "talking"})
    client = console.client("ann")
    assert post(client, "/console/pop/dismiss").status_code == 422
    console.hub.update_pop("ann", "x.1", phase="ended")
    assert post(client, "/console/pop/dismiss").status_code == 200
    assert console.hub.pop_of("ann") is None
