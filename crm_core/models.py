"""The CRM's tables. Minimal for now: the interaction a call leaves behind."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
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


class Base(DeclarativeBase):
    pass


class Interaction(Base):
    """One contact with a customer; for a call, keyed on Asterisk's linkedid."""
    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default="call")  # call, voicemail, fax, note ...
    direction: Mapped[str] = mapped_column(String(16))  # inbound, outbound, internal
    linkedid: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
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
    notes: Mapped[str] = mapped_column(Text, default="")
