"""The ACD's vocabulary: agents, queues, waiting calls and routing decisions.

Pure data, no I/O.  Times are plain floats in seconds on one clock chosen by the
caller (the engine uses Unix time, the same clock as Asterisk's event
timestamps; the simulator uses its own virtual time).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["AgentState", "Agent", "Overflow", "QueueConfig", "WaitingCall", "Decision",
           "OverflowAction", "AcdError", "OVERFLOW_ACTIONS", "BUSY_STATES", "MIN_PROFICIENCY",
           "MAX_PROFICIENCY"]

MIN_PROFICIENCY, MAX_PROFICIENCY = 1, 10
OVERFLOW_ACTIONS = ("queue", "relax", "voicemail", "callback")


class AcdError(ValueError):
    """A request the ACD refuses (unknown agent or queue, a transition that is not
    allowed from the current state); nothing was changed."""


class AgentState(str, enum.Enum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"  # chosen for a call: the phone is ringing
    ON_CALL = "on_call"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"
    NOT_READY = "not_ready"


# States in which a logout request waits for the call to end ("pending logout").
BUSY_STATES = (AgentState.RESERVED, AgentState.ON_CALL, AgentState.ON_HOLD, AgentState.WRAP_UP)


@dataclass
class Agent:
    agent_id: str  # the user's login name
    seat: str  # the PJSIP endpoint of the desk phone they sit at
    skills: dict[str, int]  # skill -> proficiency MIN_PROFICIENCY..MAX_PROFICIENCY
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0  # when the current state began
    idle_since: float = 0.0  # when the agent last became free (longest idle first)
    reason: str = ""  # not-ready reason code ("break", "ring-no-answer", ...)
    call_id: str | None = None  # the call they are reserved for / talking on
    logout_pending: bool = False  # logout asked while busy: done when the call ends
    wrap_up_until: float | None = None
    user_id: int | None = None  # CRM users.id, for history segments

    @property
    def presence(self) -> str:
        """What a wallboard shows: the state, or "pending_logout"."""
        return "pending_logout" if self.logout_pending else self.state.value


@dataclass(frozen=True)
class Overflow:
    """Where a call goes when it has waited `QueueConfig.max_wait` seconds."""
    action: str  # one of OVERFLOW_ACTIONS
    target: str = ""  # queue name ("queue"), mailbox ("voicemail")
    skills: tuple[str, ...] = ()  # the relaxed required skills ("relax")


@dataclass(frozen=True)
class QueueConfig:
    name: str
    skills: tuple[str, ...] = ()  # required skills (an agent needs all of them)
    priority: int = 0  # higher is served first, across queues
    sl_seconds: float = 20.0  # service level: answered within this many seconds
    sl_target: float = 0.8  # the share of calls the centre aims to answer within it
    max_wait: float | None = None  # seconds before `overflow` applies (None: never)
    overflow: Overflow | None = None
    ring_timeout: float = 15.0  # ring-no-answer after this many seconds
    wrap_up: float = 10.0  # seconds of after-call work before the agent is ready again
    moh: str = "default"  # Asterisk music-on-hold class
    announce_position: bool = True  # position and estimated wait, every announce_every s
    announce_every: float = 30.0
    callback_key: str | None = None  # a DTMF key that asks for a callback (virtual hold)
    last_agent: bool = False  # prefer the agent who served the customer last
    vip_weight: float = 0.0  # seconds a VIP caller is treated as having waited already


@dataclass
class WaitingCall:
    call_id: str  # Asterisk linkedid (or the simulator's call number)
    queue: str
    skills: tuple[str, ...]  # required now (a "relax" overflow replaces them)
    arrived_at: float  # entered the ACD: orders the line, kept across requeue/overflow
    queued_at: float  # entered the current queue: max_wait counts from here
    priority: int = 0  # the call's own priority (the IVR's), added to the queue's
    vip: bool = False
    customer_id: int | None = None
    caller: str = ""
    channel: str = ""  # the caller's Asterisk channel (adapter use)
    last_agent: str | None = None  # agent_id who served this customer last
    callback: str | None = None  # E.164 number to call back: the caller has hung up
    offered_to: str | None = None  # agent_id reserved for it (its phone is ringing)
    attempts: int = 0  # times offered to an agent
    overflowed_from: tuple[str, ...] = ()  # queues it left by overflow


@dataclass(frozen=True)
class Decision:
    """The router's choice of an agent for a call, with its reasons."""
    call_id: str
    agent_id: str
    seat: str
    queue: str
    at: float
    waited: float  # seconds since the call arrived
    callback: str | None  # set when the call to place is a callback
    why: str  # one line a supervisor can read: rank of the call, rank of the agent
    candidates: int = 1  # qualified ready agents considered


@dataclass(frozen=True)
class OverflowAction:
    """A call that reached its queue's max_wait and what happens to it.  The router
    applies "queue" and "relax" itself; "voicemail" and "callback" need the adapter
    (the call is removed from the line, or turned into a callback keeping its place)."""
    call: WaitingCall
    queue: str  # the queue it overflowed from
    overflow: Overflow
    at: float
