"""Recordings in the CRM: a row exists only for a file published whole (the
store wrote it aside, flushed and hashed it, then renamed it), and every row is
also a "recording" link on its interaction, so the timeline shows it.

Retention and compression select their rows here and change them in the same
transaction as their audit entry; the caller owns the transaction."""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from . import audit
from .errors import NotFound, ValidationError
from .interactions import by_linkedid
from .models import (RECORDING_KINDS, Interaction, InteractionLink, Recording, Transcript,
                     User)

__all__ = ["add_recording", "get_recording", "recordings_of", "due_for_retention",
           "mark_deleted", "due_for_compression", "mark_compressed", "audit_pause",
           "link_meta"]

SHA256 = re.compile(r"[0-9a-f]{64}")
FORMAT = re.compile(r"[a-z0-9]{1,16}")
BUSY_TRANSCRIPTS = ("pending", "running")  # a transcriber is reading the WAV


def _interaction(session: Session, interaction: str | int) -> Interaction:
    found = session.get(Interaction, interaction) if isinstance(interaction, int) \
        else by_linkedid(session, interaction)
    if found is None:
        raise NotFound(f"interaction {interaction!r} does not exist")
    return found


def _check_path(path, errors: dict) -> None:
    if not isinstance(path, str) or not path or len(path) > 500 or not path.isprintable() \
            or path.startswith("/") or "\\" in path or ".." in path.split("/"):
        errors["path"] = "a relative path in the store (1-500 printable characters, no '..')"


def _check_file(fields: dict, errors: dict) -> None:
    _check_path(fields.get("path"), errors)
    if not isinstance(fields.get("format"), str) or not FORMAT.fullmatch(fields["format"]):
        errors["format"] = "a format name like wav, opus or mp3"
    size = fields.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        errors["size"] = "a number of bytes"
    if not isinstance(fields.get("sha256"), str) or not SHA256.fullmatch(fields["sha256"]):
        errors["sha256"] = "64 lower-case hexadecimal digits"


def _check_spans(paused) -> bool:
    if not isinstance(paused, (list, tuple)):
        return False
    for span in paused:
        if not isinstance(span, (list, tuple)) or len(span) != 2:
            return False
        a, b = span
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
               for v in (a, b)) or not 0 <= a <= b:
            return False
    return True


def link_meta(rec: Recording) -> dict:
    """What the interaction's "recording" link says about its file."""
    return {"recording_id": rec.id, "format": rec.format, "channels": rec.channels,
            "duration": rec.duration, "size": rec.size, "sha256": rec.sha256,
            "paused": rec.paused}


def add_recording(session: Session, interaction: str | int, *, path: str, format: str,
                  channels: int, duration: float, size: int, sha256: str, kind: str = "call",
                  paused=(), meta: dict | None = None) -> Recording:
    """The row of a file just published, and its link on the interaction (by
    linkedid or id).  NotFound when the interaction is not written yet."""
    errors: dict[str, str] = {}
    if kind not in RECORDING_KINDS:
        errors["kind"] = f"must be one of {', '.join(RECORDING_KINDS)}"
    _check_file({"path": path, "format": format, "size": size, "sha256": sha256}, errors)
    if channels not in (1, 2) or isinstance(channels, bool):
        errors["channels"] = "1 (mixed) or 2 (stereo)"
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) \
            or not math.isfinite(duration) or duration < 0:
        errors["duration"] = "a number of seconds"
    if not _check_spans(paused):
        errors["paused"] = "a list of [start, end] seconds with 0 <= start <= end"
    if meta is not None and not isinstance(meta, dict):
        errors["meta"] = "a mapping"
    if errors:
        raise ValidationError(errors)
    row = _interaction(session, interaction)
    rec = Recording(interaction_id=row.id, kind=kind, path=path, format=format,
                    channels=channels, duration=round(float(duration), 3), size=size,
                    sha256=sha256, paused=[[float(a), float(b)] for a, b in paused],
                    status="complete", meta=dict(meta or {}))
    session.add(rec)
    session.flush()
    session.add(InteractionLink(interaction_id=row.id, kind="recording", ref=path,
                                meta=link_meta(rec)))
    session.flush()
    return rec


