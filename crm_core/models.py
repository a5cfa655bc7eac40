"""The CRM's tables: customers at the centre, everything else pointing at them.

Times are aware UTC datetimes on every backend. Phone numbers are stored in
E.164 (``+15551230001``), which is also their indexed matching key.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; the CRM stores aware UTC times")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


# -- people who use the platform ------------------------------------------

ROLES = ("agent", "supervisor", "admin")


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # one of ROLES
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A bearer token for the REST API; only its SHA-256 is stored."""
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


SKILL_MIN, SKILL_MAX = 1, 10  # proficiency, as the ACD router reads it


class AgentSkill(Base):
    """What an agent can handle and how well (1-10); the ACD routes on it."""
    __tablename__ = "agent_skills"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    skill: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    proficiency: Mapped[int] = mapped_column(Integer)
    __table_args__ = (CheckConstraint("proficiency BETWEEN 1 AND 10",
                                      name="ck_agent_skills_proficiency"),)


# -- customers ---------------------------------------------------------------

CUSTOMER_KINDS = ("person", "company")


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="person")
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True)  # a person's company
    level: Mapped[str] = mapped_column(String(32), default="standard")
    segment: Mapped[str] = mapped_column(String(64), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="")  # ISO 3166 alpha-2
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic concurrency: two agents editing one card cannot silently
    # overwrite each other; the second save gets a conflict.
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    phones: Mapped[list["Phone"]] = relationship(back_populates="customer",
                                                 cascade="all, delete-orphan")
    emails: Mapped[list["Email"]] = relationship(back_populates="customer",
                                                 cascade="all, delete-orphan")
    tags: Mapped[list["CustomerTag"]] = relationship(cascade="all, delete-orphan")


class CustomerTag(Base):
    __tablename__ = "customer_tags"
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class Phone(Base):
    __tablename__ = "phones"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    e164: Mapped[str] = mapped_column(String(16), index=True)  # the matching key
    label: Mapped[str] = mapped_column(String(20), default="")  # mobile, work, home ...
    raw: Mapped[str] = mapped_column(String(40), default="")  # as it was entered
    customer: Mapped[Customer] = relationship(back_populates="phones")
    __table_args__ = (UniqueConstraint("customer_id", "e164", name="uq_phone_customer_e164"),)


class Email(Base):
    __tablename__ = "emails"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    address: Mapped[str] = mapped_column(String(254), index=True)  # lower-cased
    label: Mapped[str] = mapped_column(String(20), default="")
    customer: Mapped[Customer] = relationship(back_populates="emails")
    __table_args__ = (UniqueConstraint("customer_id", "address", name="uq_email_customer_address"),)


# -- the timeline ---------------------------------------------------------

CHANNELS = ("call", "voicemail", "fax", "note", "email", "visit", "web")


