"""Wrap-up: after (or during) a call the agent picks a disposition, writes
notes, opens or updates a ticket and schedules a callback: one transaction,
so a mistake in any part writes nothing. Notes stay editable afterwards
(PUT /console/notes, saved as the agent types), and GET /console/recent lists
the agent's last calls to come back to.

Agents change the calls they handled (or the one on their screen);
supervisors and admins any call.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from crm_core import callbacks, dispositions, interactions, tickets
from crm_core.errors import NotFound, ValidationError
from crm_core.models import Customer, Interaction

from ..api.replies import reply
from ..api.schemas import Form, json_body, query_int
from ..web_auth import current_user, login_required
from . import bp
from .agent import TAKES_CALLS
from .calls import _may_handle
from .replies import done

TICKET_NEW = ("subject", "description", "priority", "category")
TICKET_CHANGE = ("id", "version", "status", "priority", "note")
CALLBACK_FIELDS = ("due", "timezone", "note", "phone", "queue")


def _ticket_form(body) -> dict | None:
    """``{"subject": ...}`` opens a ticket; ``{"id", "version", "status"...}`` updates one."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise ValidationError.one("ticket", "must be an object")
    updating = "id" in body
    form = Form(body, TICKET_CHANGE if updating else TICKET_NEW)
    if updating:
        parsed = {"id": form.record_id("id", required=True),
                  "version": form.record_id("version", required=True)}
        for name in ("status", "priority"):
            if form.given(name):
                parsed[name] = form.text(name, limit=16, required=True)
    else:
        parsed = {"subject": form.text("subject", limit=200, required=True),
                  "description": form.text("description", limit=20_000),
                  "priority": form.text("priority", limit=16, default="normal") or "normal",
                  "category": form.text("category", limit=64)}
    _prefixed(form, "ticket")
    return parsed


def _callback_form(body) -> dict | None:
    if body is None:
        return None
    if not isinstance(body, dict):
        raise ValidationError.one("callback", "must be an object")
    form = Form(body, CALLBACK_FIELDS)
    parsed = {"due": form.time("due", required=True, naive_ok=True),
              "timezone": form.text("timezone", limit=64, default=None),
              "note": form.text("note", limit=2000),
              "phone": form.text("phone", limit=40, default=None),
              "queue": form.text("queue", limit=64)}
    _prefixed(form, "callback")
    return parsed


def _prefixed(form: Form, name: str) -> None:
    if form.errors:
        raise ValidationError({f"{name}.{k}": v for k, v in form.errors.items()})


def _customer_number(row: Interaction) -> str:
    return row.dialled_number if row.direction == "outbound" else row.caller_number


@bp.post("/console/wrap-up")
@login_required(*TAKES_CALLS)
def save_wrap_up():
    body = json_body()
    form = Form(body, ("linkedid", "disposition", "notes", "ticket", "callback"))
    linkedid = form.text("linkedid", limit=64, required=True)
    code = form.text("disposition", limit=32, required=True)
    notes = form.text("notes", limit=20_000, default=None)
    form.done()
    ticket = _ticket_form(body.get("ticket"))
    callback = _callback_form(body.get("callback"))
    user = current_user()
    region = current_app.config["REGION"]
    with current_app.config["SESSIONS"].begin() as session:
        row = interactions.by_linkedid(session, linkedid)
        if row is None:
            raise NotFound(f"call {linkedid!r} is not in the history (yet); try again")
        _may_handle(row)
        dispositions.apply_disposition(session, row.id, code, actor_id=user.id, notes=notes,
                                       region=region)
        ticket_id = _ticket(session, row, ticket, user.id) if ticket else None
        callback_id = _callback(session, row, callback, user.id, region) if callback else None
        interaction_id, saved_notes = row.id, row.notes
    # Every open tab of the agent shows it saved (and a reload too).
    current_app.config["HUB"].update_pop(
        user.username, linkedid, notes=saved_notes,
        wrap_up={"disposition": code, "ticket_id": ticket_id, "callback_id": callback_id})
    return done(interaction_id=interaction_id, ticket_id=ticket_id, callback_id=callback_id)


def _ticket(session, row: Interaction, wanted: dict, actor_id: int) -> int:
    if "id" in wanted:
        changes = {k: v for k, v in wanted.items() if k in ("status", "priority")}
        found = tickets.update_ticket(session, wanted["id"], changes,
                                      expected_version=wanted["version"], actor_id=actor_id)
    else:
        if row.customer_id is None:
            raise ValidationError.one("ticket", "say whose call this is first (pick or "
                                      "create the customer)")
        found = tickets.create_ticket(session, row.customer_id, wanted["subject"],
                                      description=wanted["description"] or "",
                                      priority=wanted["priority"],
                                      category=wanted["category"] or "", actor_id=actor_id)
    tickets.link_interaction(session, found.id, row.id)
    return found.id


def _callback(session, row: Interaction, wanted: dict, actor_id: int, region: str) -> int:
    queue = wanted["queue"] or ""
    scheduled = callbacks.schedule_callback(
        session, phone=wanted["phone"] or _customer_number(row), due=wanted["due"],
        timezone=wanted["timezone"], customer_id=row.customer_id,
        agent_id=None if queue else actor_id, queue=queue, note=wanted["note"] or "",
        interaction_id=row.id, region=region, actor_id=actor_id)
    return scheduled.id


@bp.put("/console/notes")
@login_required(*TAKES_CALLS)
def save_notes():
    """The notes as the agent types them (during the call or any time after)."""
    form = Form(json_body(), ("interaction_id", "linkedid", "notes"))
    interaction_id = form.record_id("interaction_id")
    linkedid = form.text("linkedid", limit=64, default=None)
    notes = form.text("notes", limit=20_000, required=False, default="")
    if interaction_id is None and not linkedid:
        form.errors["interaction_id"] = "give the interaction_id or the call's linkedid"
    form.done()
    with current_app.config["SESSIONS"].begin() as session:
        row = session.get(Interaction, interaction_id) if interaction_id \
            else interactions.by_linkedid(session, linkedid)
        if row is None:
            raise NotFound("no such interaction (yet)")
        _may_handle(row)
        saved = interactions.set_notes(session, row.id, notes, actor_id=current_user().id)
        saved_id, saved_linkedid, saved_notes = row.id, row.linkedid, saved.notes
    if saved_linkedid:  # the other tabs' pop of this call shows them too
        current_app.config["HUB"].update_pop(current_user().username, saved_linkedid,
                                             notes=saved_notes)
    return done(interaction_id=saved_id)


@bp.get("/console/recent")
@login_required(*TAKES_CALLS)
def recent():
    """The agent's last calls, newest first, to finish their notes later."""
    limit = query_int("limit", default=10, low=1, high=50)
    with current_app.config["SESSIONS"]() as session:
        rows = session.execute(
            select(Interaction, Customer.name).outerjoin(Customer,
                                                         Customer.id == Interaction.customer_id)
            .where(Interaction.agent_id == current_user().id)
            .order_by(Interaction.started_at.desc(), Interaction.id.desc()).limit(limit))
        items = [{"id": i.id, "linkedid": i.linkedid, "direction": i.direction,
                  "number": _customer_number(i), "customer": name,
                  "customer_id": i.customer_id, "started_at": i.started_at,
                  "status": i.status, "disposition": i.disposition_code, "notes": i.notes}
                 for i, name in rows]
    return reply({"items": items})
