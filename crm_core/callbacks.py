"""Callbacks: a promise to call a customer back at a time that is theirs.

Agents and customers speak in local wall-clock time ("tomorrow at 9"), so a
naive ``due`` is read in the customer's time zone and stored in UTC, with the
zone kept beside it to show the time back the way it was promised.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import audit, dnc
from .errors import Conflict, NotFound, ValidationError
from .models import Callback, Customer, Interaction, User
from .phones import normalize
from .validation import clean_long_text, clean_text, valid_timezone

TRANSITIONS = {"pending": {"in_progress", "cancelled"},
               "in_progress": {"done", "failed", "pending"}}
PAST_GRACE = timedelta(minutes=1)  # "now" typed into a form is a few seconds old on arrival
NOTE_MAX = 20_000  # as long as an interaction's notes
MAX_PAGE = 1000


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(dt_timezone.utc)


def local_to_utc(wall: datetime, zone_name: str) -> datetime:
    """A naive wall-clock time in ``zone_name`` as aware UTC.

    A time that does not exist there (skipped by a spring-forward) is refused,
    since any guess would call at an hour nobody asked for. A time that occurs
    twice (autumn fall-back) means its first occurrence, the earlier instant,
    so a promise is never kept late.
    """
    zone = ZoneInfo(zone_name)
    local = wall.replace(tzinfo=zone, fold=0)
    utc = local.astimezone(dt_timezone.utc)
    if utc.astimezone(zone).replace(tzinfo=None) != wall.replace(fold=0):
        raise ValidationError.one("due", f"{wall:%Y-%m-%d %H:%M} does not exist in {zone_name} "
                                         "(the clocks skip it)")
    return utc


def _check_target(session: Session, agent_id, queue, errors: dict) -> str:
    queue = clean_text(queue, "queue", 64, errors) or ""
    if (agent_id is None) == (not queue):
        errors["target"] = "give exactly one of agent_id or queue"
    elif agent_id is not None:
        agent = session.get(User, agent_id) if isinstance(agent_id, int) else None
        if agent is None or not agent.active:
            errors["agent_id"] = "no such active user"
    return queue


def _check_links(session: Session, customer_id, interaction_id, errors: dict) -> Customer | None:
    customer = None
    if customer_id is not None:
        customer = session.get(Customer, customer_id) if isinstance(customer_id, int) else None
        if customer is None:
            errors["customer_id"] = "no such customer"
    if interaction_id is not None and (not isinstance(interaction_id, int)
                                       or session.get(Interaction, interaction_id) is None):
        errors["interaction_id"] = "no such interaction"
    return customer


def _check_due(due, zone_name: str | None, now: datetime, errors: dict) -> datetime | None:
    if not isinstance(due, datetime):
        errors["due"] = "must be a date and time"
        return None
    try:
        due_utc = due.astimezone(dt_timezone.utc) if due.tzinfo else local_to_utc(due, zone_name)
    except ValidationError as exc:
        errors.update(exc.errors)
        return None
    if due_utc < now - PAST_GRACE:
        errors["due"] = "is in the past"
        return None
    return due_utc


def _clean_note(value, errors: dict) -> str:
    return clean_long_text(value, "note", NOTE_MAX, errors) or ""


def _check_phone(session: Session, phone, region: str, errors: dict) -> str:
    try:
        e164 = normalize(phone, region, field="phone")
    except ValidationError as exc:
        errors.update(exc.errors)
        return ""
    if dnc.is_blocked(session, e164):
        errors["phone"] = "on the do-not-call list"
    return e164


def schedule_callback(session: Session, *, phone: str, due: datetime, timezone: str | None = None,
                      customer_id: int | None = None, agent_id: int | None = None,
                      queue: str = "", note: str = "", interaction_id: int | None = None,
                      region: str = "US", actor_id: int | None = None,
                      now: datetime | None = None) -> Callback:
    """A pending callback for one agent or one queue. A naive ``due`` is wall-clock
    time in ``timezone`` (default: the customer's, else UTC); see local_to_utc."""
    now = _now(now)
    errors: dict[str, str] = {}
    e164 = _check_phone(session, phone, region, errors)
    queue = _check_target(session, agent_id, queue, errors)
    customer = _check_links(session, customer_id, interaction_id, errors)
    zone_name = timezone or (customer.timezone if customer else "UTC")
    if not isinstance(zone_name, str) or not valid_timezone(zone_name):
        errors["timezone"] = "an IANA time zone like Europe/Berlin or Asia/Shanghai"
        zone_name = None
    due_utc = _check_due(due, zone_name, now, errors) if zone_name else None
    clean_note = _clean_note(note, errors)
    if errors:
        raise ValidationError(errors)
    callback = Callback(customer_id=customer_id, phone_e164=e164, due_at=due_utc,
                        timezone=zone_name, agent_id=agent_id, queue=queue, state="pending",
                        note=clean_note, interaction_id=interaction_id, attempts=0,
                        created_at=now)
    session.add(callback)
    session.flush()
    audit.record(session, actor_id=actor_id, entity="callback", entity_id=callback.id,
                 action="create", changes=audit.diff({}, _snapshot(callback)))
    return callback


def get_callback(session: Session, callback_id: int) -> Callback:
    callback = session.get(Callback, callback_id)
    if callback is None:
        raise NotFound(f"no callback {callback_id}", callback_id=callback_id)
    return callback


def due_callbacks(session: Session, *, now: datetime | None = None,
                  limit: int = 100) -> list[Callback]:
    """Pending callbacks whose time has come, the oldest promise first."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError.one("limit", f"1-{MAX_PAGE}")
    return list(session.scalars(select(Callback).where(
        Callback.state == "pending", Callback.due_at <= _now(now))
        .order_by(Callback.due_at, Callback.id).limit(limit)))


def set_state(session: Session, callback_id: int, state: str, *,
              actor_id: int | None = None) -> Callback:
    """Move a callback on; a retry (in_progress -> pending) counts an attempt.

    The change is a compare-and-set on the state, so two dialers that picked
    the same due callback cannot both start it: the second gets a Conflict.
    """
    callback = session.get(Callback, callback_id, populate_existing=True)
    if callback is None:
        raise NotFound(f"no callback {callback_id}", callback_id=callback_id)
    old = callback.state
    if state not in TRANSITIONS.get(old, ()):
        raise ValidationError.one("state", f"a {old} callback cannot become {state!r}")
    retry = 1 if (old, state) == ("in_progress", "pending") else 0
    done = session.execute(update(Callback).where(Callback.id == callback_id,
                                                  Callback.state == old)
                           .values(state=state, attempts=Callback.attempts + retry)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(f"callback {callback_id} changed state meanwhile")
    session.refresh(callback)
    audit.record(session, actor_id=actor_id, entity="callback", entity_id=callback_id,
                 action="update", changes={"state": [old, state],
                                           **({"attempts": callback.attempts} if retry else {})})
    return callback


def pending_for_customer(session: Session, customer_id: int) -> list[Callback]:
    return list(session.scalars(select(Callback).where(
        Callback.customer_id == customer_id, Callback.state == "pending")
        .order_by(Callback.due_at, Callback.id)))


def _snapshot(c: Callback) -> dict:
    return {"phone_e164": c.phone_e164, "due_at": c.due_at, "timezone": c.timezone,
            "customer_id": c.customer_id, "agent_id": c.agent_id, "queue": c.queue,
            "note": c.note, "interaction_id": c.interaction_id, "state": c.state}


def callback_as_dict(c: Callback) -> dict:
    out = {"id": c.id, **_snapshot(c), "attempts": c.attempts,
           "created_at": c.created_at.isoformat() if c.created_at else None}
    out["due_at"] = c.due_at.astimezone(dt_timezone.utc).isoformat()
    out["due_local"] = c.due_at.astimezone(ZoneInfo(c.timezone)).isoformat()
    return out
