"""The customer card popped on an agent's screen, the timeline behind it, and
notes written onto that timeline.

The card is a fixed handful of indexed queries whatever the customer's
history (no query per interaction or per contact), since it is read while the
phone rings.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .customers import (CHILDREN, columns_as_dict, customer_as_dict, get_customer,
                        mapping_as_dict)
from .errors import NotFound, ValidationError
from .models import (CHANNELS, OPEN_TICKET_STATUSES, Callback, Customer, DoNotCall, Interaction,
                     Ticket, utcnow)
from .validation import clean_long_text, clean_text

NOTE_CHANNELS = tuple(c for c in CHANNELS if c != "call")  # calls are written by the engine
NOTE_LIMIT = 20_000
SUBJECT_LIMIT = 200
PER_PAGE_MAX = 200
LAST_MAX = 500
# A company card lists this many contacts by name; more is a search, not a card.
CONTACTS_ON_CARD = 200


@dataclass
class CustomerCard:
    customer: dict
    company: dict | None
    contacts: list[dict]
    interactions: list[dict]
    open_tickets: list[dict]
    pending_callbacks: list[dict]
    do_not_call: list[str]


@dataclass
class Page:
    items: list[dict]
    page: int
    per_page: int
    total: int


def interaction_as_dict(i: Interaction) -> dict:
    return columns_as_dict(i)


_INTERACTION_COLUMNS = tuple(Interaction.__table__.columns)


def _newest_first(session: Session, customer_id: int, limit: int, offset: int = 0) -> list[dict]:
    # Walks ix_interactions_customer_started backwards; id breaks ties in a second.
    # Plain rows, not ORM objects: a card reads fifty of them and changes none.
    rows = session.execute(
        select(*_INTERACTION_COLUMNS).where(Interaction.customer_id == customer_id)
        .order_by(Interaction.started_at.desc(), Interaction.id.desc())
        .limit(limit).offset(offset)).mappings()
    return [mapping_as_dict(row) for row in rows]


def _company(session: Session, customer: Customer) -> dict | None:
    if customer.company_id is None:
        return None
    company = session.get(Customer, customer.company_id, options=CHILDREN)
    return customer_as_dict(company) if company else None


def _contacts(session: Session, customer: Customer) -> list[dict]:
    if customer.kind != "company":
        return []
    contacts = session.scalars(
        select(Customer).options(*CHILDREN).where(Customer.company_id == customer.id)
        .order_by(Customer.name, Customer.id).limit(CONTACTS_ON_CARD))
    return [customer_as_dict(c) for c in contacts]


def _open_tickets(session: Session, customer_id: int) -> list[dict]:
    tickets = session.scalars(
        select(Ticket).where(Ticket.customer_id == customer_id,
                             Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()))
    return [columns_as_dict(t) for t in tickets]


def _pending_callbacks(session: Session, customer_id: int) -> list[dict]:
    callbacks = session.scalars(
        select(Callback).where(Callback.customer_id == customer_id, Callback.state == "pending")
        .order_by(Callback.due_at, Callback.id))
    return [columns_as_dict(c) for c in callbacks]


def _do_not_call(session: Session, numbers: list[str]) -> list[str]:
    if not numbers:
        return []
    listed = set(session.scalars(select(DoNotCall.e164).where(DoNotCall.e164.in_(numbers))))
    return [n for n in numbers if n in listed]


def customer_card(session: Session, customer_id: int, *, last: int = 50) -> CustomerCard:
    """Everything an agent needs on one screen: the customer, its company or its
    contacts, the ``last`` interactions newest first, open tickets newest first,
    pending callbacks by due time, and which of its numbers must not be called."""
    if not 1 <= last <= LAST_MAX:
        raise ValidationError.one("last", f"between 1 and {LAST_MAX}")
    customer = get_customer(session, customer_id)
    data = customer_as_dict(customer)
    return CustomerCard(
        customer=data, company=_company(session, customer), contacts=_contacts(session, customer),
        interactions=_newest_first(session, customer_id, last),
        open_tickets=_open_tickets(session, customer_id),
        pending_callbacks=_pending_callbacks(session, customer_id),
        do_not_call=_do_not_call(session, [p["e164"] for p in data["phones"]]))


def _require_customer(session: Session, customer_id: int) -> None:
    if session.scalar(select(Customer.id).where(Customer.id == customer_id)) is None:
        raise NotFound(f"no customer {customer_id}", customer_id=customer_id)


def _check_paging(page, per_page) -> None:
    errors = {}
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        errors["page"] = "a whole number from 1"
    if isinstance(per_page, bool) or not isinstance(per_page, int) \
            or not 1 <= per_page <= PER_PAGE_MAX:
        errors["per_page"] = f"a whole number from 1 to {PER_PAGE_MAX}"
    if errors:
        raise ValidationError(errors)


def timeline(session: Session, customer_id: int, *, page: int = 1, per_page: int = 25) -> Page:
    """The customer's interactions, newest first, a page at a time."""
    _check_paging(page, per_page)
    _require_customer(session, customer_id)
    total = session.scalar(select(func.count()).select_from(Interaction)
                           .where(Interaction.customer_id == customer_id))
    return Page(_newest_first(session, customer_id, per_page, (page - 1) * per_page), page,
                per_page, total)


def _clean_note(text, channel, subject) -> tuple[str, str]:
    errors: dict[str, str] = {}
    if channel not in NOTE_CHANNELS:
        errors["channel"] = f"one of {', '.join(NOTE_CHANNELS)}"
    text = clean_long_text(text, "text", NOTE_LIMIT, errors, required=True)
    subject = clean_text(subject, "subject", SUBJECT_LIMIT, errors)
    if errors:
        raise ValidationError(errors)
    return text, subject


def add_note(session: Session, customer_id: int, text: str, *, actor_id: int | None = None,
             channel: str = "note", subject: str = "") -> Interaction:
    """A note (or a visit, an e-mail, a web contact ...) on the customer's timeline."""
    text, subject = _clean_note(text, channel, subject)
    _require_customer(session, customer_id)
    now = utcnow()
    note = Interaction(channel=channel, direction="internal", linkedid=None,
                       customer_id=customer_id, agent_id=actor_id, started_at=now, ended_at=now,
                       status="completed", subject=subject, notes=text)
    session.add(note)
    session.flush()
    audit.record(session, actor_id=actor_id, entity="interaction", entity_id=note.id,
                 action="create", changes={"customer_id": customer_id, "channel": channel,
                                           "subject": subject, "notes": text})
    session.flush()
    return note
