"""Tickets: a customer's request followed to its end, with an SLA clock.

Edits are optimistic: the caller says which version it read, and a ticket that
changed since then is a Conflict rather than a silent overwrite.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import audit
from .errors import Conflict, NotFound, ValidationError
from .models import (OPEN_TICKET_STATUSES, TICKET_PRIORITIES, TICKET_STATUSES, Customer,
                     Interaction, Ticket, TicketInteraction, User)
from .validation import clean_long_text, clean_text

SLA_HOURS = {"urgent": 4, "high": 8, "normal": 24, "low": 72}
TRANSITIONS = {
    "new": {"open", "pending", "resolved", "closed"},
    "open": {"pending", "resolved", "closed"},
    "pending": {"open", "resolved", "closed"},
    "resolved": {"open", "closed"},
    "closed": {"open"},
}
EDITABLE = ("subject", "description", "status", "priority", "category", "assignee_id",
            "sla_due_at")
DESCRIPTION_MAX = 20_000
MAX_PAGE = 500
COLUMNS = ("id", "customer_id", "subject", "description", "status", "priority", "category",
           "sla_due_at", "assignee_id", "escalation_level", "escalated_at", "created_at",
           "updated_at", "closed_at", "version")


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _sla_due(priority: str, start: datetime) -> datetime:
    return start + timedelta(hours=SLA_HOURS[priority])


def _clean_description(value, errors: dict) -> str | None:
    return clean_long_text(value, "description", DESCRIPTION_MAX, errors)


def _check_fields(session: Session, data: dict, errors: dict) -> dict:
    """The cleaned values of the fields in ``data`` (all but status)."""
    out: dict = {}
    if "subject" in data:
        out["subject"] = clean_text(data["subject"], "subject", 200, errors, required=True)
    if "description" in data:
        out["description"] = _clean_description(data["description"], errors)
    if "category" in data:
        out["category"] = clean_text(data["category"], "category", 64, errors)
    if "priority" in data:
        if data["priority"] not in TICKET_PRIORITIES:
            errors["priority"] = f"must be one of {', '.join(TICKET_PRIORITIES)}"
        out["priority"] = data["priority"]
    assignee = data.get("assignee_id")
    if assignee is not None and (not isinstance(assignee, int) or isinstance(assignee, bool)
                                 or session.get(User, assignee) is None):
        errors["assignee_id"] = "no such user"
    if "assignee_id" in data:
        out["assignee_id"] = data["assignee_id"]
    if data.get("sla_due_at") is not None:
        due = data["sla_due_at"]
        if not isinstance(due, datetime) or due.tzinfo is None:
            errors["sla_due_at"] = "must be an aware datetime"
    if "sla_due_at" in data:
        out["sla_due_at"] = data["sla_due_at"]
    return out


def create_ticket(session: Session, customer_id: int, subject: str, *, description: str = "",
                  priority: str = "normal", category: str = "", assignee_id: int | None = None,
                  sla_due_at: datetime | None = None, actor_id: int | None = None,
                  now: datetime | None = None) -> Ticket:
    now = _now(now)
    errors: dict[str, str] = {}
    if session.get(Customer, customer_id) is None:
        errors["customer_id"] = "no such customer"
    fields = _check_fields(session, {"subject": subject, "description": description,
                                     "priority": priority, "category": category,
                                     "assignee_id": assignee_id, "sla_due_at": sla_due_at},
                           errors)
    if errors:
        raise ValidationError(errors)
    fields["sla_due_at"] = sla_due_at or _sla_due(priority, now)
    ticket = Ticket(customer_id=customer_id, status="new", escalation_level=0, created_at=now,
                    updated_at=now, **fields)
    session.add(ticket)
    session.flush()
    audit.record(session, actor_id=actor_id, entity="ticket", entity_id=ticket.id,
                 action="create", changes=audit.diff({}, _snapshot(ticket)))
    return ticket


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}", ticket_id=ticket_id)
    return ticket


def _status_effects(ticket: Ticket, new: str, fields: dict, now: datetime) -> dict:
    """What entering status ``new`` also changes: the closing time, and on a
    reopen a fresh SLA clock (unless the caller set one)."""
    effects: dict = {"status": new}
    if new in ("resolved", "closed"):
        # closed_at is when the ticket stopped being open: resolved -> closed keeps it.
        effects["closed_at"] = ticket.closed_at or now
    elif ticket.status in ("resolved", "closed"):
        effects["closed_at"] = None
        if fields.get("sla_due_at") is None:
            effects["sla_due_at"] = _sla_due(fields.get("priority", ticket.priority), now)
    return effects


def _check_changes(session: Session, ticket: Ticket, changes: dict, now: datetime) -> dict:
    if not isinstance(changes, dict):
        raise ValidationError.one("changes", "must be an object")
    errors = {key: "cannot be changed" for key in changes if key not in EDITABLE}
    fields = _check_fields(session, changes, errors)
    status = changes.get("status", ticket.status)
    if status != ticket.status:
        if status not in TICKET_STATUSES:
            errors["status"] = f"must be one of {', '.join(TICKET_STATUSES)}"
        elif status not in TRANSITIONS[ticket.status]:
            errors["status"] = f"a {ticket.status} ticket cannot become {status}"
        else:
            fields.update(_status_effects(ticket, status, fields, now))
    if errors:
        raise ValidationError(errors)
    return fields


def update_ticket(session: Session, ticket_id: int, changes: dict, *, expected_version: int,
                  actor_id: int | None = None, now: datetime | None = None) -> Ticket:
    """Apply ``changes`` to the ticket read at ``expected_version``. A status equal
    to the current one is no transition and is accepted as no change."""
    now = _now(now)
    ticket = get_ticket(session, ticket_id)
    if ticket.version != expected_version:
        raise Conflict(f"ticket {ticket_id} is at version {ticket.version}, "
                       f"not {expected_version}", version=ticket.version)
    fields = _check_changes(session, ticket, changes, now)
    before = _snapshot(ticket)
    for key, value in fields.items():
        setattr(ticket, key, value)
    changed = audit.diff(before, _snapshot(ticket))
    if not changed:
        return ticket
    ticket.updated_at = now
    _flush_or_conflict(session, f"ticket {ticket_id}")
    audit.record(session, actor_id=actor_id, entity="ticket", entity_id=ticket.id,
                 action="update", changes=changed)
    return ticket


def _flush_or_conflict(session: Session, what: str) -> None:
    # The version check above saw this session's copy; another transaction may
    # have committed since, which the versioned UPDATE finds as zero rows.
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(f"{what} was changed by someone else meanwhile") from None


def _snapshot(ticket: Ticket) -> dict:
    return {key: getattr(ticket, key) for key in EDITABLE + ("closed_at",)}


def link_interaction(session: Session, ticket_id: int, interaction_id: int) -> None:
    """Idempotent: linking twice (or concurrently) leaves one link."""
    get_ticket(session, ticket_id)
    if session.get(Interaction, interaction_id) is None:
        raise NotFound(f"no interaction {interaction_id}", interaction_id=interaction_id)
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[
        session.get_bind().dialect.name]
    session.execute(insert(TicketInteraction)
                    .values(ticket_id=ticket_id, interaction_id=interaction_id)
                    .on_conflict_do_nothing(index_elements=["ticket_id", "interaction_id"]))


def linked_interactions(session: Session, ticket_id: int) -> list[int]:
    return list(session.scalars(select(TicketInteraction.interaction_id).where(
        TicketInteraction.ticket_id == ticket_id).order_by(TicketInteraction.interaction_id)))


def open_tickets(session: Session, customer_id: int) -> list[Ticket]:
    """The customer's open tickets, the most urgent deadline first."""
    return list(session.scalars(select(Ticket).where(
        Ticket.customer_id == customer_id, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.sla_due_at, Ticket.id)))


