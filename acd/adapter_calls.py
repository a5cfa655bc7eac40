"""The ACD adapter's view of the calls it serves: which channel is the caller,
which is the agent's leg, and where each call is in its life.  Pure state, no
I/O; the router keeps the line, this keeps the Asterisk side of each call.
"""
from __future__ import annotations

import asyncio

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

__all__ = ["LiveCall", "CallBook", "Transfer", "WAITING", "RINGING", "TALKING", "CALLBACK",
           "VOICEMAIL", "DETACHED", "ON_HOLD", "CONSULTING", "DIALLING", "DIALLED_OUT",
           "INBOUND", "OUTBOUND", "utc"]

WAITING = "waiting"  # in acd-wait, music and announcements
RINGING = "ringing"  # Dial() rings the chosen agent (or the callback Originate does)
TALKING = "talking"  # the agent answered
CALLBACK = "callback"  # virtual hold: the caller hung up, the router keeps the place
VOICEMAIL = "voicemail"  # overflowed to voicemail
DETACHED = "detached"  # the offer could not be sent (AMI down): resync routes it again
ON_HOLD = "on_hold"  # the agent put the caller on hold: music in [acd-hold]
CONSULTING = "consulting"  # attended transfer: the caller on hold, the agent asks the target
DIALLING = "dialling"  # click-to-dial: the agent answered, the customer is being dialled
DIALLED_OUT = "dialled-out"  # blind transfer to a number: the ACD waits for the dial's end

INBOUND, OUTBOUND = "inbound", "outbound"
ENGAGED = (RINGING, TALKING, ON_HOLD, CONSULTING, DIALLING)  # phases an agent is on the call


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


@dataclass
class Transfer:
    """A transfer under way: who hands the call on, to what, and how far it got."""
    kind: str  # agent, queue or number
    target: str  # a username, a queue name or an E.164 number
    attended: bool
    from_agent: str
    from_user_id: int | None
    started_at: float
    target_agent: str | None = None  # the agent rung (agent, or a queue's next agent)
    target_uniqueid: str | None = None  # the consultation leg (attended)
    answered_at: float | None = None  # the target answered the consultation
    cancelled: bool = False  # the agent asked to drop the consultation
    ended: bool = False  # its segment is written


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
    direction: str = INBOUND  # OUTBOUND: an agent's click-to-dial (no queue)
    number: str = ""  # OUTBOUND: the customer's E.164 number
    pending: str | None = None  # an agent's command Asterisk has not answered yet
    agent_gone_at: float | None = None  # the agent leg hung up while a command was pending
    transfer: Transfer | None = None
    counted: bool = True  # this stay counts in the queue's statistics (not a transfer's)
    transfers: int = 0  # blind transfers back into the line so far
    consult_queue: str = ""  # attended: the queue the call belongs to once handed over
    record: object = None  # OUTBOUND: the cti.calls.Call written to the history
    # set while a blind transfer's Redirect to [acd-wait] has not landed: a second
    # Redirect (the next offer) sent before it lands can be lost by Asterisk
    landing: asyncio.Event | None = None


class CallBook:
    """LiveCalls by call id, by the caller's uniqueid and by the agent leg's."""

    def __init__(self) -> None:
        self._calls: dict[str, LiveCall] = {}
        self._by_caller: dict[str, LiveCall] = {}
        self._by_agent_leg: dict[str, LiveCall] = {}
        self._by_other_leg: dict[str, LiveCall] = {}  # consultation legs

    def __len__(self) -> int:
        return len(self._calls)

    def __contains__(self, call_id: str) -> bool:
        return call_id in self._calls

    def __iter__(self) -> Iterator[LiveCall]:
        return iter(list(self._calls.values()))

    def add(self, live: LiveCall) -> None:
        self._calls[live.call_id] = live
        if live.uniqueid:  # an outbound call has no customer leg until it is dialled
            self._by_caller[live.uniqueid] = live

    def set_caller(self, live: LiveCall, channel: str, uniqueid: str) -> None:
        """The customer's leg of an outbound call, once Asterisk dialled it."""
        self.caller_left(live)
        live.channel, live.uniqueid = channel, uniqueid
        self._by_caller[uniqueid] = live

    def caller_present(self, live: LiveCall) -> bool:
        return bool(live.uniqueid) and self._by_caller.get(live.uniqueid) is live

    def set_other_leg(self, live: LiveCall, uniqueid: str | None, old: str | None = None) -> None:
        if old and self._by_other_leg.get(old) is live:
            del self._by_other_leg[old]
        if uniqueid:
            self._by_other_leg[uniqueid] = live

    def by_other_leg(self, uniqueid: str | None) -> LiveCall | None:
        return self._by_other_leg.get(uniqueid or "")

    def of_agent(self, agent_id: str) -> LiveCall | None:
        """The call an agent talks on, or is consulted about."""
        for live in self._calls.values():
            if live.agent_id == agent_id and live.phase in ENGAGED:
                return live
            if live.transfer is not None and live.transfer.target_agent == agent_id \
                    and not live.transfer.ended:
                return live
        return None

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
        for uniqueid in [u for u, other in self._by_other_leg.items() if other is live]:
            del self._by_other_leg[uniqueid]
