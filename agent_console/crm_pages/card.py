"""GET /crm/customers/<id>: the customer card with the whole timeline, paged;
POST /crm/customers/<id>/notes: a note (or a visit, an e-mail ...) on it.

The card's other forms (dial, open a ticket) live in their own modules and
come back here with their error when they are refused (``show_card``).
"""
from __future__ import annotations

from flask import current_app, request

from crm_core import card, directory
from crm_core.errors import ValidationError
from crm_core.models import TICKET_PRIORITIES

from ..api.routes import ID
from ..web_auth import current_user
from . import bp, ticket_form
from .common import crm_page, page_number, render, see_other, sessions
from .ticket_form import TicketForm

PER_PAGE = 25
NOTE_FIELDS = ("text", "subject", "channel")
NOTE_TYPED_MAX = 25_000


def _names_needed(found: card.CustomerCard, items: list[dict]) -> list[int | None]:
    return [found.customer["owner_id"], *(i["agent_id"] for i in items),
            *(t["assignee_id"] for t in found.open_tickets),
            *(c["agent_id"] for c in found.pending_callbacks)]


def show_card(customer_id: int, status: int = 200, *, note: dict | None = None,
              note_errors: dict | None = None, ticket: TicketForm | None = None,
              alert: str | None = None):
    """The card page; a refused form on it comes back with its values and errors,
    ``alert`` says why a button press was refused."""
    page, page_error = page_number()
    if page_error:
        return render("crm/error.html", 422, title="Bad page number", message=f"page: {page_error}")
    with sessions()() as s:
        # The card's own "last 50" is not shown: the paged timeline below has them all.
        found = card.customer_card(s, customer_id, last=1)
        line = card.timeline(s, customer_id, page=page, per_page=PER_PAGE)
        names = directory.user_names(s, _names_needed(found, line.items))
        paths = directory.segment_paths(s, (i["id"] for i in line.items))
        assignable = directory.assignable_users(s)
    desk = current_app.config.get("DESK")
    return render("crm/card.html", status, card=found, c=found.customer, timeline=line,
                  pages=max(1, -(-line.total // PER_PAGE)), names=names, paths=paths,
                  assignable=assignable, note=note or {"channel": "note"},
                  note_errors=note_errors or {}, note_channels=card.NOTE_CHANNELS,
                  ticket=ticket or ticket_form.blank(), priorities=TICKET_PRIORITIES, alert=alert,
                  desk_up=getattr(desk, "available", True))


@bp.get(f"/customers/<{ID}:customer_id>", endpoint="card")
@crm_page
def card_view(customer_id: int):
    return show_card(customer_id)


@bp.post(f"/customers/<{ID}:customer_id>/notes")
@crm_page
def add_note(customer_id: int):
    typed = {name: request.form.get(name, "")[:NOTE_TYPED_MAX] for name in NOTE_FIELDS}
    try:
        with sessions().begin() as s:
            card.add_note(s, customer_id, typed["text"], actor_id=current_user().id,
                          channel=typed["channel"] or "note", subject=typed["subject"])
    except ValidationError as exc:
        return show_card(customer_id, 422, note=typed, note_errors=exc.errors)
    return see_other("crm.card", customer_id=customer_id, _anchor="timeline")
