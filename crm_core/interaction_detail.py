"""One interaction drilled down to its detail: the call's facts, its segments
(IVR path, queues, agents, transfers), its links, its recordings (published
files only) and their transcripts. Read-only: a handful of indexed queries."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .customers import columns_as_dict
from .errors import NotFound
from .models import Customer, Interaction, Recording, Transcript
from .interactions import links_of, segments_of


def interaction_detail(session: Session, interaction_id: int) -> dict:
    row = session.get(Interaction, interaction_id)
    if row is None:
        raise NotFound(f"no interaction {interaction_id}", interaction_id=interaction_id)
    customer = session.get(Customer, row.customer_id) if row.customer_id else None
    recordings = list(session.scalars(select(Recording).where(
        Recording.interaction_id == interaction_id, Recording.status == "complete")
        .order_by(Recording.created_at, Recording.id)))
    transcripts = {t.recording_id: t for t in session.scalars(select(Transcript).where(
        Transcript.interaction_id == interaction_id))}
    return {
        "interaction": columns_as_dict(row),
        "customer": {"id": customer.id, "name": customer.name} if customer else None,
        "segments": [columns_as_dict(s) for s in segments_of(session, interaction_id)],
        "links": [columns_as_dict(link) for link in links_of(session, interaction_id)
                  if link.kind not in ("recording", "transcript")],
        "recordings": [{**columns_as_dict(r), "transcript": _transcript(transcripts.get(r.id))}
                       for r in recordings],
    }


def _transcript(found: Transcript | None) -> dict | None:
    return columns_as_dict(found) if found is not None else None


def recording_for_download(session: Session, recording_id: int) -> tuple[Recording, Interaction]:
    """A published recording and its interaction (who may hear it is the caller's
    business: the agent of the call, supervisors, admins)."""
    recording = session.get(Recording, recording_id)
    if recording is None or recording.status != "complete":
        raise NotFound(f"no recording {recording_id}")
    return recording, session.get(Interaction, recording.interaction_id)
