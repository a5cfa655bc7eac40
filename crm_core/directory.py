"""Who is who, for pages that show records by id: the names of users and
customers, the users a ticket can be assigned to, and a short summary of a
call's way through the centre.

Each function is one query for a whole page of ids, never one per row, so a
page of 25 timeline entries or 50 tickets costs the same few round trips.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .card import interaction_as_dict
from .models import Customer, Interaction, InteractionSegment, User

ASSIGNABLE_MAX = 1000  # a select of more people than this is a search, not a list


def _ids(values: Iterable[int | None]) -> list[int]:
    return sorted({v for v in values if isinstance(v, int) and not isinstance(v, bool)})


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """{user id: display name, else username}; ids of deleted users are left out."""
    wanted = _ids(ids)
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username, User.display_name)
                           .where(User.id.in_(wanted)))
    return {row.id: row.display_name or row.username for row in rows}


def customer_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """{customer id: name}; ids of deleted customers are left out."""
    wanted = _ids(ids)
    if not wanted:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(wanted)))
    return {row.id: row.name for row in rows}


def assignable_users(session: Session) -> list[dict]:
    """The active users, by name: who a ticket can be given to."""
    shown = func.coalesce(func.nullif(User.display_name, ""), User.username)
    rows = session.execute(select(User.id, User.username, User.display_name, User.role)
                           .where(User.active.is_(True))
                           .order_by(shown, User.id).limit(ASSIGNABLE_MAX))
    return [{"id": row.id, "name": row.display_name or row.username, "username": row.username,
             "role": row.role} for row in rows]


def segment_paths(session: Session, interaction_ids: Iterable[int]) -> dict[int, list[str]]:
    """{interaction id: its segment kinds in time order}, e.g. ivr, queue, agent;
    interactions without segments are left out."""
    wanted = _ids(interaction_ids)
    if not wanted:
        return {}
    rows = session.execute(select(InteractionSegment.interaction_id, InteractionSegment.kind)
                           .where(InteractionSegment.interaction_id.in_(wanted))
                           .order_by(InteractionSegment.interaction_id,
                                     InteractionSegment.started_at, InteractionSegment.id))
    paths: dict[int, list[str]] = {}
    for row in rows:
        paths.setdefault(row.interaction_id, []).append(row.kind)
    return paths


def interactions_by_id(session: Session, ids: Iterable[int]) -> list[dict]:
    """The interactions with these ids, newest first (a ticket's linked calls)."""
    wanted = _ids(ids)
    if not wanted:
        return []
    rows = session.scalars(select(Interaction).where(Interaction.id.in_(wanted))
                           .order_by(Interaction.started_at.desc(), Interaction.id.desc()))
    return [interaction_as_dict(row) for row in rows]
