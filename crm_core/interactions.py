"""The interaction service: how calls land in (and are read from) the history."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import Interaction

FINAL = ("completed", "lost")


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


def save_call(session: Session, facts: CallFacts) -> None:
    """Insert or update the call's row by linkedid. Idempotent, so a retried or
    repeated snapshot is harmless; a final row is never turned back to in progress."""
    if facts.status not in ("in_progress", *FINAL):
        raise ValueError(f"unknown call status {facts.status!r}")
    row = _row(facts)
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    stmt = insert(Interaction).values(**row)
    changes = {k: stmt.excluded[k] for k in row if k not in ("linkedid", "channel", "notes")}
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


def by_linkedid(session: Session, linkedid: str) -> Interaction | None:
    return session.scalar(select(Interaction).where(Interaction.linkedid == linkedid))