def list_tickets(session: Session, *, status: str | None = None, assignee_id: int | None = None,
                 overdue_at: datetime | None = None, limit: int = 50,
                 offset: int = 0) -> list[Ticket]:
    """Newest first; with ``overdue_at``, only open tickets past their SLA then,
    the longest overdue first."""
    if status is not None and status not in TICKET_STATUSES:
        raise ValidationError.one("status", f"must be one of {', '.join(TICKET_STATUSES)}")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ValidationError.one("limit", f"limit 1-{MAX_PAGE}, offset not negative")
    query = select(Ticket).order_by(Ticket.id.desc())
    if status is not None:
        query = query.where(Ticket.status == status)
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    if overdue_at is not None:
        query = query.where(Ticket.status.in_(OPEN_TICKET_STATUSES),
                            Ticket.sla_due_at < overdue_at)
        query = query.order_by(None).order_by(Ticket.sla_due_at, Ticket.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def _raise_priority(priority: str) -> str:
    return TICKET_PRIORITIES[min(TICKET_PRIORITIES.index(priority) + 1,
                                 len(TICKET_PRIORITIES) - 1)]


def _due_for_escalation(ticket: Ticket, now: datetime) -> bool:
    # Once escalated, a ticket waits one SLA period (of its new priority) before
    # the next step, so a job run every minute does not escalate it every minute.
    period = timedelta(hours=SLA_HOURS[ticket.priority])
    return ticket.escalated_at is None or ticket.escalated_at <= now - period


def escalate_overdue(session: Session, *, now: datetime | None = None,
                     actor_id: int | None = None) -> list[Ticket]:
    """Raise every overdue open ticket one step; the tickets escalated."""
    now = _now(now)
    overdue = session.scalars(select(Ticket).where(
        Ticket.status.in_(OPEN_TICKET_STATUSES), Ticket.sla_due_at < now)
        .order_by(Ticket.sla_due_at, Ticket.id))
    escalated = [t for t in overdue if _due_for_escalation(t, now)]
    for ticket in escalated:
        before = {"priority": ticket.priority, "escalation_level": ticket.escalation_level}
        ticket.priority = _raise_priority(ticket.priority)
        ticket.escalation_level += 1
        ticket.escalated_at = ticket.updated_at = now
        audit.record(session, actor_id=actor_id, entity="ticket", entity_id=ticket.id,
                     action="escalate", changes=audit.diff(before, {
                         "priority": ticket.priority, "escalation_level": ticket.escalation_level}))
    _flush_or_conflict(session, "a ticket being escalated")
    return escalated


def ticket_as_dict(t: Ticket) -> dict:
    out = {key: getattr(t, key) for key in COLUMNS}
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in out.items()}
