"""Transfers (issue 6): the agent hands the caller to another agent, a queue or
a phone number, blind or after consulting the target.

Blind, to an agent or a queue: the caller is Redirected to [acd-wait] (music)
and put back in the router's line with its original arrival time, so it keeps
its place: a queue transfer joins the target queue's line, an agent transfer is
offered to that agent at once (Router.offer_to) and rings their seat like any
offer; if they do not answer they go not ready (ring-no-answer) and the call is
routed again in its queue from its place.  Blind, to a number: the caller is
Redirected to [acd-transfer-number], which dials it through the carrier.  In
every blind case the first agent's talk ends when Asterisk confirms the
Redirect (the agent leg is hung up by Asterisk, or by us when it was on hold):
wrap-up, an "agent" segment, the talk counted in the queue's statistics.

Attended: the target agent (or the best ready agent of the target queue) is
reserved first, like an ACD offer, then one Redirect moves the caller to
[acd-hold] and the agent's leg to [acd-consult], which dials the target; see
adapter_consult for what follows.

Each transfer writes one "transfer" segment (kind, target, attended, from
agent, to agent, outcome) when its outcome is known.

A mixin of AcdService.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from .adapter_agents import USERNAME, _check
from .adapter_calls import DIALLED_OUT, INBOUND, ON_HOLD, TALKING, WAITING, LiveCall, Transfer, utc
from .adapter_parse import ring_timeout
from .control_input import channel_id, dial_number, transfer_kind
from .model import AcdError, AgentState, WaitingCall

log = logging.getLogger("acd.transfer")

NUMBER_RING = 40  # seconds a consulted number may ring


@dataclass(frozen=True)
class Target:
    """A checked transfer target."""
    kind: str
    target: str  # as the agent named it: username, queue, E.164 number
    queue: str  # the queue the call belongs to afterwards
    agent: str | None = None  # the agent to ring (agent, or a queue's next agent when attended)
    seat: str = ""
    number: str = ""


class Transfers:
    async def transfer(self, username: str, kind: str, target: str,
                       attended: bool = False) -> None:
        """Hand the agent's caller to ``target`` ("agent": a ready agent's username,
        "queue": a queue name, "number": a phone number), blind or attended."""
        kind = transfer_kind(kind)
        if not isinstance(attended, bool):
            raise AcdError("attended must be true or false")
        live = self._call_of(username, "transfer", TALKING, ON_HOLD)
        if live.direction != INBOUND:
            raise AcdError("a call you dialled cannot be transferred")
        goal = self._target(live, username, kind, target, attended)
        if attended:
            await self._consult(live, goal)
        else:
            await self._blind(live, goal)

    # -- the target ---------------------------------------------------------------
    def _target(self, live: LiveCall, username: str, kind: str, target, attended: bool) -> Target:
        if kind == "number":
            number = dial_number(target, self.region)
            return Target(kind, number, live.queue, number=number)
        if kind == "queue":
            if not isinstance(target, str) or target not in self.router.queues:
                raise AcdError(f"unknown queue {str(target)[:64]!r}")
            if not attended:
                return Target(kind, target, target)
            best = self.router.best_ready(target)
            if best is None:
                raise AcdError(f"nobody in queue {target} is ready to talk to; transfer the "
                               "call blind instead, it will wait there")
            return self._agent_target(kind, target, target, best, username)
        _check(USERNAME, target, "agent")
        return self._agent_target(kind, target, live.queue, target, username)

    def _agent_target(self, kind: str, target: str, queue: str, agent_id: str,
                      username: str) -> Target:
        if agent_id == username:
            raise AcdError("you cannot transfer a call to yourself")
        agent = self.router.agent(agent_id)
        if agent.state is not AgentState.READY:
            raise AcdError(f"{agent_id} is not ready ({agent.presence}); choose someone ready")
        self._require_phone(agent.seat)
        return Target(kind, target, queue, agent=agent_id, seat=agent.seat)

    # -- blind ----------------------------------------------------------------------
    async def _blind(self, live: LiveCall, goal: Target) -> None:
        if goal.kind == "number":
            actions = [("Setvar", {"Channel": live.uniqueid, "Variable": "CC_TRANSFER_NUMBER",
                                   "Value": goal.number}),
                       ("Setvar", {"Channel": live.uniqueid, "Variable": "CC_TRANSFER_CLI",
                                   "Value": self.outbound_cli}),
                       ("Redirect", {"Channel": live.uniqueid, "Context": "acd-transfer-number",
                                     "Exten": "s", "Priority": "1"})]
        else:
            moh = self.router.queues[goal.queue].moh
            actions = [("Setvar", {"Channel": live.uniqueid, "Variable": "CC_MOH", "Value": moh}),
                       ("Redirect", {"Channel": live.uniqueid, "Context": "acd-wait",
                                     "Exten": "s", "Priority": "wait"})]
        held, agent_leg = live.phase == ON_HOLD, live.agent_uniqueid
        if goal.kind != "number":
            live.landing = asyncio.Event()  # set by the caller's music in [acd-wait]
        try:
            await self._command(live, "transfer", actions)
        except AcdError:
            live.landing = None
            gone, live.agent_gone_at = live.agent_gone_at, None
            if gone is not None:  # the agent hung up meanwhile: that talk is over
                self._talk_ended(live, gone)
            raise
        live.agent_gone_at = None
        now = self.clock()
        transfer = self._transfer_record(live, goal, attended=False, at=now)
        self._call_event(live, "transfer", agent=live.agent_id, kind=goal.kind,
                         target=goal.target, to_agent=goal.agent)
        self._release_agent(live, now)
        if held:  # nothing bridges its silent leg: Asterisk would not hang it up
            self._spawn(self._hang_up(agent_leg, "its caller was transferred"))
        if goal.kind == "number":
            live.phase, live.transfer = DIALLED_OUT, transfer
        else:
            self._requeue(live, goal, transfer, now)

    def _transfer_record(self, live: LiveCall, goal: Target, attended: bool,
                         at: float) -> Transfer:
        return Transfer(kind=goal.kind, target=goal.target, attended=attended,
                        from_agent=live.agent_id or "", from_user_id=live.user_id,
                        started_at=at, target_agent=goal.agent)

    def _release_agent(self, live: LiveCall, at: float) -> None:
        """The first agent is done with a call that goes on without them."""
        try:
            self.router.call_ended(live.agent_id, at)
        except AcdError as exc:
            log.warning("acd: call %s: releasing %s: %s", live.call_id, live.agent_id, exc)
        talk = max(0.0, at - (live.answered_at or at))
        self.stats.handled(live.queue, talk, at)  # (only inbound calls are transferred)
        self._agent_segment(live, at)
        self._call_event(live, "ended", agent=live.agent_id, talk=round(talk, 3),
                         callback=live.callback, transferred=True)
        self.book.set_agent_leg(live, None)
        live.agent_id, live.user_id, live.seat, live.answered_at = None, None, "", None

    def _requeue(self, live: LiveCall, goal: Target, transfer: Transfer, now: float) -> None:
        """The caller waits in line again, keeping the place their arrival gave them."""
        queue = self.router.queues[goal.queue]
        live.queue, live.stay_started, live.phase = queue.name, now, WAITING
        live.transfers += 1
        live.counted = goal.kind == "queue"  # a queue's own stay; an agent transfer is not
        if live.counted:
            self.stats.offered(queue.name, now)
        call = WaitingCall(call_id=live.call_id, queue=queue.name, skills=queue.skills,
                           arrived_at=live.arrived_at, queued_at=now,
                           customer_id=live.customer_id, caller=live.caller, channel=live.channel)
        live.transfer = transfer  # an agent transfer's outcome comes with the offer's
        if goal.kind == "queue":
            self._close_transfer(live, "queued", now)
        try:
            if goal.agent is not None:
                self.router.offer_to(call, goal.agent, now)
                return
        except AcdError as exc:  # they stopped being ready meanwhile: the line takes it
            log.info("acd: call %s: %s; it waits in queue %s", live.call_id, exc, queue.name)
            self._close_transfer(live, "not-ready", now)
        try:
            self.router.enqueue(call, now)
        except AcdError as exc:
            self.problems += 1
            log.error("acd: call %s could not be put back in line: %s", live.call_id, exc)

    def _close_transfer(self, live: LiveCall, outcome: str, at: float) -> None:
        """A blind transfer's fate is known: its segment, and it is over."""
        if live.transfer is not None:
            self._write_transfer(live, live.transfer, outcome, at)
        live.transfer = None

    def _write_transfer(self, live: LiveCall, transfer: Transfer, outcome: str,
                        at: float) -> None:
        """The "transfer" segment, once per transfer."""
        if transfer.ended:
            return
        transfer.ended = True
        if self.history is None or live.polled:
            return
        self.history.record_segment(
            live.call_id, "transfer", utc(transfer.started_at),
            ended_at=utc(max(at, transfer.started_at)),
            detail={"kind": transfer.kind, "target": transfer.target,
                    "attended": transfer.attended, "from_agent": transfer.from_agent,
                    "to_agent": transfer.target_agent, "outcome": outcome},
            agent_id=transfer.from_user_id)

    # -- attended: the consultation starts ---------------------------------------------
    async def _consult(self, live: LiveCall, goal: Target) -> None:
        now = self.clock()
        if goal.agent is not None:  # reserved first, like an ACD offer: nobody else rings them
            self.router.reserve_direct(goal.agent, live.call_id, now, request="consult",
                                       wrap_up=self.router.queues[goal.queue].wrap_up)
        live.transfer = self._transfer_record(live, goal, attended=True, at=now)
        try:
            await self._command(live, "consult", self._consult_actions(live, goal))
        except AcdError:
            live.transfer = None
            if goal.agent is not None:
                self.router.direct_cancelled(goal.agent, self.clock())
            raise
        live.consult_queue = goal.queue
        self._consult_started(live)
        self._call_event(live, "consulting", agent=live.agent_id, kind=goal.kind,
                         target=goal.target, to_agent=goal.agent)

    def _consult_actions(self, live: LiveCall, goal: Target) -> list:
        if goal.kind == "number":
            dial, cli, timeout = f"PJSIP/{goal.number}@carrier", self.outbound_cli, NUMBER_RING
        else:
            dial, cli = f"PJSIP/{goal.seat}", ""  # the target sees the caller's own number
            timeout = ring_timeout(self.router.queues[goal.queue])
        leg = live.agent_uniqueid
        actions = [("Setvar", {"Channel": leg, "Variable": name, "Value": value})
                   for name, value in (("__CC_HELD_CALLER", channel_id(live.uniqueid)),
                                       ("CC_CONSULT_DIAL", dial), ("CC_CONSULT_CLI", cli),
                                       ("CC_CONSULT_TIMEOUT", str(timeout)))]
        if live.phase == ON_HOLD:  # the caller already hears the music
            actions.append(("Redirect", {"Channel": leg, "Context": "acd-consult", "Exten": "s",
                                         "Priority": "1"}))
        else:
            actions += self._hold_actions(live, agent_to="acd-consult")
        return actions
