"""What agents and supervisors ask of their calls, checked: pure functions, no I/O.

Every value an agent's or a supervisor's command carries (a transfer's kind and
target, a number to dial, a customer id, a listening mode) passes through here
before it reaches the router, the CRM or an AMI action; a bad one raises
AcdError with a sentence the console can show, and nothing has changed.  The
values set into dialplan variables are checked once more against the narrow
patterns the dialplan relies on (E.164, channel ids), so not even a bug in the
CRM's number library could put dialplan syntax into an application argument.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from crm_core import phones
from crm_core.errors import ValidationError

from .model import AcdError

__all__ = ["TRANSFER_KINDS", "MODES", "E164", "CALLER_ID", "transfer_kind", "spy_mode",
           "dial_number", "caller_id", "customer_id", "channel_id", "SpyMode"]

TRANSFER_KINDS = ("agent", "queue", "number")
E164 = re.compile(r"\+[1-9][0-9]{6,15}")
CALLER_ID = re.compile(r"\+?[0-9]{2,20}")  # what the carrier is shown: digits only
CHANNEL_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # Asterisk uniqueids (and our ChannelIds)


@dataclass(frozen=True)
class SpyMode:
    name: str  # listen, whisper, barge
    flag: str  # ChanSpy's option for it ("" listens)
    key: str  # the DTMF key ChanSpy's d option switches to it with


MODES = {"listen": SpyMode("listen", "", "4"), "whisper": SpyMode("whisper", "w", "5"),
         "barge": SpyMode("barge", "B", "6")}


def transfer_kind(kind) -> str:
    if kind not in TRANSFER_KINDS:
        raise AcdError(f"unknown transfer kind {str(kind)[:20]!r}: agent, queue or number")
    return kind


def spy_mode(mode) -> SpyMode:
    found = MODES.get(mode) if isinstance(mode, str) else None
    if found is None:
        raise AcdError(f"unknown listening mode {str(mode)[:20]!r}: listen, whisper or barge")
    return found


def dial_number(raw, region: str) -> str:
    """The E.164 form of a number an agent typed, or AcdError saying what is wrong."""
    try:
        number = phones.normalize(raw, region, field="number")
    except ValidationError as exc:
        raise AcdError(f"cannot dial {str(raw)[:40]!r}: {exc.errors.get('number', exc)}") \
            from None
    if not E164.fullmatch(number):  # belt and braces: this goes into a Dial() string
        raise AcdError(f"cannot dial {str(raw)[:40]!r}: not an E.164 number")
    return number


def caller_id(value) -> str:
    """The caller ID shown on calls we place: "" (the carrier decides) or digits."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not CALLER_ID.fullmatch(value):
        raise ValueError(f"outbound caller ID {str(value)[:40]!r} must be a number "
                         "(+ and 2-20 digits)")
    return value


def customer_id(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise AcdError(f"bad customer id {str(value)[:20]!r}")
    return value


def channel_id(value) -> str:
    """A channel's uniqueid as the dialplan receives it (Bridge, ChanSpy, Redirect)."""
    if not isinstance(value, str) or not CHANNEL_ID.fullmatch(value):
        raise AcdError(f"channel id {str(value)[:70]!r} is not one Asterisk gave")
    return value
