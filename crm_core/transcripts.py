"""Transcripts: what was said in a recording, per speaker, with word timings,
and the keyword search over them.

A recording (a recorded call or a voicemail) waits for its transcript either
with no transcript row at all (calls: the recorder knows nothing of
transcription) or with a ``pending`` one (voicemails queue theirs when they
land). The worker claims a job by moving it to ``running`` with a
compare-and-set, so two workers never do the same recording, and ends it
``done`` (text, words, language) or ``failed`` (the reason in ``error``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .customers import _icontains  # one definition of the CRM's text search
from .errors import NotFound, ValidationError
from .models import Customer, Interaction, InteractionLink, Recording, Transcript

TRANSCRIBED_KINDS = ("call", "voicemail")
ERROR_MAX = 300
SEARCH_LIMIT_MAX = 200
KEYWORD_MAX = 100
SNIPPET_SIDE = 40  # characters shown either side of the keyword


@dataclass(frozen=True)
class Job:
    recording_id: int
    interaction_id: int
    path: str  # relative to the recording store
    channels: int
    sha256: str
    kind: str


@dataclass(frozen=True)
class TranscriptHit:
    interaction_id: int
    transcript_id: int
    recording_id: int
    channel: str  # call, voicemail
    started_at: datetime
    caller_number: str
    customer_id: int | None
    customer_name: str | None
    snippet: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


def queue_transcript(session: Session, recording_id: int, interaction_id: int) -> Transcript:
    """A pending job for this recording (voicemails queue theirs as they land)."""
    transcript = Transcript(recording_id=recording_id, interaction_id=interaction_id,
                            status="pending", error="", language="", text="", words=[],
                            attempts=0)
    session.add(transcript)
    session.flush()
    return transcript


def waiting(session: Session, limit: int = 10) -> list[Job]:
    """Recordings that want a transcript, the oldest first."""
    rows = session.execute(
        select(Recording.id, Recording.interaction_id, Recording.path, Recording.channels,
               Recording.sha256, Recording.kind)
        .outerjoin(Transcript, Transcript.recording_id == Recording.id)
        .where(Recording.kind.in_(TRANSCRIBED_KINDS), Recording.status == "complete",
               or_(Transcript.id.is_(None), Transcript.status == "pending"))
        .order_by(Recording.created_at, Recording.id).limit(limit))
    return [Job(*row) for row in rows]


def claim(session: Session, job: Job) -> int | None:
    """Start the job: its transcript id, or None when another worker has it."""
    existing = session.scalar(select(Transcript.id).where(
        Transcript.recording_id == job.recording_id))
    if existing is None:
        try:
            with session.begin_nested():  # the unique recording_id settles a race
                transcript = Transcript(recording_id=job.recording_id,
                                        interaction_id=job.interaction_id, status="running",
                                        error="", language="", text="", words=[], attempts=1)
                session.add(transcript)
            return transcript.id
        except IntegrityError:
            return None
    done = session.execute(update(Transcript)
                           .where(Transcript.id == existing, Transcript.status == "pending")
                           .values(status="running", attempts=Transcript.attempts + 1)
                           .execution_options(synchronize_session=False))
    return existing if done.rowcount == 1 else None


def finish(session: Session, transcript_id: int, *, text: str, words: list[dict],
           language: str = "") -> Transcript:
    """The transcript is done; it is linked on its interaction too."""
    transcript = _get(session, transcript_id)
    transcript.status, transcript.error = "done", ""
    transcript.text, transcript.words = text, words
    transcript.language = (language or "")[:16]
    transcript.finished_at = _now()
    session.add(InteractionLink(interaction_id=transcript.interaction_id, kind="transcript",
                                ref=f"transcript:{transcript.id}",
                                meta={"recording_id": transcript.recording_id,
                                      "words": len(words), "language": transcript.language}))
    session.flush()
    return transcript


def fail(session: Session, transcript_id: int, reason: str) -> Transcript:
    """The transcript cannot be made; ``reason`` says why (kept, shown, never retried)."""
    transcript = _get(session, transcript_id)
    transcript.status = "failed"
    transcript.error = "".join(ch if ch.isprintable() else " " for ch in reason)[:ERROR_MAX]
    transcript.finished_at = _now()
    session.flush()
    return transcript


def release_running(session: Session) -> int:
    """Jobs a stopped worker left running go back to pending (one engine per database)."""
    done = session.execute(update(Transcript).where(Transcript.status == "running")
                           .values(status="pending").execution_options(synchronize_session=False))
    return done.rowcount


def of_recording(session: Session, recording_id: int) -> Transcript | None:
    return session.scalar(select(Transcript).where(Transcript.recording_id == recording_id))


def of_interaction(session: Session, interaction_id: int) -> list[Transcript]:
    return list(session.scalars(select(Transcript).where(
        Transcript.interaction_id == interaction_id).order_by(Transcript.id)))


def _get(session: Session, transcript_id: int) -> Transcript:
    transcript = session.get(Transcript, transcript_id)
    if transcript is None:
        raise NotFound(f"no transcript {transcript_id}", transcript_id=transcript_id)
    return transcript


# -- search ---------------------------------------------------------------------

def _contains(session: Session, keyword: str):
    """Case-insensitive "contains" with % and _ taken literally (a bound parameter,
    escaped); SQLite's lower() folds ASCII only, so other scripts use casefold."""
    return _icontains(session, Transcript.text, keyword)


