"""Merging two records of one customer into the one that is kept.

Everything the absorbed record owns moves in one UPDATE per table; the
absorbed record is then deleted, and a single audit entry keeps its full data
and the ids of what moved, so a merge can be understood (and undone by hand)
later. Like every service here, the caller owns the transaction.
"""
from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from . import audit
from .customers import CHILDREN, customer_as_dict, flush_customer
from .errors import NotFound, ValidationError
from .models import Callback, Customer, CustomerTag, Email, Interaction, Phone, Ticket, utcnow

# Empty on the kept record means "", None or {}; level, language and timezone
# always hold a value (their defaults), so they are never filled.
FILLABLE = ("code", "company_id", "segment", "owner_id", "address", "postcode", "city", "country")


def _lock_both(session: Session, keep_id: int, absorb_id: int) -> tuple[Customer, Customer]:
    # FOR UPDATE (in id order, so two merges cannot deadlock) keeps edits and new
    # interactions off both records until the merge commits (PostgreSQL; SQLite
    # serialises writers anyway).
    rows = session.scalars(
        select(Customer).options(*CHILDREN).where(Customer.id.in_((keep_id, absorb_id)))
        .order_by(Customer.id).with_for_update()
        .execution_options(populate_existing=True)).all()
    found = {c.id: c for c in rows}
    missing = [i for i in (keep_id, absorb_id) if i not in found]
    if missing:
        raise NotFound(f"no customer {missing[0]}", customer_id=missing[0])
    return found[keep_id], found[absorb_id]


def _check(keep: Customer, absorb: Customer) -> None:
    if keep.kind != absorb.kind:
        raise ValidationError.one("absorb_id", f"customer {absorb.id} is a {absorb.kind} and "
                                               f"customer {keep.id} a {keep.kind}; "
                                               "only records of one kind merge")


def _move(session: Session, table, keep_id: int, absorb_id: int, unique: str | None = None,
          **extra) -> list:
    """Re-point the absorbed record's rows at the kept one, returning their ids (tag
    names for tags). With ``unique``, rows whose value the kept record already has
    stay behind and go with the absorbed record."""
    stmt = update(table).where(table.c.customer_id == absorb_id)
    if unique:
        stmt = stmt.where(table.c[unique].not_in(
            select(table.c[unique]).where(table.c.customer_id == keep_id)))
    key = table.c.id if "id" in table.c else table.c.tag
    return sorted(session.execute(stmt.values(customer_id=keep_id, **extra).returning(key))
                  .scalars())


def _move_contacts(session: Session, keep_id: int, absorb_id: int) -> list[int]:
    c = Customer.__table__.c
    stmt = (update(Customer.__table__)
            .where(c.company_id == absorb_id, c.id != keep_id)
            .values(company_id=keep_id, version=c.version + 1, updated_at=utcnow())
            .returning(c.id))
    return sorted(session.execute(stmt).scalars())


def _move_all(session: Session, keep_id: int, absorb_id: int) -> dict:
    tickets = Ticket.__table__
    moved = {
        "phones": _move(session, Phone.__table__, keep_id, absorb_id, unique="e164"),
        "emails": _move(session, Email.__table__, keep_id, absorb_id, unique="address"),
        "tags": _move(session, CustomerTag.__table__, keep_id, absorb_id, unique="tag"),
        "interactions": _move(session, Interaction.__table__, keep_id, absorb_id),
        # a moved ticket has changed: whoever is editing it must reload
        "tickets": _move(session, tickets, keep_id, absorb_id, version=tickets.c.version + 1,
                         updated_at=utcnow()),
        "callbacks": _move(session, Callback.__table__, keep_id, absorb_id),
        "contacts": _move_contacts(session, keep_id, absorb_id),
    }
    return {name: {"count": len(values), "tags" if name == "tags" else "ids": values}
            for name, values in moved.items()}


def _fill_empty(keep: Customer, absorbed: dict) -> dict:
    """Copy the absorbed record's values into the kept record's empty fields."""
    if keep.company_id == absorbed["id"]:
        keep.company_id = None  # they are one now: it cannot be its own company
    filled = {}
    for name in FILLABLE:
        value = absorbed[name]
        if name == "company_id" and value == keep.id:
            continue
        if getattr(keep, name) in (None, "") and value not in (None, ""):
            setattr(keep, name, value)
            filled[name] = value
    extra = {k: v for k, v in absorbed["custom_fields"].items() if k not in keep.custom_fields}
    if extra:
        keep.custom_fields = {**keep.custom_fields, **extra}
        filled["custom_fields"] = extra
    return filled


def _already_kept(keep: Customer, absorbed: dict) -> dict:
    """What the absorbed record had that the kept one has too: dropped, not moved."""
    phones, emails = {p.e164 for p in keep.phones}, {e.address for e in keep.emails}
    tags = {t.tag for t in keep.tags}
    return {"phones": [p["e164"] for p in absorbed["phones"] if p["e164"] in phones],
            "emails": [e["address"] for e in absorbed["emails"] if e["address"] in emails],
            "tags": [t for t in absorbed["tags"] if t in tags]}


def merge_customers(session: Session, keep_id: int, absorb_id: int, *,
                    actor_id: int | None = None) -> Customer:
    """Move everything of ``absorb_id`` onto ``keep_id``, fill the kept record's
    empty fields (never overwriting), delete the absorbed record, audit once."""
    if keep_id == absorb_id:
        raise ValidationError.one("absorb_id", "a customer cannot be merged into itself")
    session.flush()  # our bulk statements must not overtake pending ORM changes
    keep, absorb = _lock_both(session, keep_id, absorb_id)
    _check(keep, absorb)
    absorbed, had_version = customer_as_dict(absorb), keep.version
    dropped = _already_kept(keep, absorbed)
    moved = _move_all(session, keep_id, absorb_id)
    session.execute(delete(Customer.__table__).where(Customer.__table__.c.id == absorb_id))
    # The session still holds the absorbed record and rows that have moved:
    # forget the one, reload the others from the database.
    session.expunge(absorb)
    session.expire_all()
    filled = _fill_empty(keep, absorbed)
    keep.updated_at = utcnow()  # the kept record changed: its version moves
    audit.record(session, actor_id=actor_id, entity="customer", entity_id=keep_id, action="merge",
                 changes={"absorbed": absorbed, "moved": moved,
                          "dropped": dropped, "filled": filled})
    flush_customer(session, keep_id, had_version)
    return keep
