"""The interaction service: how calls land in (and are read from) the history."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import audit
from .errors import NotFound, ValidationError
from .validation import clean_long_text
from .models import (LINK_KINDS, SEGMENT_KINDS, Customer, Interaction, InteractionLink,
                     InteractionSegment)

FINAL = ("completed", "lost")
NOTES_MAX = 20_000  # characters of an agent's notes on one interaction


@dataclass(frozen=True)
class CallFacts:
    """Everything the engine knows about one call at one moment (a full snapshot)."""
    linkedid: str
    direction: str
    started_at: datetime
    caller_number: str = ""
    caller_name: str = ""
    dialled_number: str = ""
    keys_pressed: str = ""
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    hangup_cause: int | None = None
    hangup_cause_text: str = ""
    status: str = "in_progress"


def _clip(value: str, limit: int) -> str:
    # Caller ID and DID come from outside: keep the row, drop control characters.
    cleaned = "".join(ch for ch in value if ch.isprintable())
    return cleaned[:limit]


def _row(facts: CallFacts) -> dict:
    row = asdict(facts)
    for name, limit in (("caller_number", 64), ("caller_name", 128), ("dialled_number", 64),
                        ("keys_pressed", 256), ("hangup_cause_text", 128)):
        row[name] = _clip(row[name], limit)
    row["channel"] = "call"
    row["notes"] = ""
    return row


def save_call(session: Session, facts: CallFacts, *, customer_id: int | None = None) -> None:
    """Insert or update the call's row by linkedid. Idempotent, so a retried or
    repeated snapshot is harmless; a final row is never turned back to in progress.
    ``customer_id`` fills an empty customer link and never replaces one (an agent
    may have linked the call by hand)."""
    if facts.status not in ("in_progress", *FINAL):
        raise ValueError(f"unknown call status {facts.status!r}")
    row = _row(facts)
    row["customer_id"] = customer_id
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    stmt = insert(Interaction).values(**row)
    changes = {k: stmt.excluded[k] for k in row
               if k not in ("linkedid", "channel", "notes", "customer_id")}
    changes["customer_id"] = func.coalesce(Interaction.customer_id, stmt.excluded.customer_id)
    stmt = stmt.on_conflict_do_update(index_elements=["linkedid"], set_=changes,
                                      where=Interaction.status == "in_progress")
    session.execute(stmt)


def open_call_ids(session: Session) -> set[str]:
    rows = session.scalars(select(Interaction.linkedid).where(
        Interaction.status == "in_progress", Interaction.channel == "call"))
    return set(rows)


def mark_lost(session: Session, linkedids: set[str], at: datetime, reason: str) -> int:
    """Close calls the platform lost sight of; they stay in the history."""
    if not linkedids:
        return 0
    result = session.execute(
        update(Interaction)
        .where(Interaction.linkedid.in_(linkedids), Interaction.status == "in_progress")
        .values(status="lost", ended_at=at, hangup_cause_text=_clip(reason, 128)))
    return result.rowcount


def recent(session: Session, limit: int = 50) -> list[Interaction]:
    return list(session.scalars(select(Interaction).order_by(
        Interaction.started_at.desc(), Interaction.id.desc()).limit(limit)))


def recent_with_customers(session: Session, limit: int = 50) -> list[tuple[Interaction, str | None]]:
    """The newest interactions with their customer's name (None: not linked)."""
    rows = session.execute(select(Interaction, Customer.name)
                           .outerjoin(Customer, Customer.id == Interaction.customer_id)
                           .order_by(Interaction.started_at.desc(), Interaction.id.desc())
                           .limit(limit))
    return [(i, name) for i, name in rows]


def by_linkedid(session: Session, linkedid: str) -> Interaction | None:
    return session.scalar(select(Interaction).where(Interaction.linkedid == linkedid))


def _interaction_id(session: Session, linkedid_or_id: str | int) -> int:
    """Segments and links are written by the engine, which knows calls by linkedid."""
    if isinstance(linkedid_or_id, int):
        found = session.get(Interaction, linkedid_or_id)
    else:
        found = by_linkedid(session, linkedid_or_id)
    if found is None:
        raise NotFound(f"interaction {linkedid_or_id!r} does not exist")
    return found.id