def search_transcripts(session: Session, keyword: str, limit: int = 20,
                       offset: int = 0, agent_id: int | None = None) -> list[TranscriptHit]:
    """Interactions whose transcript contains ``keyword``, newest first, each with
    the words around the first match; with ``agent_id``, only the calls that agent
    handled (what an agent may search)."""
    text = (keyword or "").strip() if isinstance(keyword, str) else None
    if not text or len(text) > KEYWORD_MAX or not text.isprintable():
        raise ValidationError.one("keyword", f"1-{KEYWORD_MAX} printable characters")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SEARCH_LIMIT_MAX:
        raise ValidationError.one("limit", f"between 1 and {SEARCH_LIMIT_MAX}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError.one("offset", "0 or more")
    rows = session.execute(
        select(Transcript.id, Transcript.recording_id, Transcript.text, Interaction.id,
               Interaction.channel, Interaction.started_at, Interaction.caller_number,
               Interaction.customer_id, Customer.name)
        .join(Interaction, Interaction.id == Transcript.interaction_id)
        .outerjoin(Customer, Customer.id == Interaction.customer_id)
        .where(Transcript.status == "done", _contains(session, text),
               *([Interaction.agent_id == agent_id] if agent_id is not None else []))
        .order_by(Interaction.started_at.desc(), Transcript.id.desc())
        .limit(limit).offset(offset))
    return [TranscriptHit(interaction_id=iid, transcript_id=tid, recording_id=rid, channel=channel,
                          started_at=started, caller_number=number, customer_id=cid,
                          customer_name=name, snippet=snippet(body, text))
            for tid, rid, body, iid, channel, started, number, cid, name in rows]


def snippet(text: str, keyword: str, side: int = SNIPPET_SIDE) -> str:
    """The keyword with up to ``side`` characters either side, on one line."""
    flat = " ".join(text.split())
    at = flat.casefold().find(keyword.casefold())
    if at < 0:  # casefold changed the length (ß -> ss): show the start
        return flat[:2 * side] + ("…" if len(flat) > 2 * side else "")
    start, end = max(0, at - side), min(len(flat), at + len(keyword) + side)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def count_waiting(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Recording)
                          .outerjoin(Transcript, Transcript.recording_id == Recording.id)
                          .where(Recording.kind.in_(TRANSCRIBED_KINDS),
                                 Recording.status == "complete",
                                 or_(Transcript.id.is_(None), Transcript.status == "pending")))
