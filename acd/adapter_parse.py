"""What the ACD adapter reads from Asterisk, checked: pure functions, no I/O.

Everything that reaches the adapter from the dialplan (the AcdEnqueue and AcdKey
user events, dial and originate outcomes, channel listings) passes through
here first.  A value that is not what it should be never reaches the router or
an AMI action: it is replaced by a safe default and named in ``problems``, so
the caller is still served (the first queue, no skills beyond the queue's, no
priority, no customer) and the log says why.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from crm_core import phones

from .model import QueueConfig

__all__ = ["Enqueue", "BadEvent", "parse_enqueue", "parse_key", "check_seat", "dial_outcome",
           "originate_failure_reason", "callback_number", "caller_display", "dialled_number",
           "duration_seconds", "ring_timeout", "file_id", "SEAT", "KEYS", "CALLER_CONTEXTS",
           "MAX_PRIORITY"]

# Always used with fullmatch: "$" would let a trailing newline through.
QUEUE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SKILL = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SEAT = re.compile(r"[A-Za-z0-9_-]{2,40}")  # a PJSIP endpoint we Dial
CHANNEL = re.compile(r"[A-Za-z0-9/_.@;:+-]{3,128}")  # PJSIP/carrier-00000001
ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # uniqueid / linkedid (x-pbx-1712345678.12)
NUMBER = re.compile(r"\+?[0-9]{2,20}")
KEYS = "0123456789*#"
MAX_PRIORITY = 1000
MAX_SKILLS = 16
MAX_CALLER = 40
# Where a waiting caller's channel runs (resync looks for them there).
CALLER_CONTEXTS = ("acd-wait", "acd-connect", "acd-no-callback")
NO_NUMBER = {"", "<unknown>", "anonymous", "restricted", "unavailable", "unknown", "private"}


class BadEvent(ValueError):
    """An AMI event the adapter cannot act on at all (no channel to route)."""


@dataclass(frozen=True)
class Enqueue:
    """A caller entering the ACD, as the adapter will route them."""
    call_id: str  # the linkedid: keys the call everywhere
    channel: str
    uniqueid: str
    queue: str
    skills: tuple[str, ...]  # the queue's own skills plus the IVR's
    priority: int
    customer_id: int | None
    caller: str  # caller ID number, for display and callbacks ("" when absent)
    at: float | None  # Asterisk's timestamp of the event
    problems: tuple[str, ...] = ()  # fields that were replaced by safe defaults


def _identity(event: Any) -> tuple[str, str, str]:
    channel, uniqueid = event.channel or "", event.uniqueid or ""
    linkedid = event.linkedid or uniqueid
    if not CHANNEL.fullmatch(channel) or not ID.fullmatch(uniqueid) or not ID.fullmatch(linkedid):
        raise BadEvent(f"{event.name} without a usable channel (Channel={channel[:80]!r}, "
                       f"Uniqueid={uniqueid[:80]!r}, Linkedid={linkedid[:80]!r})")
    return channel, uniqueid, linkedid


def _text(value: Any) -> str:
    """A header as one string (a header sent twice arrives as a list: take the last)."""
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value.strip() if isinstance(value, str) else ""


def parse_enqueue(event: Any, queues: Mapping[str, QueueConfig], default_queue: str) -> Enqueue:
    """The AcdEnqueue user event: identity (BadEvent when missing) and the IVR's
    CC_* values, each replaced by its safe default when it is not well formed."""
    channel, uniqueid, linkedid = _identity(event)
    problems: list[str] = []
    queue = _text(event.get("Queue"))
    if not QUEUE.fullmatch(queue) or queue not in queues:
        problems.append(f"unknown queue {queue[:64]!r}: routed to {default_queue!r}")
        queue = default_queue
    skills = list(queues[queue].skills)
    raw_skills = _text(event.get("Skills"))
    for skill in filter(None, (s.strip() for s in raw_skills.split("+"))):
        if not SKILL.fullmatch(skill) or len(skills) >= MAX_SKILLS:
            problems.append(f"bad skill list {raw_skills[:80]!r}: the queue's skills only")
            skills = list(queues[queue].skills)
            break
        if skill not in skills:
            skills.append(skill)
    priority = _int(_text(event.get("CallPriority")), 0, MAX_PRIORITY)
    if priority is None:
        problems.append(f"bad priority {_text(event.get('CallPriority'))[:20]!r}: 0")
        priority = 0
    customer = _int(_text(event.get("Customer")), 0, 2**63 - 1)
    if customer is None:
        problems.append(f"bad customer id {_text(event.get('Customer'))[:20]!r}: unknown")
    return Enqueue(call_id=linkedid, channel=channel, uniqueid=uniqueid, queue=queue,
                   skills=tuple(skills), priority=priority, customer_id=customer or None,
                   caller=caller_display(event.caller_id_num), at=event.timestamp,
                   problems=tuple(problems))


def _int(text: str, low: int, high: int) -> int | None:
    """An integer written in plain digits within low..high ("" means low)."""
    if text == "":
        return low
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_key(event: Any) -> tuple[str, str, str]:
    """(linkedid, uniqueid, key) of an AcdKey user event; BadEvent otherwise."""
    _, uniqueid, linkedid = _identity(event)
    key = _text(event.get("Key"))
    if len(key) != 1 or key not in KEYS:
        raise BadEvent(f"AcdKey with a key that is not one DTMF key: {key[:10]!r}")
    return linkedid, uniqueid, key


def check_seat(seat: Any) -> str:
    """A seat name safe to Dial (PJSIP/<seat>); ValueError otherwise."""
    if not isinstance(seat, str) or not SEAT.fullmatch(seat):
        raise ValueError(f"seat {str(seat)[:60]!r} is not a phone name "
                         "(2-40 letters, digits, '_' or '-')")
    return seat


# Dial() outcomes (DIALSTATUS) -> what the adapter does with the offer.
_DIAL = {"ANSWER": ("answered", ""), "CANCEL": ("abandoned", ""),
         "NOANSWER": ("failed", "ring-no-answer"), "BUSY": ("failed", "phone-unavailable"),
         "CHANUNAVAIL": ("failed", "phone-unavailable"),
         "CONGESTION": ("failed", "phone-unavailable")}


def dial_outcome(status: str | None) -> tuple[str, str]:
    """("answered"|"abandoned"|"failed", not-ready reason) for a DialEnd status;
    any other status (DONTCALL, TORTURE, INVALIDARGS ...) is an unavailable phone."""
    return _DIAL.get((status or "").strip().upper(), ("failed", "phone-unavailable"))


def originate_failure_reason(reason: int | None) -> str:
    """OriginateResponse Failure: Reason 3 is "rang, nobody answered"; 0 (no
    contact, rejected), 1, 5 (busy) and 8 (congestion) a phone that cannot take it."""
    return "ring-no-answer" if reason == 3 else "phone-unavailable"


def callback_number(caller: str, region: str) -> str | None:
    """The E.164 number a caller can be called back on, or None (anonymous,
    withheld, not a phone number)."""
    if caller.strip().lower() in NO_NUMBER:
        return None
    return phones.try_normalize(caller, region)


def caller_display(value: Any) -> str:
    """A caller ID number as shown and stored ("" when absent or unprintable)."""
    text = _text(value)
    if text.lower() in NO_NUMBER or not text.isprintable():
        return ""
    return text[:MAX_CALLER]


def dialled_number(value: Any) -> str:
    """The number the caller dialled, when it is one (the callback shows it)."""
    text = _text(value)
    return text if NUMBER.fullmatch(text) else ""


def duration_seconds(text: str | None) -> float:
    """CoreShowChannel's Duration "HH:MM:SS" in seconds (0 when unreadable)."""
    parts = (text or "").split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return 0.0
    h, m, s = (int(p) for p in parts)
    return float(h * 3600 + m * 60 + s)


def ring_timeout(queue: QueueConfig) -> int:
    """Dial()'s timeout argument: whole seconds, at least 1."""
    return max(1, math.ceil(queue.ring_timeout))


FILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")


def file_id(linkedid: str) -> str | None:
    """The name of a call's files (as the IVR's voicemail names them), or None."""
    return linkedid if FILE_ID.fullmatch(linkedid or "") else None