def add_segment(session: Session, interaction: str | int, kind: str, started_at: datetime, *,
                ended_at: datetime | None = None, agent_id: int | None = None,
                detail: dict | None = None) -> InteractionSegment:
    """A stretch of a call: time in the IVR (with its path), a queue, with an agent.

    An ``agent`` segment with an ``agent_id`` also makes that user the
    interaction's agent (the last agent who talked), unless a later agent
    segment is already recorded."""
    if kind not in SEGMENT_KINDS:
        raise ValidationError.one("kind", f"must be one of {', '.join(SEGMENT_KINDS)}")
    if ended_at is not None and ended_at < started_at:
        raise ValidationError.one("ended_at", "is before started_at")
    interaction_id = _interaction_id(session, interaction)
    segment = InteractionSegment(interaction_id=interaction_id, kind=kind,
                                 started_at=started_at, ended_at=ended_at, agent_id=agent_id,
                                 detail=detail or {})
    if kind == "agent" and agent_id is not None:
        later = session.scalar(select(InteractionSegment.id).where(
            InteractionSegment.interaction_id == interaction_id,
            InteractionSegment.kind == "agent", InteractionSegment.agent_id.is_not(None),
            InteractionSegment.started_at > started_at).limit(1))
        if later is None:
            session.execute(update(Interaction).where(Interaction.id == interaction_id)
                            .values(agent_id=agent_id))
    session.add(segment)
    session.flush()
    return segment


def add_link(session: Session, interaction: str | int, kind: str, ref: str, *,
             meta: dict | None = None) -> InteractionLink:
    """A recording, transcript, fax or document that belongs to the interaction."""
    if kind not in LINK_KINDS:
        raise ValidationError.one("kind", f"must be one of {', '.join(LINK_KINDS)}")
    if not ref or len(ref) > 500 or not ref.isprintable():
        raise ValidationError.one("ref", "1-500 printable characters")
    link = InteractionLink(interaction_id=_interaction_id(session, interaction), kind=kind, ref=ref,
                           meta=meta or {})
    session.add(link)
    session.flush()
    return link


def link_customer(session: Session, interaction_id: int, customer_id: int, *,
                  actor_id: int | None = None) -> Interaction:
    """An agent says whose call this is (a shared number, an unknown caller just
    created): the interaction moves to that customer's timeline. Audited."""
    interaction = session.get(Interaction, interaction_id)
    if interaction is None:
        raise NotFound(f"no interaction {interaction_id}", interaction_id=interaction_id)
    if session.get(Customer, customer_id) is None:
        raise ValidationError.one("customer_id", f"no customer {customer_id}")
    before = interaction.customer_id
    if before != customer_id:
        interaction.customer_id = customer_id
        audit.record(session, actor_id=actor_id, entity="interaction", entity_id=interaction.id,
                     action="update", changes=audit.diff({"customer_id": before},
                                                         {"customer_id": customer_id}))
    return interaction


def set_notes(session: Session, interaction_id: int, notes, *,
              actor_id: int | None = None) -> Interaction:
    """The agent's notes on an interaction (editable during and after the call). Audited."""
    errors: dict[str, str] = {}
    clean = clean_long_text(notes, "notes", NOTES_MAX, errors)
    if errors:
        raise ValidationError(errors)
    interaction = session.get(Interaction, interaction_id)
    if interaction is None:
        raise NotFound(f"no interaction {interaction_id}", interaction_id=interaction_id)
    if interaction.notes != clean:
        before = interaction.notes
        interaction.notes = clean
        audit.record(session, actor_id=actor_id, entity="interaction", entity_id=interaction.id,
                     action="update", changes=audit.diff({"notes": before}, {"notes": clean}))
    return interaction


def segments_of(session: Session, interaction_id: int) -> list[InteractionSegment]:
    return list(session.scalars(select(InteractionSegment).where(
        InteractionSegment.interaction_id == interaction_id).order_by(
        InteractionSegment.started_at, InteractionSegment.id)))


def links_of(session: Session, interaction_id: int) -> list[InteractionLink]:
    return list(session.scalars(select(InteractionLink).where(
        InteractionLink.interaction_id == interaction_id).order_by(InteractionLink.id)))
