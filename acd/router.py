"""The ACD's routing core: which waiting call goes to which ready agent, and why.

Pure: no I/O and no clock of its own.  Every method takes `now` (seconds on the
caller's clock); the adapter feeds Asterisk events in, the simulator feeds
virtual time.  Each change of availability (a call arrives, an agent becomes
ready, an offer fails, a wrap-up ends, a call overflows) returns the routing
decisions it caused, so nothing is ever decided behind the caller's back.

Rules (see the ACD contract):

* Line order: higher `queue.priority + call.priority` first, then earlier
  `arrived_at - vip_weight` (a VIP is treated as having waited `vip_weight`
  seconds longer), then arrival sequence.  The key is static while the call
  waits, so the line is kept sorted with bisect and never re-sorted.
* Agent choice among READY agents holding every required skill: the customer's
  last agent if the queue prefers them; else the highest proficiency (the
  lowest of the agent's levels over the required skills), then the longest
  idle, then agent_id.
* The invariant after every public method: no waiting, un-offered call has a
  READY agent qualified for it.  Because of it, a new call only needs routing
  on its own (no earlier call could take any ready agent), and an agent who
  becomes ready only needs the first call in line they qualify for (no other
  ready agent could take that call).

Every refused request raises AcdError before anything changes.  Decisions are
logged on logger "acd.router" at INFO with their one-line reason.

Agent fields as kept by the router: `call_id` is set while RESERVED, ON_CALL,
ON_HOLD and WRAP_UP (the call being wrapped up) and None otherwise;
`wrap_up_until` only in WRAP_UP; `reason` only in NOT_READY; `logout_pending`
only in a busy state.  Treat the Agent and WaitingCall objects handed out as
read-only: the router owns them.
"""
from __future__ import annotations

import bisect
import copy
import dataclasses
import functools
import heapq
import itertools
import logging
import re
from collections import deque
from types import MappingProxyType
from typing import Callable, Iterable, Mapping, TypeVar

from .model import (MAX_PROFICIENCY, MIN_PROFICIENCY, OVERFLOW_ACTIONS, AcdError, Agent,
                    AgentState, Decision, OverflowAction, QueueConfig, WaitingCall)
from .states import FREE_STATES, check_request, is_edge

__all__ = ["Router", "SKILL_RE", "REASON_RE"]

logger = logging.getLogger("acd.router")

SKILL_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
REASON_RE = re.compile(r"[a-z0-9_-]{1,32}\Z")

READY = AgentState.READY
NOT_READY = AgentState.NOT_READY
RESERVED = AgentState.RESERVED
LOGGED_OUT = AgentState.LOGGED_OUT
WRAP_UP = AgentState.WRAP_UP

_WRAP_UP_ENDS, _MAX_WAIT = 0, 1  # kinds of deadline

LineKey = tuple[int, float, int]
T = TypeVar("T")


class _Slot:
    """A call's place in the line: its static sort key, its required skills as a set,
    and its anchor: one of those skills (the least by name; "" when none), under
    which it is also filed, so that an agent who becomes ready only looks at calls
    filed under skills they hold."""
    __slots__ = ("key", "call", "skills", "anchor")

    def __init__(self, key: LineKey, call: WaitingCall) -> None:
        self.key = key
        self.call = call
        self.skills = frozenset(call.skills)
        self.anchor = min(self.skills, default="")


@dataclasses.dataclass(frozen=True)
class _Direct:
    """A direct reservation (click-to-dial, consultation): the call it is for, the
    wrap-up its talk ends with, and where the agent was, to go back there when
    it is cancelled before the phone rang (a refused command changes nothing)."""
    call_id: str
    request: str
    wrap_up: float
    state: AgentState
    reason: str
    since: float
    wrap_up_until: float | None


def _slot_key(slot: _Slot) -> LineKey:
    return slot.key


def _request(method: Callable[..., T]) -> Callable[..., T]:
    """A public method that changes state: its listener calls are delivered once it
    has finished (also when it failed halfway through an unexpected error)."""
    @functools.wraps(method)
    def run(self: Router, *args, **kwargs) -> T:
        if self._in_request:
            return method(self, *args, **kwargs)
        self._in_request = True
        try:
            return method(self, *args, **kwargs)
        finally:
            self._in_request = False
            self._deliver()
    return run


