"""Voicemails in the CRM: a message a caller left becomes an interaction of its
own (channel "voicemail") on the caller's customer, with its recording.

The call that led to it keeps its own interaction (keyed on Asterisk's
linkedid); the voicemail's is keyed on ``vm-<that linkedid>``, so landing the
same message twice (an event repeated, a retry after a crash) finds the first
one instead of writing a second. The recording row keeps the call's linkedid
in its meta, which is how one goes from the message back to the call.

Whose message it is: the customer the IVR or ACD already knew (an account
number typed, one match of the caller's number), else the one customer the
caller's number belongs to, else a new customer "Unknown caller <number>"
tagged ``unknown-caller`` (found again by its number the next time, so one
unknown number makes one record). A shared number (several customers) or a
number we cannot read (anonymous, withheld, letters) is linked to nobody, and
the reason is said.

Functions flush and never commit: the caller owns the transaction, so a
voicemail lands whole (interaction, recording, callback, e-mail, transcription
job) or not at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import customers, lookup, recordings
from .errors import ValidationError
from .models import Customer, Interaction, Recording
from .phones import try_normalize

UNKNOWN_TAG = "unknown-caller"
KEY_PREFIX = "vm-"
ANONYMOUS = ("", "anonymous", "unknown", "private", "restricted", "withheld", "unavailable")


@dataclass(frozen=True)
class Caller:
    """Who left the message, as far as the CRM can tell."""
    customer_id: int | None
    created: bool = False  # a new "Unknown caller" record was made for this number
    reason: str = ""  # why nobody is linked, or how the customer was found
    phone: str | None = None  # E.164, when the number can be called back


@dataclass(frozen=True)
class VoicemailFile:
    """The published recording of the message (its path relative to the recording store)."""
    path: str
    size: int
    sha256: str
    duration: float
    format: str = "wav"
    channels: int = 1


@dataclass(frozen=True)
class Message:
    call_linkedid: str
    caller_number: str  # caller ID as received
    started_at: datetime
    ended_at: datetime
    mailbox: str
    caller_name: str = ""
    dialled_number: str = ""
    meta: dict = field(default_factory=dict)  # source, queue, flow, node ...


def voicemail_key(call_linkedid: str) -> str:
    """The voicemail interaction's own key; ValueError if the call's id cannot make one."""
    key = KEY_PREFIX + (call_linkedid or "")
    if not call_linkedid or len(key) > 64 or not key.isprintable():
        raise ValueError(f"call id {call_linkedid!r} cannot key a voicemail (1-61 printable "
                         "characters)")
    return key


def landed(session: Session, call_linkedid: str) -> Interaction | None:
    """The voicemail of that call, if it has landed already."""
    return session.scalar(select(Interaction).where(
        Interaction.linkedid == voicemail_key(call_linkedid)))


def identify_caller(session: Session, number: str, known_customer_id: int | None = None, *,
                    region: str = "US") -> Caller:
    """The caller's customer (see the module's docstring); may create one."""
    phone = try_normalize(number if isinstance(number, str) else None, region)
    if isinstance(known_customer_id, int) and session.get(Customer, known_customer_id):
        return Caller(known_customer_id, reason="identified during the call", phone=phone)
    if phone is None:
        said = (number or "").strip()
        if said.lower() in ANONYMOUS:
            return Caller(None, reason="anonymous caller: no number to match or call back")
        return Caller(None, reason=f"caller ID {said[:40]!r} is not a phone number")
    matches = lookup.find_by_phone(session, phone, region=region, limit=2)
    if len(matches) == 1:
        return Caller(matches[0].id, reason="the caller's number", phone=phone)
    if matches:
        return Caller(None, reason=f"shared number {phone}: an agent chooses the customer",
                      phone=phone)
    created = customers.create_customer(
        session, {"name": f"Unknown caller {phone}", "phones": [phone], "tags": [UNKNOWN_TAG]},
        region=region)
    return Caller(created.customer.id, created=True, reason="new unknown-caller record",
                  phone=phone)


def add_voicemail(session: Session, message: Message, audio: VoicemailFile,
                  caller: Caller) -> tuple[Interaction, Recording]:
    """The voicemail interaction with its recording row and link."""
    if message.ended_at < message.started_at:
        raise ValidationError.one("ended_at", "is before started_at")
    interaction = Interaction(
        channel="voicemail", direction="inbound", linkedid=voicemail_key(message.call_linkedid),
        customer_id=caller.customer_id, caller_number=_clip(message.caller_number, 64),
        caller_name=_clip(message.caller_name, 128),
        dialled_number=_clip(message.dialled_number, 64), started_at=message.started_at,
        answered_at=message.started_at, ended_at=message.ended_at, status="completed",
        subject=_clip(f"Voicemail in mailbox {message.mailbox}", 200), notes="")
    session.add(interaction)
    session.flush()
    # The recording row and its "recording" link, as every published recording has.
    recording = recordings.add_recording(
        session, interaction.id, path=audio.path, format=audio.format, channels=audio.channels,
        duration=audio.duration, size=audio.size, sha256=audio.sha256, kind="voicemail",
        meta={**message.meta, "linkedid": message.call_linkedid, "mailbox": message.mailbox,
              "customer": caller.reason})
    return interaction, recording


def _clip(value: str, limit: int) -> str:
    # Caller ID and DID come from outside: keep the row, drop control characters.
    return "".join(ch for ch in (value or "") if ch.isprintable())[:limit]
