"""Retention: published recordings older than their policy's ``retention_days``
(the queue's, else the defaults'; click-to-dial calls the outbound entry's) are
deleted, their rows marked deleted (kept, with the time) and each deletion
logged and audited on its interaction.  Run by the service every hour and by
``callcenter recordings-retention [--dry-run]``.  Blocking (a thread).

The file goes first, then the row: a crash in between leaves a row whose file
is missing, which the next run marks deleted (a missing file counts as gone),
never a file without a row saying it exists.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from crm_core.models import Recording
from crm_core.recordings import due_for_retention, mark_deleted

from .errors import StoreError
from .policy import Policy
from .store import Store

__all__ = ["Deleted", "days_of", "run_retention", "Retention"]

log = logging.getLogger("recording.retention")


@dataclass(frozen=True)
class Deleted:
    recording_id: int
    interaction_id: int
    path: str
    age_days: float
    kept_days: int
    queue: str | None


def days_of(policy: Policy) -> Callable[[Recording], int]:
    """How many days a recording is kept, from what its row says it was."""
    def days(rec: Recording) -> int:
        meta = rec.meta or {}
        direction = "outbound" if meta.get("direction") == "outbound" else "inbound"
        return policy.rule_for(meta.get("queue"), direction).retention_days
    return days


def shortest(policy: Policy) -> int:
    rules = [policy.defaults, policy.outbound, *policy.queues.values(), *policy.campaigns.values()]
    return min(rule.retention_days for rule in rules)


def run_retention(sessions, store: Store, policy: Policy, *, now: datetime | None = None,
                  dry_run: bool = False, limit: int = 500) -> list[Deleted]:
    """Delete what is due (``dry_run``: only say what would be deleted)."""
    now = now or datetime.now(timezone.utc)
    days = days_of(policy)
    done: list[Deleted] = []
    while True:
        with sessions() as session:
            due = [_deleted(rec, now, days(rec)) for rec in
                   due_for_retention(session, now, days, min_days=shortest(policy), limit=limit)]
        if dry_run:
            for item in due:
                log.info("retention: would delete %s (recording %d, %.0f days old, kept %d)",
                         item.path, item.recording_id, item.age_days, item.kept_days)
            return due
        removed = [item for item in due if _delete(sessions, store, item, now)]
        done.extend(removed)
        if len(due) < limit or not removed:
            return done


def _deleted(rec: Recording, now: datetime, kept: int) -> Deleted:
    age = (now - rec.created_at).total_seconds() / 86400
    return Deleted(rec.id, rec.interaction_id, rec.path, round(age, 1), kept,
                   (rec.meta or {}).get("queue"))


def _delete(sessions, store: Store, item: Deleted, now: datetime) -> bool:
    try:
        existed = store.remove(item.path)
    except (OSError, StoreError) as exc:
        log.error("retention: cannot delete %s (recording %d): %s; it stays", item.path,
                  item.recording_id, exc)
        return False
    why = f"retention: {item.age_days:g} days old, kept {item.kept_days} days"
    with sessions.begin() as session:
        mark_deleted(session, item.recording_id, now, why=why)
    log.info("retention: deleted %s (recording %d of interaction %d, queue %s, %g days old, "
             "kept %d)%s", item.path, item.recording_id, item.interaction_id, item.queue or "-",
             item.age_days, item.kept_days, "" if existed else "; the file was already gone")
    return True


class Retention:
    """The service's periodic job; ``policy()`` gives the policy in force."""

    def __init__(self, sessions, store: Store, policy: Callable[[], Policy]):
        self.sessions, self.store, self.policy = sessions, store, policy
        self.__name__ = "retention"

    def __call__(self) -> list[Deleted]:
        return run_retention(self.sessions, self.store, self.policy())