class Router:
    """Agents, the line of waiting calls, and the decisions that join them.

    on_agent(agent, previous) is called for every state change (and with
    previous == agent.state when only the presence changed: a pending logout),
    with a copy of the agent as of that change; on_decision(decision) for every
    decision.  Both run after the request that caused them has finished, in order.
    """

    def __init__(self, queues: Iterable[QueueConfig] | Mapping[str, QueueConfig], *,
                 on_decision: Callable[[Decision], None] | None = None,
                 on_agent: Callable[[Agent, AgentState], None] | None = None) -> None:
        self._queues = _checked_queues(queues)
        self._queues_view = MappingProxyType(self._queues)
        self._on_decision = on_decision
        self._on_agent = on_agent
        # Listener calls wait here until the request has finished, so a listener
        # always sees a consistent router and may safely call back into it.
        self._outbox: deque[tuple[Callable[..., None], tuple]] = deque()
        self._in_request = False
        self._agents: dict[str, Agent] = {}
        # Skills as given at login, kept privately (the Agent record is handed out).
        self._levels: dict[str, dict[str, int]] = {}  # agent_id -> skill -> proficiency
        self._agent_skills: dict[str, frozenset[str]] = {}  # agent_id -> skill names
        self._seats: dict[str, str] = {}  # seat -> logged-in agent_id
        # The READY index.  Sets answer "who could take this call" by intersection;
        # the sorted ranks answer "who is best" at once for calls needing one skill
        # or none, the cases where hundreds of agents may be candidates.
        self._ready: set[str] = set()  # READY agent ids
        self._ready_idle: dict[str, float] = {}  # READY agent -> idle_since (fixed while READY)
        self._ready_by_skill: dict[str, set[str]] = {}  # skill -> READY agent ids holding it
        self._rank_any: list[tuple[float, str]] = []  # READY by (idle_since, agent_id)
        self._rank_by_skill: dict[str, list[tuple[int, float, str]]] = {}  # (-level, idle, id)
        self._line: list[_Slot] = []  # waiting calls, sorted by key (offered ones included)
        self._line_by_anchor: dict[str, list[_Slot]] = {}  # the same, split by anchor skill
        self._slots: dict[str, _Slot] = {}  # call_id -> its slot in the line
        self._arrivals = itertools.count()  # ties in the line key: first come first served
        self._overflow_done: set[str] = set()  # relaxed / callback-marked: not again here
        self._talk_queue: dict[str, QueueConfig] = {}  # agent_id -> queue of the call talked on
        self._direct: dict[str, _Direct] = {}  # agent_id -> their direct reservation (RESERVED)
        self._talk_wrap_up: dict[str, float] = {}  # agent_id -> wrap-up of a direct talk
        self._deadlines: list[tuple[float, int, int, str]] = []  # heap: (at, seq, kind, id)
        self._deadline_seq = itertools.count()

    # ------------------------------------------------------------------ queues

    @property
    def queues(self) -> Mapping[str, QueueConfig]:
        """The queue configuration, read-only."""
        return self._queues_view

    @_request
    def set_queues(self, queues: Iterable[QueueConfig] | Mapping[str, QueueConfig],
                   now: float) -> list[Decision]:
        """Reload the queue configuration.  Refused while a call waits in a queue that
        would disappear.  Waiting calls keep their skills; their line places follow
        the new priorities and VIP weights, and max_wait counts on from queued_at."""
        new = _checked_queues(queues)
        orphans = sorted({s.call.queue for s in self._line if s.call.queue not in new})
        if orphans:
            raise AcdError(f"cannot remove queue(s) {', '.join(orphans)}: "
                           "calls are waiting in them")
        self._queues = new
        self._queues_view = MappingProxyType(new)
        for slot in self._line:
            slot.key = self._line_key(slot.call, slot.key[2])
        self._line.sort(key=_slot_key)
        for part in self._line_by_anchor.values():
            part.sort(key=_slot_key)
        self._rebuild_deadlines()
        # Nothing about availability changed, so this finds nothing while the
        # invariant holds; it is cheap insurance after a reload.
        decisions: list[Decision] = []
        for slot in list(self._line):
            if slot.call.offered_to is None and self._slots.get(slot.call.call_id) is slot:
                decisions += self._route_call(slot, now)
        return decisions

    def _queue(self, name: str) -> QueueConfig:
        try:
            return self._queues[name]
        except (KeyError, TypeError):
            raise AcdError(f"unknown queue {name!r}") from None

    # ------------------------------------------------------------------ agents

    def agent(self, agent_id: str) -> Agent:
        """The agent record (read-only); AcdError if the agent never logged in."""
        try:
            return self._agents[agent_id]
        except (KeyError, TypeError):
            raise AcdError(f"unknown agent {agent_id!r}") from None

    def agents(self) -> list[Agent]:
        """Every agent known since start, logged out ones included."""
        return list(self._agents.values())

    @_request
    def login(self, agent_id: str, seat: str, skills: Mapping[str, int], now: float, *,
              user_id: int | None = None) -> Agent:
        """Log an agent in at a seat: NOT_READY with reason "login"."""
        if not isinstance(agent_id, str) or not agent_id:
            raise AcdError(f"bad agent id {agent_id!r}")
        if not isinstance(seat, str) or not seat:
            raise AcdError(f"agent {agent_id}: bad seat {seat!r}")
        known = self._agents.get(agent_id)
        if known is not None and known.state is not LOGGED_OUT:
            raise AcdError(f"agent {agent_id} is already logged in at seat {known.seat}")
        holder = self._seats.get(seat)
        if holder is not None and holder != agent_id:
            raise AcdError(f"agent {agent_id}: seat {seat} is in use by {holder}")
        levels = _checked_skills(agent_id, skills)

        agent = known or Agent(agent_id=agent_id, seat=seat, skills={})
        agent.seat, agent.skills, agent.user_id = seat, levels, user_id
        agent.logout_pending = False
        self._agents[agent_id] = agent
        self._levels[agent_id] = dict(levels)
        self._agent_skills[agent_id] = frozenset(levels)
        self._seats[seat] = agent_id
        self._set_state(agent, NOT_READY, now, reason="login")
        return agent

    @_request
    def ready(self, agent_id: str, now: float) -> list[Decision]:
        """The agent is available (from NOT_READY, or ending wrap-up early).  With a
        pending logout, ending wrap-up logs them out instead."""
        agent = self.agent(agent_id)
        check_request("ready", agent)
        return self._free_agent(agent, now, changed_at=now, idle_since=now)

    @_request
    def not_ready(self, agent_id: str, reason: str, now: float) -> None:
        """Unavailable for calls with a reason code ("break", "lunch", ...).  Ending
        wrap-up this way with a pending logout logs the agent out."""
        agent = self.agent(agent_id)
        check_request("not_ready", agent)
        _check_reason(reason)
        if agent.logout_pending:
            self._set_state(agent, LOGGED_OUT, now)
        elif not (agent.state is NOT_READY and agent.reason == reason):
            self._set_state(agent, NOT_READY, now, reason=reason)

    @_request
    def logout(self, agent_id: str, now: float) -> None:
        """Log out now when free; while busy the logout waits for the call or
        wrap-up to end (presence "pending_logout", on_agent told with the same state)."""
        agent = self.agent(agent_id)
        check_request("logout", agent)
        if agent.state in FREE_STATES:
            self._set_state(agent, LOGGED_OUT, now)
            return
        if agent.logout_pending:
            raise AcdError(f"agent {agent_id}: logout already pending")
        agent.logout_pending = True
        self._notify_agent(agent, agent.state)

    @_request
    def hold(self, agent_id: str, now: float) -> None:
        """The agent put the caller on hold."""
        agent = self.agent(agent_id)
        check_request("hold", agent)
        self._set_state(agent, AgentState.ON_HOLD, now)

    @_request
    def unhold(self, agent_id: str, now: float) -> None:
        """The agent took the caller back from hold."""
        agent = self.agent(agent_id)
        check_request("unhold", agent)
        self._set_state(agent, AgentState.ON_CALL, now)

    @_request
    def call_ended(self, agent_id: str, now: float, *,
                   wrap_up: float | None = None) -> list[Decision]:
        """The agent's call ended: after-call work for the queue's wrap_up seconds
        (a direct talk: the wrap-up given when it was reserved; ``wrap_up``
        overrides both, e.g. 0 after a consultation that did not take the call),
        or straight back to READY (LOGGED_OUT with a pending logout) when it is 0."""
        agent = self.agent(agent_id)
        check_request("call_ended", agent)
        if wrap_up is not None and (isinstance(wrap_up, bool) or not wrap_up >= 0):
            raise AcdError(f"agent {agent_id}: bad wrap-up {wrap_up!r}")
        stored = self._talk_queue.pop(agent_id, None)
        direct = self._talk_wrap_up.pop(agent_id, 0.0)
        # The current configuration wins; the one the call was answered under
        # serves when the queue was removed by a reload since.
        queue = self._queues.get(stored.name, stored) if stored else None
        if wrap_up is None:
            wrap_up = queue.wrap_up if queue else direct
        if wrap_up <= 0:
            return self._free_agent(agent, now, changed_at=now, idle_since=now)
        agent.wrap_up_until = now + wrap_up
        self._set_state(agent, WRAP_UP, now)
        self._push_deadline(agent.wrap_up_until, _WRAP_UP_ENDS, agent_id)
        return []

    @_request
    def wrap_up_done(self, agent_id: str, now: float) -> list[Decision]:
        """After-call work finished early: READY (or LOGGED_OUT with a pending logout)."""
        agent = self.agent(agent_id)
        check_request("wrap_up_done", agent)
        return self._free_agent(agent, now, changed_at=now, idle_since=now)

    # ------------------------------------------------------------------ direct reservations

    @_request
    def reserve_direct(self, agent_id: str, call_id: str, now: float, *, request: str,
                       wrap_up: float = 0.0) -> Agent:
        """Reserve an agent for a call outside the line: "dial" (their own
        click-to-dial, from NOT_READY or WRAP_UP) or "consult" (another agent asks
        them about a call, from READY).  RESERVED until direct_answered,
        direct_failed or direct_cancelled; the talk ends with ``wrap_up`` seconds
        of after-call work."""
        if request not in ("dial", "consult"):
            raise AcdError(f"unknown direct reservation {request!r}")
        agent = self.agent(agent_id)
        check_request(request, agent)
        if not isinstance(call_id, str) or not call_id:
            raise AcdError(f"bad call id {call_id!r}")
        if isinstance(wrap_up, bool) or not isinstance(wrap_up, (int, float)) \
                or not wrap_up >= 0:
            raise AcdError(f"agent {agent_id}: bad wrap-up {wrap_up!r}")
        self._direct[agent_id] = _Direct(call_id, request, float(wrap_up), agent.state,
                                         agent.reason, agent.since, agent.wrap_up_until)
        agent.call_id = call_id
        self._set_state(agent, RESERVED, now)
        logger.info("agent %s reserved for call %s (%s)", agent_id, call_id, request)
        return agent

    def direct_call(self, agent_id: str) -> str | None:
        """The call an agent is directly reserved for (RESERVED outside the line)."""
        direct = self._direct.get(agent_id)
        return direct.call_id if direct else None

    @_request
    def direct_answered(self, agent_id: str, now: float) -> Agent:
        """The directly reserved agent answered: ON_CALL."""
        agent, direct = self._reserved_direct(agent_id, "direct_answered")
        del self._direct[agent_id]
        self._talk_wrap_up[agent_id] = direct.wrap_up
        self._set_state(agent, AgentState.ON_CALL, now)
        return agent

    @_request
    def direct_failed(self, agent_id: str, now: float, reason: str) -> None:
        """The agent's phone did not take the direct call: NOT_READY with
        ``reason`` (LOGGED_OUT with a pending logout), as after a ring-no-answer."""
        _check_reason(reason)
        agent, _ = self._reserved_direct(agent_id, "direct_failed")
        del self._direct[agent_id]
        if agent.logout_pending:
            self._set_state(agent, LOGGED_OUT, now)
        else:
            self._set_state(agent, NOT_READY, now, reason=reason)

    @_request
    def direct_cancelled(self, agent_id: str, now: float) -> list[Decision]:
        """The direct call went away before the agent answered (it could not be
        placed, or the consultation was dropped): the agent is where they were,
        a wrap-up ending meanwhile ends now."""
        agent, direct = self._reserved_direct(agent_id, "direct_cancelled")
        del self._direct[agent_id]
        if direct.state is READY:
            return self._free_agent(agent, now, changed_at=now, idle_since=agent.idle_since)
        if direct.state is WRAP_UP and direct.wrap_up_until is not None \
                and direct.wrap_up_until > now:
            agent.wrap_up_until = direct.wrap_up_until
            self._set_state(agent, WRAP_UP, direct.since)
            self._push_deadline(direct.wrap_up_until, _WRAP_UP_ENDS, agent_id)
            return []
        if direct.state is WRAP_UP or agent.logout_pending:
            return self._free_agent(agent, now, changed_at=now, idle_since=now)
        self._set_state(agent, NOT_READY, direct.since, reason=direct.reason)
        return []

    def _reserved_direct(self, agent_id: str, request: str) -> tuple[Agent, _Direct]:
        agent = self.agent(agent_id)
        check_request(request, agent)
        direct = self._direct.get(agent_id)
        if direct is None:
            raise AcdError(f"agent {agent_id}: {request} refused: their phone rings for a "
                           "call in line, not a direct one")
        return agent, direct

    def staffed(self, queue: str) -> int:
        """Logged-in agents, not NOT_READY, holding every skill the queue requires."""
        needed = frozenset(self._queue(queue).skills)
        return sum(1 for agent in self._agents.values()
                   if agent.state is not LOGGED_OUT and agent.state is not NOT_READY
                   and needed <= self._agent_skills[agent.agent_id])

    # ------------------------------------------------------------------ calls

    @_request
    def enqueue(self, call: WaitingCall, now: float) -> list[Decision]:
        """A caller joins the line; routed at once if a qualified agent is ready.
        The router takes the call object and keeps it up to date (offered_to,
        attempts, queue and skills after overflow)."""
        return self._route_call(self._admit(call), now)

    @_request
    def offer_to(self, call: WaitingCall, agent_id: str, now: float) -> list[Decision]:
        """A call joins the line already offered to one named READY agent (a blind
        transfer to them), whatever their skills.  From then on it is an ordinary
        offer: answered, or offer_failed puts the agent NOT_READY and the call is
        routed again from its place (its arrived_at)."""
        agent = self.agent(agent_id)
        check_request("offer_to", agent)
        slot = self._admit(call)
        return [self._reserve(slot, agent, now, 1, f"transferred to {agent_id}")]

    def best_ready(self, queue: str) -> str | None:
        """The READY agent a new call of ``queue`` would be given now, or None.
        Reads only (a consultation with "the queue's next agent" reserves them
        with reserve_direct)."""
        skills = frozenset(self._queue(queue).skills)
        candidates = self._candidates(skills)
        return self._best_agent(candidates, skills) if candidates else None

    def _admit(self, call: WaitingCall) -> _Slot:
        """Check a new call and put it in line (not routed yet)."""
        self._queue(call.queue)
        if not isinstance(call.call_id, str) or not call.call_id:
            raise AcdError(f"bad call id {call.call_id!r}")
        if call.call_id in self._slots:
            raise AcdError(f"call {call.call_id} is already waiting")
        if call.offered_to is not None:
            raise AcdError(f"call {call.call_id}: a new call cannot be offered already")
        skills = _checked_call_skills(f"call {call.call_id}", call.skills)
        if isinstance(call.priority, bool) or not isinstance(call.priority, int):
            raise AcdError(f"call {call.call_id}: priority must be an integer")
        for name in ("arrived_at", "queued_at"):
            value = getattr(call, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                raise AcdError(f"call {call.call_id}: {name} must be a number, not {value!r}")

        call.skills = skills
        slot = _Slot(self._line_key(call, next(self._arrivals)), call)
        self._insert(slot)
        self._watch_max_wait(slot)
        return slot

    @_request
    def abandon(self, call_id: str, now: float) -> tuple[WaitingCall | None, list[Decision]]:
        """The caller hung up while waiting or while an agent's phone rang.  A reserved
        agent goes back to READY keeping their idle_since (they did not work) and may
        be given the next call.  (None, []) for an unknown call: idempotent."""
        slot = self._slots.get(call_id)
        if slot is None:
            return None, []
        self._remove(slot)
        call = slot.call
        if call.offered_to is None:
            return call, []
        agent = self._agents[call.offered_to]
        return call, self._free_agent(agent, now, changed_at=now, idle_since=agent.idle_since)

    @_request
    def answered(self, call_id: str, now: float) -> WaitingCall:
        """The reserved agent answered: ON_CALL, and the call leaves the line."""
        slot = self._offered_slot(call_id, "answered")
        agent = self._agents[slot.call.offered_to]
        check_request("answered", agent)
        self._remove(slot)
        self._talk_queue[agent.agent_id] = self._queues[slot.call.queue]
        self._set_state(agent, AgentState.ON_CALL, now)
        return slot.call

    @_request
    def offer_failed(self, call_id: str, now: float,
                     reason: str = "ring-no-answer") -> list[Decision]:
        """The reserved agent did not take the call: they go NOT_READY with `reason`
        (LOGGED_OUT with a pending logout) so the next call does not ring them
        again; the call keeps its place (it was the head) and is routed again."""
        _check_reason(reason)
        slot = self._offered_slot(call_id, "offer_failed")
        agent = self._agents[slot.call.offered_to]
        check_request("offer_failed", agent)
        slot.call.offered_to = None
        if agent.logout_pending:
            self._set_state(agent, LOGGED_OUT, now)
        else:
            self._set_state(agent, NOT_READY, now, reason=reason)
        self._watch_max_wait(slot)
        return self._route_call(slot, now)

    @_request
    def to_callback(self, call_id: str, number: str, now: float) -> list[Decision]:
        """Virtual hold: the caller hangs up and is called back at `number` when an
        agent is free.  The call keeps its place in line and never overflows again.
        Refused while an agent's phone is ringing for it."""
        slot = self._slots.get(call_id)
        if slot is None:
            raise AcdError(f"unknown call {call_id!r}")
        if not isinstance(number, str) or not number.strip():
            raise AcdError(f"call {call_id}: bad callback number {number!r}")
        if slot.call.offered_to is not None:
            raise AcdError(f"call {call_id} is ringing agent {slot.call.offered_to}; "
                           "no callback now")
        slot.call.callback = number
        self._overflow_done.discard(call_id)  # the callback itself now says "never again"
        return self._route_call(slot, now)

    def call(self, call_id: str) -> WaitingCall | None:
        """A call in line (offered or not), None when unknown or gone."""
        slot = self._slots.get(call_id)
        return slot.call if slot else None

    def waiting(self, queue: str | None = None) -> list[WaitingCall]:
        """Calls in line order (ringing ones included), of one queue or all."""
        if queue is None:
            return [slot.call for slot in self._line]
        self._queue(queue)
        return [slot.call for slot in self._line if slot.call.queue == queue]

    def position(self, call_id: str) -> int | None:
        """1-based place of the call among its queue's calls (ringing ones included)."""
        slot = self._slots.get(call_id)
        if slot is None:
            return None
        queue, place = slot.call.queue, 0
        for other in self._line:
            if other.call.queue == queue:
                place += 1
                if other is slot:
                    return place
        raise AssertionError(f"call {call_id} indexed but not in line")  # pragma: no cover

    # ------------------------------------------------------------------ time

    @_request
    def tick(self, now: float) -> tuple[list[Decision], list[OverflowAction]]:
        """Apply every deadline up to `now` in time order: wrap-ups ending (the agent
        becomes READY as of the deadline) and calls reaching their queue's max_wait."""
        decisions: list[Decision] = []
        actions: list[OverflowAction] = []
        overflowed: set[str] = set()
        later: list[tuple[float, int, int, str]] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            entry = heapq.heappop(self._deadlines)
            at, _, kind, ident = entry
            if kind == _WRAP_UP_ENDS:
                agent = self._agents.get(ident)
                if agent is not None and self._wrap_up_due(agent) == at:
                    decisions += self._free_agent(agent, now, changed_at=at, idle_since=at)
                continue
            slot = self._slots.get(ident)
            if slot is None or self._max_wait_due(slot) != at:
                continue  # stale: gone, offered, marked, or moved since
            if ident in overflowed:
                later.append(entry)  # one overflow per call per tick: no A->B->A loops
                continue
            overflowed.add(ident)
            action, routed = self._overflow(slot, now)
            actions.append(action)
            decisions += routed
        for entry in later:
            heapq.heappush(self._deadlines, entry)
        return decisions, actions

    def next_deadline(self) -> float | None:
        """When tick() next has something to do: the earliest wrap-up end or max_wait."""
        heap = self._deadlines
        while heap:
            at, _, kind, ident = heap[0]
            if kind == _WRAP_UP_ENDS:
                agent = self._agents.get(ident)
                if agent is not None and self._wrap_up_due(agent) == at:
                    return at
            else:
                slot = self._slots.get(ident)
                if slot is not None and self._max_wait_due(slot) == at:
                    return at
            heapq.heappop(heap)  # stale entries are dropped lazily, here or in tick()
        return None

    # ------------------------------------------------------------------ routing

    def _route_call(self, slot: _Slot, now: float) -> list[Decision]:
        """Give one un-offered call to the best READY agent qualified for it, if any."""
        candidates = self._candidates(slot.skills)
        if not candidates:
            return []
        call = slot.call
        queue = self._queues[call.queue]
        count = len(candidates)
        if queue.last_agent and call.last_agent in candidates:
            agent = self._agents[call.last_agent]
            why = f"last agent, {self._skill_levels(agent, call)}, {_plural(count, 'candidate')}"
        else:
            agent = self._agents[self._best_agent(candidates, slot.skills)]
            why = (f"{self._skill_levels(agent, call)}, idle {now - agent.idle_since:.1f}s, "
                   f"{_plural(count, 'candidate')}")
        return [self._reserve(slot, agent, now, count, why)]

    def _route_agent(self, agent: Agent, now: float) -> list[Decision]:
        """Give a newly READY agent the first un-offered call in line they qualify
        for.  Thanks to the invariant nobody else ready could take that call, so
        they are its only candidate.  Only the parts of the line filed under the
        agent's skills (and under "" for calls needing none) can hold it; the best
        is the earliest of each part's first fit."""
        skills = self._agent_skills[agent.agent_id]
        best: _Slot | None = None
        for anchor in itertools.chain(("",), skills):
            for slot in self._line_by_anchor.get(anchor, ()):
                if best is not None and slot.key > best.key:
                    break  # everything further in this part is behind the best so far
                if slot.call.offered_to is None and slot.skills <= skills:
                    best = slot
                    break
        if best is None:
            return []
        place = bisect.bisect_left(self._line, best.key, key=_slot_key) + 1
        why = (f"{self._skill_levels(agent, best.call)}, idle {now - agent.idle_since:.1f}s, "
               f"agent ready: first call in line they can take, #{place} in line")
        return [self._reserve(best, agent, now, 1, why)]

    def _candidates(self, skills: frozenset[str]) -> set[str]:
        """READY agents holding every skill: intersect the per-skill sets, smallest
        first so the work is bounded by the rarest skill.  Do not mutate the result."""
        if not skills:
            return self._ready
        sets = []
        for skill in skills:
            holders = self._ready_by_skill.get(skill)
            if not holders:
                return set()
            sets.append(holders)
        if len(sets) == 1:
            return sets[0]
        sets.sort(key=len)
        return sets[0].intersection(*sets[1:])

    def _best_agent(self, candidates: set[str], skills: frozenset[str]) -> str:
        """Highest proficiency (lowest level over the required skills), then longest
        idle, then agent_id.  One skill or none: the head of a sorted rank (for no
        skill every agent counts as level 10, so idle time decides)."""
        if not skills:
            return self._rank_any[0][1]
        if len(skills) == 1:
            (skill,) = skills
            return self._rank_by_skill[skill][0][2]
        if len(candidates) == 1:
            return next(iter(candidates))
        levels, idle = self._levels, self._ready_idle
        return min(candidates, key=lambda a: (-min([levels[a][s] for s in skills]), idle[a], a))

    def _reserve(self, slot: _Slot, agent: Agent, now: float, candidates: int,
                 agent_why: str) -> Decision:
        """Reserve the agent for the call (their phone is about to ring)."""
        call = slot.call
        call.offered_to = agent.agent_id
        call.attempts += 1
        agent.call_id = call.call_id
        self._set_state(agent, RESERVED, now)
        decision = Decision(call_id=call.call_id, agent_id=agent.agent_id, seat=agent.seat,
                            queue=call.queue, at=now, waited=now - call.arrived_at,
                            callback=call.callback,
                            why=f"{self._call_why(call, now)} -> {agent.agent_id} ({agent_why})",
                            candidates=candidates)
        logger.info("%s", decision.why)
        if self._on_decision is not None:
            self._outbox.append((self._on_decision, (decision,)))
        return decision

    def _call_why(self, call: WaitingCall, now: float) -> str:
        """The call's side of a decision's reason: why it is the one served."""
        queue = self._queues[call.queue]
        parts = [f"queue {call.queue}", f"priority {queue.priority + call.priority}",
                 f"waited {now - call.arrived_at:.1f}s"]
        if call.vip and queue.vip_weight:
            parts.append(f"VIP +{queue.vip_weight:g}s")
        if call.overflowed_from:
            parts.append(f"overflowed from {', '.join(call.overflowed_from)}")
        if call.callback:
            parts.append("callback")
        if call.attempts > 1:
            parts.append(f"attempt {call.attempts}")
        return f"call {call.call_id} ({', '.join(parts)})"

    def _skill_levels(self, agent: Agent, call: WaitingCall) -> str:
        if not call.skills:
            return "any skill"
        levels = self._levels[agent.agent_id]
        return " ".join(f"{s}={levels[s]}" for s in dict.fromkeys(call.skills))

    # ------------------------------------------------------------------ agent state

    def _free_agent(self, agent: Agent, now: float, *, changed_at: float,
                    idle_since: float) -> list[Decision]:
        """The agent is done with what held them: READY and routed, or LOGGED_OUT
        when a logout is pending (never READY then)."""
        if agent.logout_pending:
            self._set_state(agent, LOGGED_OUT, changed_at)
            return []
        agent.idle_since = idle_since
        self._set_state(agent, READY, changed_at)
        return self._route_agent(agent, now)

    def _set_state(self, agent: Agent, state: AgentState, at: float, reason: str = "") -> None:
        """The one place an agent's state changes: keeps the READY index, the seat
        map and the per-state fields consistent, then tells on_agent."""
        previous = agent.state
        assert is_edge(previous, state), f"{agent.agent_id}: {previous.value} -> {state.value}"
        agent_id = agent.agent_id
        if previous is READY and state is not READY:
            self._unindex_ready(agent_id)
        elif state is READY and previous is not READY:
            self._index_ready(agent_id, agent.idle_since)
        if state is READY or state is NOT_READY or state is LOGGED_OUT:
            agent.call_id = None
        if state is not WRAP_UP:
            agent.wrap_up_until = None
        if state is LOGGED_OUT:
            agent.logout_pending = False
            if self._seats.get(agent.seat) == agent_id:
                del self._seats[agent.seat]
        agent.reason = reason if state is NOT_READY else ""
        agent.state = state
        agent.since = at
        self._notify_agent(agent, previous)

    def _index_ready(self, agent_id: str, idle_since: float) -> None:
        self._ready.add(agent_id)
        self._ready_idle[agent_id] = idle_since
        bisect.insort(self._rank_any, (idle_since, agent_id))
        for skill, level in self._levels[agent_id].items():
            self._ready_by_skill.setdefault(skill, set()).add(agent_id)
            bisect.insort(self._rank_by_skill.setdefault(skill, []), (-level, idle_since, agent_id))

    def _unindex_ready(self, agent_id: str) -> None:
        self._ready.discard(agent_id)
        idle_since = self._ready_idle.pop(agent_id)
        _remove_sorted(self._rank_any, (idle_since, agent_id))
        for skill, level in self._levels[agent_id].items():
            self._ready_by_skill[skill].discard(agent_id)
            _remove_sorted(self._rank_by_skill[skill], (-level, idle_since, agent_id))

    def _notify_agent(self, agent: Agent, previous: AgentState) -> None:
        if self._on_agent is not None:
            # a copy: the record may change again before the listener runs
            self._outbox.append((self._on_agent, (copy.copy(agent), previous)))

    def _deliver(self) -> None:
        """Run the listeners for what the finished request did, in order.  A listener
        may call back into the router: that request runs now and delivers its own
        events after the ones still waiting here."""
        outbox = self._outbox
        while outbox:
            listener, args = outbox.popleft()
            try:
                listener(*args)
            except Exception:  # one listener's bug must not cost the others their events
                logger.exception("router listener %r failed", listener)

    # ------------------------------------------------------------------ the line

    def _line_key(self, call: WaitingCall, arrival: int) -> LineKey:
        queue = self._queues[call.queue]
        bonus = queue.vip_weight if call.vip else 0.0
        return (-(queue.priority + call.priority), call.arrived_at - bonus, arrival)

    def _insert(self, slot: _Slot) -> None:
        bisect.insort(self._line, slot, key=_slot_key)
        bisect.insort(self._line_by_anchor.setdefault(slot.anchor, []), slot, key=_slot_key)
        self._slots[slot.call.call_id] = slot

    def _remove(self, slot: _Slot) -> None:
        _remove_slot(self._line, slot)
        _remove_slot(self._line_by_anchor[slot.anchor], slot)
        del self._slots[slot.call.call_id]
        self._overflow_done.discard(slot.call.call_id)

    def _offered_slot(self, call_id: str, request: str) -> _Slot:
        slot = self._slots.get(call_id)
        if slot is None:
            raise AcdError(f"{request}: unknown call {call_id!r}")
        if slot.call.offered_to is None:
            raise AcdError(f"{request}: call {call_id} is not offered to any agent")
        return slot

    # ------------------------------------------------------------------ deadlines

    def _push_deadline(self, at: float, kind: int, ident: str) -> None:
        heapq.heappush(self._deadlines, (at, next(self._deadline_seq), kind, ident))

    def _watch_max_wait(self, slot: _Slot) -> None:
        due = self._max_wait_due(slot)
        if due is not None:
            self._push_deadline(due, _MAX_WAIT, slot.call.call_id)

    def _max_wait_due(self, slot: _Slot) -> float | None:
        """When the call overflows, or None: only waiting, un-offered calls that are
        not callbacks and were not relaxed/marked in this queue overflow."""
        call = slot.call
        queue = self._queues[call.queue]
        if (queue.max_wait is None or queue.overflow is None or call.offered_to is not None
                or call.callback is not None or call.call_id in self._overflow_done):
            return None
        return call.queued_at + queue.max_wait

    @staticmethod
    def _wrap_up_due(agent: Agent) -> float | None:
        return agent.wrap_up_until if agent.state is WRAP_UP else None

    def _rebuild_deadlines(self) -> None:
        self._deadlines = []
        for agent in self._agents.values():
            due = self._wrap_up_due(agent)
            if due is not None:
                self._push_deadline(due, _WRAP_UP_ENDS, agent.agent_id)
        for slot in self._line:
            self._watch_max_wait(slot)

    def _overflow(self, slot: _Slot, now: float) -> tuple[OverflowAction, list[Decision]]:
        """Apply the queue's overflow to a call that reached max_wait."""
        call = slot.call
        origin = self._queues[call.queue]
        overflow = origin.overflow
        assert overflow is not None
        decisions: list[Decision] = []
        if overflow.action == "queue":
            self._remove(slot)
            target = self._queues[overflow.target]
            call.queue, call.queued_at, call.skills = target.name, now, tuple(target.skills)
            call.overflowed_from = call.overflowed_from + (origin.name,)
            moved = _Slot(self._line_key(call, slot.key[2]), call)  # same arrival: same place
            self._insert(moved)
            self._watch_max_wait(moved)
            decisions = self._route_call(moved, now)
        elif overflow.action == "relax":
            self._remove(slot)
            call.skills = tuple(overflow.skills)
            relaxed = _Slot(slot.key, call)  # same place, new skills and anchor
            self._insert(relaxed)
            self._overflow_done.add(call.call_id)
            decisions = self._route_call(relaxed, now)
        elif overflow.action == "voicemail":
            self._remove(slot)
        else:  # "callback": kept in line; the adapter turns it into one via to_callback
            self._overflow_done.add(call.call_id)
        logger.info("call %s overflowed from queue %s after %.1fs: %s%s", call.call_id,
                    origin.name, now - call.arrived_at, overflow.action,
                    f" {overflow.target}" if overflow.target else "")
        return OverflowAction(call=call, queue=origin.name, overflow=overflow, at=now), decisions


# ---------------------------------------------------------------------- checks

def _checked_queues(queues: Iterable[QueueConfig] | Mapping[str, QueueConfig]
                    ) -> dict[str, QueueConfig]:
    """The configuration as a dict, refused as a whole on the first problem."""
    if isinstance(queues, Mapping):
        for name, queue in queues.items():
            if not isinstance(queue, QueueConfig) or queue.name != name:
                raise AcdError(f"queue {name!r}: the key must be its QueueConfig's name")
        items = list(queues.values())
    else:
        items = list(queues)
    out: dict[str, QueueConfig] = {}
    for queue in items:
        if not isinstance(queue, QueueConfig):
            raise AcdError(f"not a QueueConfig: {queue!r}")
        if not queue.name:
            raise AcdError("a queue needs a name")
        if queue.name in out:
            raise AcdError(f"queue {queue.name} is defined twice")
        _checked_call_skills(f"queue {queue.name}", queue.skills)
        if queue.wrap_up < 0:
            raise AcdError(f"queue {queue.name}: wrap_up must be >= 0")
        if queue.max_wait is not None and queue.max_wait < 0:
            raise AcdError(f"queue {queue.name}: max_wait must be >= 0")
        out[queue.name] = queue
    for queue in out.values():
        _check_overflow(queue, out)
    return out


def _check_overflow(queue: QueueConfig, queues: Mapping[str, QueueConfig]) -> None:
    overflow = queue.overflow
    if overflow is None:
        return
    if overflow.action not in OVERFLOW_ACTIONS:
        raise AcdError(f"queue {queue.name}: unknown overflow action {overflow.action!r}")
    if overflow.action == "queue" and (overflow.target not in queues
                                       or overflow.target == queue.name):
        raise AcdError(f"queue {queue.name}: overflow target {overflow.target!r} "
                       "is not another known queue")
    if overflow.action == "relax":
        _checked_call_skills(f"queue {queue.name} overflow", overflow.skills)


def _checked_skills(agent_id: str, skills: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(skills, Mapping):
        raise AcdError(f"agent {agent_id}: skills must map skill -> proficiency")
    for name, level in skills.items():
        if not isinstance(name, str) or not SKILL_RE.match(name):
            raise AcdError(f"agent {agent_id}: bad skill name {name!r}")
        if (isinstance(level, bool) or not isinstance(level, int)
                or not MIN_PROFICIENCY <= level <= MAX_PROFICIENCY):
            raise AcdError(f"agent {agent_id}: proficiency of {name} must be an integer "
                           f"{MIN_PROFICIENCY}..{MAX_PROFICIENCY}, not {level!r}")
    return dict(skills)


def _checked_call_skills(owner: str, skills: Iterable[str]) -> tuple[str, ...]:
    if isinstance(skills, str):
        raise AcdError(f"{owner}: skills must be a list of names, not the string {skills!r}")
    out = tuple(skills)
    for name in out:
        if not isinstance(name, str) or not SKILL_RE.match(name):
            raise AcdError(f"{owner}: bad skill name {name!r}")
    return out


def _check_reason(reason: str) -> None:
    if not isinstance(reason, str) or not REASON_RE.match(reason):
        raise AcdError(f"bad not-ready reason {reason!r} (expected [a-z0-9_-]{{1,32}})")


def _remove_slot(line: list[_Slot], slot: _Slot) -> None:
    index = bisect.bisect_left(line, slot.key, key=_slot_key)
    assert line[index] is slot, f"call {slot.call.call_id} missing from the line"
    del line[index]


def _remove_sorted(items: list, item: object) -> None:
    index = bisect.bisect_left(items, item)
    assert items[index] == item, f"{item!r} missing from a sorted index"
    del items[index]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
