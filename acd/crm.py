"""What the ACD asks the CRM, and the callbacks it keeps there.

Plain synchronous functions taking a ``sessionmaker``; the asyncio adapter runs
them in a worker thread (``asyncio.to_thread``) so the event loop never waits on
the database. Each function is one short transaction and returns plain data
(no ORM objects leave here).

Virtual hold: a caller who asks to be called back while waiting keeps their
place in the line; the promise is saved at once as a ``pending`` callback of
the queue, due now, so it survives a restart of the engine (``due_callbacks``
hands it back then). While the router holds it, pass its id in ``exclude``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Collection, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from crm_core import agent_skills, audit, callbacks, dnc, lookup, outbound
from crm_core.errors import NotFound, PermissionDenied, ValidationError
from crm_core.interactions import by_linkedid
from crm_core.models import (OPEN_TICKET_STATUSES, Customer, Interaction, InteractionSegment,
                             Ticket, User)
from crm_core.validation import clean_long_text

__all__ = ["CallerContext", "DueCallback", "caller_context", "agent_profile",
           "save_virtual_hold", "mark_callback", "due_callbacks", "supervisor_id", "may_dial",
           "claim_outbound", "audit_agent"]

SUPERVISING_ROLES = ("supervisor", "admin")

NOTE_MAX = callbacks.NOTE_MAX


@dataclass(frozen=True)
class CallerContext:
    """The CRM facts routing uses: who it is, VIP, who served them last."""
    customer_id: int | None = None
    vip: bool = False
    last_agent: str | None = None  # username
    open_tickets: int = 0


@dataclass(frozen=True)
class DueCallback:
    """A pending callback whose time has come, as the ACD places it."""
    id: int
    phone_e164: str
    queue: str  # "" when it is for one agent
    agent: str | None  # username of the agent it is promised by (None: the queue's)
    agent_id: int | None
    customer_id: int | None
    due_at: float  # Unix seconds
    attempts: int
    note: str
    interaction_id: int | None


def _utc(value: datetime | float | None) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware one or Unix seconds")
        return value.astimezone(timezone.utc)
    return datetime.fromtimestamp(float(value), timezone.utc)


def caller_context(sessions: sessionmaker, *, customer_id: int | None,
                   caller_e164: str | None, vip_levels: Iterable[str] = ("vip",)) -> CallerContext:
    """The routing facts of a caller. Without ``customer_id`` the caller's number is
    looked up and used only when exactly one customer has it (a shared office
    line names nobody). An unknown customer gives an empty context."""
    vip_levels = tuple(vip_levels)
    with sessions() as s:
        if customer_id is None or customer_id == 0:
            matches = lookup.find_by_phone(s, caller_e164, limit=2) if caller_e164 else []
            if len(matches) != 1:
                return CallerContext()
            customer_id = matches[0].id
        if isinstance(customer_id, bool) or not isinstance(customer_id, int):
            return CallerContext()
        level = s.scalar(select(Customer.level).where(Customer.id == customer_id))
        if level is None:
            return CallerContext()
        last_agent = s.scalar(
            select(User.username)
            .select_from(InteractionSegment)
            .join(Interaction, Interaction.id == InteractionSegment.interaction_id)
            .join(User, User.id == InteractionSegment.agent_id)
            .where(Interaction.customer_id == customer_id, InteractionSegment.kind == "agent",
                   User.active.is_(True))
            .order_by(InteractionSegment.started_at.desc(), InteractionSegment.id.desc())
            .limit(1))
        open_tickets = s.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.customer_id == customer_id, Ticket.status.in_(OPEN_TICKET_STATUSES)))
        return CallerContext(customer_id=customer_id, vip=level in vip_levels,
                             last_agent=last_agent, open_tickets=int(open_tickets or 0))


def agent_profile(sessions: sessionmaker, username: str) -> tuple[int, dict[str, int]]:
    """(users.id, {skill: proficiency}) of an agent logging in; NotFound for an
    unknown or deactivated user."""
    with sessions() as s:
        user = s.scalar(select(User).where(User.username == username)) \
            if isinstance(username, str) else None
        if user is None or not user.active:
            raise NotFound(f"no active user {username!r}", username=username)
        return user.id, agent_skills.skills_of(s, username)


def save_virtual_hold(sessions: sessionmaker, *, phone_e164: str, queue: str,
                      customer_id: int | None, linkedid: str | None,
                      now: datetime | float | None = None) -> int:
    """Save a caller's "call me back" while waiting in ``queue``: a pending
    callback of the queue, due now, linked to the call's interaction when it is
    in the history. Returns the callback id. The callbacks' own rules apply
    (a valid number, not on the do-not-call list): ValidationError otherwise,
    and nothing is saved (keep the caller in line)."""
    at = _utc(now)
    with sessions.begin() as s:
        if customer_id is not None and (isinstance(customer_id, bool)
                                        or not isinstance(customer_id, int)
                                        or s.get(Customer, customer_id) is None):
            customer_id = None  # merged or removed meanwhile: the promise still stands
        interaction = by_linkedid(s, linkedid) if isinstance(linkedid, str) and linkedid else None
        callback = callbacks.schedule_callback(
            s, phone=phone_e164, due=at, timezone="UTC", customer_id=customer_id, queue=queue,
            note=f"asked while waiting in queue {queue}",
            interaction_id=interaction.id if interaction else None, now=at)
        return callback.id


def mark_callback(sessions: sessionmaker, callback_id: int, state: str, note: str = "") -> None:
    """Move a callback on (pending -> in_progress is the claim; in_progress ->
    done / failed, or back to pending for a retry, which counts an attempt) and
    add ``note`` as a line to its note. ValidationError for a move its state does
    not allow, Conflict when another process moved it first, NotFound."""
    errors: dict[str, str] = {}
    line = clean_long_text(note, "note", 500, errors) or ""
    if errors:
        raise ValidationError(errors)
    with sessions.begin() as s:
        callback = callbacks.set_state(s, callback_id, state)
        if line:
            text = f"{callback.note}\n{line}" if callback.note else line
            callback.note = text[-NOTE_MAX:]


def due_callbacks(sessions: sessionmaker, now: datetime | float | None = None,
                  limit: int = 100, *, exclude: Collection[int] = ()) -> list[DueCallback]:
    """Pending callbacks whose time has come, the oldest promise first: those
    agents scheduled, and virtual-hold ones left over from before a restart.
    ``exclude`` is the ids the ACD already holds."""
    if isinstance(limit, bool) or not isinstance(limit, int) \
            or not 1 <= limit <= callbacks.MAX_PAGE:
        raise ValidationError.one("limit", f"1-{callbacks.MAX_PAGE}")
    at = _utc(now)
    exclude = set(exclude)
    with sessions() as s:
        rows = callbacks.due_callbacks(s, now=at, limit=min(callbacks.MAX_PAGE,
                                                            limit + len(exclude)))
        rows = [c for c in rows if c.id not in exclude][:limit]
        agent_ids = {c.agent_id for c in rows if c.agent_id is not None}
        names = dict(s.execute(select(User.id, User.username)
                               .where(User.id.in_(agent_ids))).all()) if agent_ids else {}
        return [DueCallback(id=c.id, phone_e164=c.phone_e164, queue=c.queue,
                            agent=names.get(c.agent_id), agent_id=c.agent_id,
                            customer_id=c.customer_id, due_at=c.due_at.timestamp(),
                            attempts=c.attempts, note=c.note, interaction_id=c.interaction_id)
                for c in rows]


def supervisor_id(sessions: sessionmaker, username: str) -> int:
    """users.id of an active supervisor or admin; NotFound for an unknown or
    deactivated user, PermissionDenied for anyone else."""
    with sessions() as s:
        user = s.scalar(select(User).where(User.username == username)) \
            if isinstance(username, str) else None
        if user is None or not user.active:
            raise NotFound(f"no active user {username!r}", username=username)
        if user.role not in SUPERVISING_ROLES:
            raise PermissionDenied(f"{username} is not a supervisor", username=username)
        return user.id


def may_dial(sessions: sessionmaker, number_e164: str, customer_id: int | None,
             region: str) -> None:
    """Raise when an agent may not dial ``number_e164`` for ``customer_id``:
    NotFound for an unknown customer, ValidationError for a number on the
    do-not-call list."""
    with sessions() as s:
        if customer_id is not None and s.get(Customer, customer_id) is None:
            raise NotFound(f"no customer {customer_id}", customer_id=customer_id)
        if dnc.is_blocked(s, number_e164, region=region):
            raise ValidationError.one("number", f"{number_e164} is on the do-not-call list")


def claim_outbound(sessions: sessionmaker, facts, customer_id: int) -> None:
    """Link an outbound call's interaction to the customer it was dialled for."""
    with sessions.begin() as s:
        outbound.claim_customer(s, facts, customer_id)


def audit_agent(sessions: sessionmaker, actor_id: int, agent: str, changes: dict) -> None:
    """A supervisor changed an agent's ACD state: one audit entry."""
    with sessions.begin() as s:
        audit.record(s, actor_id=actor_id, entity="agent", entity_id=agent, action="update",
                     changes=changes)
