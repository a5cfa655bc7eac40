"""Tickets: open, list, read, edit with the version read, link calls and
notes to them, and escalate the ones past their SLA."""
from __future__ import annotations

from flask import url_for

from crm_core import tickets

from .auth import EVERYONE, SUPERVISORS, current_caller
from .context import Api
from .replies import etag, reply
from .routes import ID, Routes
from .schemas import Form, expected_version, json_body, limit_offset, query_id, query_text

routes = Routes("tickets")
TEXT_FIELDS = {"subject": 200, "description": 20_000, "status": 16, "priority": 16,
               "category": 64}
EDITABLE = (*TEXT_FIELDS, "assignee_id", "sla_due_at")


def _edits(form: Form) -> dict:
    """The fields given in the body, each checked for its type."""
    changes = {}
    for name, limit in TEXT_FIELDS.items():
        if form.given(name):
            changes[name] = form.text(name, limit=limit, required=name == "subject")
    if form.given("assignee_id"):
        changes["assignee_id"] = form.record_id("assignee_id")
    if form.given("sla_due_at"):
        changes["sla_due_at"] = form.time("sla_due_at")
    return changes


@routes.get("/tickets", roles=EVERYONE)
def search(api: Api):
    status = query_text("status", limit=16) or None
    assignee = query_id("assignee_id")
    limit, offset = limit_offset()
    with api.reading() as s:
        found = tickets.list_tickets(s, status=status, assignee_id=assignee, limit=limit,
                                     offset=offset)
        items = [tickets.ticket_as_dict(t) for t in found]
    return reply({"items": items, "limit": limit, "offset": offset})


@routes.post("/tickets", roles=EVERYONE)
def create(api: Api):
    form = Form(json_body(), ("customer_id", *EDITABLE))
    customer_id = form.record_id("customer_id", required=True)
    fields = {"subject": "", "description": "", "priority": "normal", "category": "",
              "assignee_id": None, "sla_due_at": None, **_edits(form)}
    if not form.given("subject"):
        form.errors["subject"] = "is required"
    if form.given("status"):
        form.errors["status"] = "a new ticket starts as 'new'; change it afterwards"
    form.done()
    with api.transaction() as s:
        ticket = tickets.create_ticket(s, customer_id, fields.pop("subject"),
                                       actor_id=current_caller().id, **fields)
        s.flush()
        data = tickets.ticket_as_dict(ticket)
    return reply(data, 201, {"Location": url_for(".tickets_read", ticket_id=data["id"]),
                             **etag(data)})


@routes.get(f"/tickets/<{ID}:ticket_id>", roles=EVERYONE)
def read(api: Api, ticket_id: int):
    with api.reading() as s:
        data = tickets.ticket_as_dict(tickets.get_ticket(s, ticket_id))
    return reply(data, headers=etag(data))


@routes.patch(f"/tickets/<{ID}:ticket_id>", roles=EVERYONE)
def update(api: Api, ticket_id: int):
    body = json_body()
    version = expected_version(body)
    body.pop("version", None)
    form = Form(body, EDITABLE)
    changes = _edits(form)
    form.done()
    with api.transaction() as s:
        ticket = tickets.update_ticket(s, ticket_id, changes, expected_version=version,
                                       actor_id=current_caller().id)
        s.flush()
        data = tickets.ticket_as_dict(ticket)
    return reply(data, headers=etag(data))


@routes.post(f"/tickets/<{ID}:ticket_id>/interactions", roles=EVERYONE)
def link(api: Api, ticket_id: int):
    form = Form(json_body(), ("interaction_id",))
    interaction_id = form.record_id("interaction_id", required=True)
    form.done()
    with api.transaction() as s:
        tickets.link_interaction(s, ticket_id, interaction_id)
    return reply({"ticket_id": ticket_id, "interaction_id": interaction_id}, 201)


@routes.post("/tickets/escalate", roles=SUPERVISORS)
def escalate(api: Api):
    with api.transaction() as s:
        escalated = tickets.escalate_overdue(s, actor_id=current_caller().id)
        s.flush()
        items = [tickets.ticket_as_dict(t) for t in escalated]
    return reply({"escalated": items})