class Interaction(Base):
    """One contact with a customer; for a call, keyed on Asterisk's linkedid."""
    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default="call")  # one of CHANNELS
    direction: Mapped[str] = mapped_column(String(16))  # inbound, outbound, internal
    linkedid: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    caller_number: Mapped[str] = mapped_column(String(64), default="")
    caller_name: Mapped[str] = mapped_column(String(128), default="")
    dialled_number: Mapped[str] = mapped_column(String(64), default="")
    keys_pressed: Mapped[str] = mapped_column(String(256), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_text: Mapped[str] = mapped_column(String(128), default="")
    # in_progress while the call lasts; completed when Asterisk reported its end;
    # lost when the platform lost sight of it (Asterisk restarted, link down).
    status: Mapped[str] = mapped_column(String(16), default="in_progress", index=True)
    disposition_code: Mapped[str | None] = mapped_column(
        ForeignKey("dispositions.code", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index("ix_interactions_customer_started", "customer_id", "started_at"),
                      Index("ix_interactions_agent_started", "agent_id", "started_at"))


SEGMENT_KINDS = ("ivr", "queue", "agent", "transfer", "voicemail", "fax")


class InteractionSegment(Base):
    """A stretch of one interaction: time in the IVR, in a queue, with an agent."""
    __tablename__ = "interaction_segments"
    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # one of SEGMENT_KINDS
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # path, queue name, target ...


LINK_KINDS = ("recording", "transcript", "fax", "document", "voicemail")


class InteractionLink(Base):
    """A file or text that belongs to an interaction (recording, transcript, fax)."""
    __tablename__ = "interaction_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # one of LINK_KINDS
    ref: Mapped[str] = mapped_column(String(500))  # storage path or URL
    meta: Mapped[dict] = mapped_column(JSON, default=dict)


# -- recordings, transcripts, mail ----------------------------------------------

RECORDING_KINDS = ("call", "voicemail")
RECORDING_STATES = ("complete", "deleted")  # a file is listed only once published whole
TRANSCRIPT_STATES = ("pending", "running", "done", "failed")
MAIL_STATES = ("pending", "sent", "failed")


class Recording(Base):
    """A published audio file of an interaction: a recorded call or a voicemail.
    ``path`` is relative to the recording store; the row exists only once the
    file is complete (written aside, then renamed) and its checksum known."""
    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # one of RECORDING_KINDS
    path: Mapped[str] = mapped_column(String(500), unique=True)
    format: Mapped[str] = mapped_column(String(16))  # wav, opus, mp3 ...
    channels: Mapped[int] = mapped_column(Integer)  # 1 mixed; 2: left the caller, right the agent
    duration: Mapped[float] = mapped_column(Float)  # seconds
    size: Mapped[int] = mapped_column(Integer)  # bytes
    sha256: Mapped[str] = mapped_column(String(64))
    # [[start, end], ...] seconds into the recording that hold silence, not audio (PCI)
    paused: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="complete", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    compressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)  # queue, agent, policy, linkedid ...


class Transcript(Base):
    """What was said in a recording, per speaker, with word timings; one per recording."""
    __tablename__ = "transcripts"
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    error: Mapped[str] = mapped_column(String(300), default="")  # why it failed
    language: Mapped[str] = mapped_column(String(16), default="")
    text: Mapped[str] = mapped_column(Text, default="")  # what the keyword search reads
    # [{"word", "start", "end", "conf", "speaker": caller|agent|mixed}, ...]
    words: Mapped[list] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailOutbox(Base):
    """A message to send (a voicemail to its team): kept until the SMTP server
    takes it, retried with backoff meanwhile."""
    __tablename__ = "mail_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    to_addresses: Mapped[str] = mapped_column(String(1000))  # comma-separated
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    attachment: Mapped[str | None] = mapped_column(String(500))  # a file of the store
    attachment_name: Mapped[str] = mapped_column(String(200), default="")
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- service ------------------------------------------------------------------

TICKET_STATUSES = ("new", "open", "pending", "resolved", "closed")
OPEN_TICKET_STATUSES = ("new", "open", "pending")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    category: Mapped[str] = mapped_column(String(64), default="")
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_tickets_customer_status", "customer_id", "status"),)


class TicketInteraction(Base):
    __tablename__ = "ticket_interactions"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True)


class Disposition(Base):
    """The catalogue of call outcomes an agent picks at wrap-up."""
    __tablename__ = "dispositions"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(80))
    contact_made: Mapped[bool] = mapped_column(Boolean, default=False)
    sale: Mapped[bool] = mapped_column(Boolean, default=False)
    callback: Mapped[bool] = mapped_column(Boolean, default=False)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


CALLBACK_STATES = ("pending", "in_progress", "done", "cancelled", "failed")


class Callback(Base):
    __tablename__ = "callbacks"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    phone_e164: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # UTC
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")  # the customer's, as asked
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    queue: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DoNotCall(Base):
    __tablename__ = "do_not_call"
    e164: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Who changed what and when (customers, tickets, dispositions, merges)."""
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create, update, delete, merge
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)
