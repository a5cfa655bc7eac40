"""The audit log: who changed what and when. Written in the same transaction as
the change it describes, so there is never a change without its entry."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEntry

ENTITIES = ("customer", "ticket", "disposition", "callback", "dnc", "user", "interaction",
            "agent")
ACTIONS = ("create", "update", "delete", "merge", "escalate")


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def diff(before: dict, after: dict) -> dict:
    """{field: [old, new]} for the fields whose value changed."""
    return {k: [_plain(before.get(k)), _plain(after.get(k))]
            for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def record(session: Session, *, actor_id: int | None, entity: str, entity_id, action: str,
           changes: dict | None = None) -> AuditEntry:
    if entity not in ENTITIES or action not in ACTIONS:
        raise ValueError(f"unknown audit entity/action {entity}/{action}")
    entry = AuditEntry(user_id=actor_id, entity=entity, entity_id=str(entity_id), action=action,
                       changes=_plain(changes or {}))
    session.add(entry)
    return entry


def history(session: Session, entity: str, entity_id) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(
        AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id)).order_by(AuditEntry.id)))
