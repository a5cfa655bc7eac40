"""Tickets: the list (by status, mine or everyone's), one ticket read and edited
under its version, and a new one opened from a customer's card.

An edit carries the version the agent read; if someone else saved the ticket
meanwhile, nothing is overwritten: the page shows the ticket as it is now and
the agent's unsaved values beside it, to apply again.
"""
from __future__ import annotations

from flask import request

from crm_core import customers, directory, tickets
from crm_core.errors import Conflict, ValidationError
from crm_core.models import TICKET_PRIORITIES, TICKET_STATUSES

from ..api.routes import ID
from ..web_auth import current_user
from . import bp, ticket_form
from .card import show_card
from .common import crm_page, page_number, render, see_other, sessions
from .ticket_form import TicketForm

PER_PAGE = 50
ASSIGNEE_FILTERS = ("", "mine")  # everyone's, or the signed-in agent's


def _list_filters() -> tuple[str, str, int, dict]:
    status = request.args.get("status", "").strip()
    assignee = request.args.get("assignee", "").strip()
    page, page_error = page_number()
    errors = {}
    if status and status not in TICKET_STATUSES:
        errors["status"] = f"one of {', '.join(TICKET_STATUSES)}, or any"
    if assignee not in ASSIGNEE_FILTERS:
        errors["assignee"] = "mine, or anyone"
    if page_error:
        errors["page"] = page_error
    return status, assignee, page, errors


@bp.get("/tickets", endpoint="tickets")
@crm_page
def tickets_list():
    status, assignee, page, errors = _list_filters()
    filters = {"status": status[:16], "assignee": assignee[:16]}
    if errors:
        return render("crm/tickets.html", 422, filters=filters, errors=errors, rows=[],
                      statuses=TICKET_STATUSES, page=1, has_next=False)
    with sessions()() as s:
        found = tickets.list_tickets(s, status=status or None,
                                     assignee_id=current_user().id if assignee else None,
                                     limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
        rows = [tickets.ticket_as_dict(t) for t in found]
        names = directory.user_names(s, (r["assignee_id"] for r in rows))
        customer_names = directory.customer_names(s, (r["customer_id"] for r in rows))
    return render("crm/tickets.html", filters=filters, errors={}, rows=rows[:PER_PAGE],
                  link_args={key: value for key, value in filters.items() if value},
                  statuses=TICKET_STATUSES, page=page, has_next=len(rows) > PER_PAGE,
                  names=names, customer_names=customer_names)



def _statuses(current: str) -> list[str]:
    """The current status and those it may move to, in workflow order."""
    allowed = tickets.TRANSITIONS.get(current, set()) | {current}
    return [s for s in TICKET_STATUSES if s in allowed]


def _show_ticket(ticket_id: int, status: int = 200, *, form: TicketForm | None = None,
                 alert: str | None = None, unsaved: TicketForm | None = None):
    with sessions()() as s:
        ticket = tickets.get_ticket(s, ticket_id)  # NotFound: a 404 page
        form = form or ticket_form.of_ticket(ticket)
        wanted = [ticket.assignee_id] + [_as_id(f.values.get("assignee_id"))
                                         for f in (form, unsaved) if f]
        names = directory.user_names(s, wanted)
        customer = directory.customer_names(s, [ticket.customer_id]).get(ticket.customer_id, "")
        linked = directory.interactions_by_id(s, tickets.linked_interactions(s, ticket_id))
        agents = directory.user_names(s, (i["agent_id"] for i in linked))
        data = tickets.ticket_as_dict(ticket)
        assignable = directory.assignable_users(s)
    return render("crm/ticket.html", status, t=data, customer_name=customer, form=form, alert=alert,
                  unsaved=unsaved, names=names, agents=agents, linked=linked,
                  assignable=assignable, statuses=_statuses(data["status"]),
                  priorities=TICKET_PRIORITIES, fields=ticket_form.EDIT_FIELDS)


def _as_id(text) -> int | None:
    return int(text) if isinstance(text, str) and text.isascii() and text.isdigit() \
        and len(text) <= 9 else None


def _save(ticket_id: int):
    data, form = ticket_form.read(request.form, ticket_form.EDIT_FIELDS)
    version = ticket_form.version(form)
    if form.errors:
        return _show_ticket(ticket_id, 422, form=form)
    try:
        with sessions().begin() as s:
            tickets.update_ticket(s, ticket_id, data, expected_version=version,
                                  actor_id=current_user().id)
    except ValidationError as exc:
        form.errors.update(exc.errors)
        return _show_ticket(ticket_id, 422, form=form)
    except Conflict:
        return _show_ticket(ticket_id, 409, unsaved=form, alert=(
            "Someone else changed this ticket after you opened it; nothing of yours was "
            "saved. Below is the ticket as it is now; your values are listed to apply again."))
    return see_other("crm.ticket", ticket_id=ticket_id)


@bp.route(f"/tickets/<{ID}:ticket_id>", methods=["GET", "POST"], endpoint="ticket")
@crm_page
def ticket_page(ticket_id: int):
    return _save(ticket_id) if request.method == "POST" else _show_ticket(ticket_id)


@bp.post(f"/customers/<{ID}:customer_id>/tickets", endpoint="new_ticket")
@crm_page
def new_ticket(customer_id: int):
    data, form = ticket_form.read(request.form, ticket_form.NEW_FIELDS)
    if form.errors:
        return show_card(customer_id, 422, ticket=form)
    try:
        with sessions().begin() as s:
            customers.get_customer(s, customer_id)  # NotFound: a 404 page, not a field error
            ticket = tickets.create_ticket(s, customer_id, data.pop("subject"),
                                           actor_id=current_user().id, **data)
            s.flush()
            ticket_id = ticket.id
    except ValidationError as exc:
        form.errors.update(exc.errors)
        return show_card(customer_id, 422, ticket=form)
    return see_other("crm.ticket", ticket_id=ticket_id)