def get_recording(session: Session, recording_id: int) -> Recording:
    rec = session.get(Recording, recording_id)
    if rec is None:
        raise NotFound(f"no recording {recording_id}", recording_id=recording_id)
    return rec


def recordings_of(session: Session, interaction_id: int) -> list[Recording]:
    return list(session.scalars(select(Recording).where(
        Recording.interaction_id == interaction_id).order_by(Recording.id)))


def due_for_retention(session: Session, now: datetime, days_of: Callable[[Recording], int], *,
                      min_days: int, kind: str = "call", limit: int = 500) -> list[Recording]:
    """Published recordings older than their retention: ``days_of(row)`` says how
    many days a row is kept (its queue's policy); ``min_days`` is the smallest of
    those, so the database returns only rows that may be due."""
    cutoff = now - timedelta(days=min_days)
    rows = session.scalars(select(Recording).where(
        Recording.status == "complete", Recording.kind == kind,
        Recording.created_at < cutoff).order_by(Recording.created_at, Recording.id))
    due = []
    for rec in rows:
        if rec.created_at < now - timedelta(days=days_of(rec)):
            due.append(rec)
            if len(due) >= limit:
                break
    return due


def mark_deleted(session: Session, recording_id: int, at: datetime, *, why: str,
                 actor_id: int | None = None) -> Recording:
    """The file is gone: the row says so (kept, for the history), its link goes,
    and the interaction's audit log says who deleted what and why."""
    rec = get_recording(session, recording_id)
    if rec.status == "deleted":
        return rec
    rec.status, rec.deleted_at = "deleted", at
    for link in _links_of(session, rec, rec.path):
        session.delete(link)
    audit.record(session, actor_id=actor_id, entity="interaction", entity_id=rec.interaction_id,
                 action="update", changes={"recording": [rec.path, None],
                                           "recording_id": rec.id, "why": why})
    return rec


def due_for_compression(session: Session, before: datetime, *, limit: int = 100,
                        transcribed_first: bool = False) -> list[Recording]:
    """Published call WAVs older than ``before`` that no transcriber is reading;
    ``transcribed_first``: only those whose transcript is done or failed (the
    transcriber reads the WAV)."""
    busy = exists().where(Transcript.recording_id == Recording.id,
                          Transcript.status.in_(BUSY_TRANSCRIPTS))
    clauses = [Recording.status == "complete", Recording.kind == "call",
               Recording.format == "wav", Recording.compressed_at.is_(None),
               Recording.created_at < before, ~busy]
    if transcribed_first:
        clauses.append(exists().where(Transcript.recording_id == Recording.id))
    return list(session.scalars(select(Recording).where(*clauses)
                                .order_by(Recording.created_at, Recording.id).limit(limit)))


def mark_compressed(session: Session, recording_id: int, *, path: str, format: str, size: int,
                    sha256: str, at: datetime) -> Recording:
    """The recording now lives in a smaller file: the row and its link follow."""
    errors: dict[str, str] = {}
    _check_file({"path": path, "format": format, "size": size, "sha256": sha256}, errors)
    if errors:
        raise ValidationError(errors)
    rec = get_recording(session, recording_id)
    if rec.status != "complete":
        raise NotFound(f"recording {recording_id} is {rec.status}", recording_id=recording_id)
    old = rec.path
    rec.path, rec.format, rec.size, rec.sha256, rec.compressed_at = path, format, size, sha256, at
    for link in _links_of(session, rec, old):
        link.ref, link.meta = path, link_meta(rec)
    return rec


def _links_of(session: Session, rec: Recording, ref: str) -> list[InteractionLink]:
    return list(session.scalars(select(InteractionLink).where(
        InteractionLink.interaction_id == rec.interaction_id,
        InteractionLink.kind == "recording", InteractionLink.ref == ref)))


def audit_pause(session: Session, linkedid: str, username: str, changes: dict) -> None:
    """An agent paused or resumed the recording of their call (PCI): audited on
    the call's interaction, with the agent's user id when the CRM knows them."""
    row = _interaction(session, linkedid)
    actor = session.scalar(select(User.id).where(User.username == username))
    audit.record(session, actor_id=actor, entity="interaction", entity_id=row.id,
                 action="update", changes={"agent": username, **changes})
