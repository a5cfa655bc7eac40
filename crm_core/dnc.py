"""The do-not-call list, keyed on E.164 so every way of writing a number
(national, 00-prefixed, spaced) lands on the one entry a dialer checks."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import audit
from .errors import ValidationError
from .models import DoNotCall
from .phones import normalize
from .validation import clean_text

MAX_PAGE = 1000


def _insert_ignoring_duplicates(session: Session, row: dict) -> bool:
    """True if the row was added; a concurrent or earlier add of the same number wins."""
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[
        session.get_bind().dialect.name]
    stmt = (insert(DoNotCall).values(**row).on_conflict_do_nothing(index_elements=["e164"])
            .returning(DoNotCall.e164))
    return session.execute(stmt).scalar() is not None


def add(session: Session, number: str, *, reason: str = "", actor_id: int | None = None,
        region: str = "US") -> DoNotCall:
    """The number's entry; adding it again keeps the first entry (reason, who, when)."""
    errors: dict[str, str] = {}
    clean_reason = clean_text(reason, "reason", 200, errors)
    try:
        e164 = normalize(number, region, field="number")
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    if _insert_ignoring_duplicates(session, {"e164": e164, "reason": clean_reason,
                                             "added_by": actor_id}):
        audit.record(session, actor_id=actor_id, entity="dnc", entity_id=e164, action="create",
                     changes={"reason": clean_reason})
    return session.get(DoNotCall, e164)


def remove(session: Session, number: str, *, actor_id: int | None = None,
           region: str = "US") -> bool:
    """True if the number was on the list."""
    entry = session.get(DoNotCall, normalize(number, region, field="number"))
    if entry is None:
        return False
    audit.record(session, actor_id=actor_id, entity="dnc", entity_id=entry.e164, action="delete",
                 changes={"reason": entry.reason, "added_by": entry.added_by,
                          "added_at": entry.added_at})
    session.delete(entry)
    session.flush()
    return True


def is_blocked(session: Session, number: str, *, region: str = "US") -> bool:
    """Raises ValidationError for a number that does not normalise: whoever asks
    is about to dial it, and junk must not be dialled."""
    e164 = normalize(number, region, field="number")
    return session.scalar(select(DoNotCall.e164).where(DoNotCall.e164 == e164)) is not None


def list_entries(session: Session, *, limit: int = 100, offset: int = 0) -> list[DoNotCall]:
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ValidationError.one("limit", f"limit 1-{MAX_PAGE}, offset not negative")
    return list(session.scalars(select(DoNotCall).order_by(DoNotCall.added_at.desc(),
                                                           DoNotCall.e164)
                                .limit(limit).offset(offset)))
