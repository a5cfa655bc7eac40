"""The ACD adapter's view of the calls it serves: which channel is the caller,
which is the agent's leg, and where each call is in its life.  Pure state, no
I/O; the router keeps the line, this keeps the Asterisk side of each call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

__all__ = ["LiveCall", "CallBook", "WAITING", "RINGING", "TALKING", "CALLBACK", "VOICEMAIL",
           "DETACHED", "utc"]

WAITING = "waiting"  # in acd-wait, music and announcements
RINGING = "ringing"  # Dial() rings the chosen agent (or the callback Originate does)
TALKING = "talking"  # the agent answered
CALLBACK = "callback"  # virtual hold: the caller hung up, the router keeps the place
VOICEMAIL = "voicemail"  # overflowed to voicemail
DETACHED = "detached"  # the offer could not be sent (AMI down): resync routes it again


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


@dataclass
class LiveCall:
    call_id: str  # linkedid
    channel: str  # the caller's channel
    uniqueid: str  # ... and its uniqueid
    queue: str  # the queue it is in now
    caller: str
    customer_id: int | None
    arrived_at: float  # entered the ACD (Asterisk's clock)
    stay_started: float  # entered the current queue: the start of its "queue" segment
    dialled: str = ""
    phase: str = WAITING
    agent_id: str | None = None  # the agent offered / talking
    user_id: int | None = None  # that agent's CRM user id
    seat: str = ""
    agent_uniqueid: str | None = None  # the agent's leg (Dial) or the callback's channel
    answered_at: float | None = None
    callback: str | None = None  # E.164 number, virtual hold
    callback_id: int | None = None  # the CRM callback row
    callback_dial: str = ""  # DIALSTATUS of the call to the customer
    channel_vars: tuple = ()  # (moh, announce every, ring timeout) last set on the channel
    announcements: int = 0
    history: list = field(default_factory=list)  # queue stays: (queue, outcome) for tests/logs
    polled: bool = False  # a CRM callback the poller took (no caller channel, no interaction)
    claimed: bool = False  # its CRM row is in_progress (ours): not claimed again when placed


class CallBook:
    """LiveCalls by call id, by the caller's uniqueid and by the agent leg's."""

    def __init__(self) -> None:
        self._calls: dict[str, LiveCall] = {}
        self._by_caller: dict[str, LiveCall] = {}
        self._by_agent_leg: dict[str, LiveCall] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def __contains__(self, call_id: str) -> bool:
        return call_id in self._calls

    def __iter__(self) -> Iterator[LiveCall]:
        return iter(list(self._calls.values()))

    def add(self, live: LiveCall) -> None:
        self._calls[live.call_id] = live
        self._by_caller[live.uniqueid] = live

    def get(self, call_id: str) -> LiveCall | None:
        return self._calls.get(call_id)

    def by_caller(self, uniqueid: str | None) -> LiveCall | None:
        return self._by_caller.get(uniqueid or "")

    def by_agent_leg(self, uniqueid: str | None) -> LiveCall | None:
        return self._by_agent_leg.get(uniqueid or "")

    def set_agent_leg(self, live: LiveCall, uniqueid: str | None) -> None:
        if live.agent_uniqueid:
            self._by_agent_leg.pop(live.agent_uniqueid, None)
        live.agent_uniqueid = uniqueid
        if uniqueid:
            self._by_agent_leg[uniqueid] = live

    def caller_left(self, live: LiveCall) -> None:
        """The caller's channel is gone (the call may live on: a callback, a talk)."""
        if self._by_caller.get(live.uniqueid) is live:
            del self._by_caller[live.uniqueid]

    def remove(self, live: LiveCall) -> None:
        if self._calls.get(live.call_id) is live:
            del self._calls[live.call_id]
        self.caller_left(live)
        if live.agent_uniqueid and self._by_agent_leg.get(live.agent_uniqueid) is live:
            del self._by_agent_leg[live.agent_uniqueid]
