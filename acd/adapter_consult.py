"""An attended transfer after it started (see adapter_transfer): the caller hears
music in [acd-hold] while the agent's leg, in [acd-consult], dials the target.

What Asterisk reports decides every step:

* DialBegin / DialEnd of the agent's leg in [acd-consult]: the target is rung;
  ANSWER is "consult-answered" (a consulted agent is ON_CALL); anything else
  means the target did not take it (an agent goes not ready, as after a
  ring-no-answer; a dropped consultation leaves them ready) and the dialplan
  bridges the agent back to the caller.
* The target's leg hangs up after answering (they hung up, or cancel_transfer
  hung them up): the consultation is over ("transfer-cancelled"), the agent is
  bridged back to the caller by the dialplan; BridgeEnter of both is "resumed".
* The agent's leg hangs up after the target answered (complete_transfer hangs
  it up; an agent hanging up their phone does the same): Dial's F() sends the
  target to [acd-consult-done], which bridges them with the caller.  The first
  agent is released (wrap-up, their "agent" segment ends), the consulted agent
  takes the call over ("transferred", a new "agent" segment from now); a number
  leaves the ACD.  Before the target answered, the agent hanging up ends the
  call: the caller, alone on hold, is hung up.
* The caller hangs up during the consultation: the transfer's segment says so;
  the agent may go on talking with the target (a target still ringing is hung
  up: there is nothing left to consult about).

A mixin of AcdService.
"""
from __future__ import annotations

import logging

from .adapter_calls import CONSULTING, TALKING, LiveCall, Transfer
from .adapter_parse import dial_outcome
from .model import AcdError, AgentState

log = logging.getLogger("acd.transfer")

NOT_TAKEN = {"ring-no-answer": "no-answer", "phone-unavailable": "unavailable"}


class Consultations:
    def _init_consult(self) -> None:
        # consultation legs whose call went on without them -> the consulted agent
        self._loose_consults: dict[str, str] = {}

    def _consult_started(self, live: LiveCall) -> None:
        live.phase = CONSULTING

    async def complete_transfer(self, username: str) -> None:
        """Hand the caller to the consulted target and release the agent."""
        live, transfer = self._consultation_of(username, "complete the transfer")
        if transfer.answered_at is None:
            raise AcdError("the target has not answered yet: wait, or cancel the transfer")
        await self._command(live, "completion", [("Hangup", {"Channel": live.agent_uniqueid})])

    async def cancel_transfer(self, username: str) -> None:
        """Drop the consultation: the agent talks with the caller again."""
        live, transfer = self._consultation_of(username, "cancel the transfer")
        if not transfer.target_uniqueid:
            raise AcdError("the target is not being called yet; try again in a moment")
        transfer.cancelled = True
        try:
            await self._command(live, "cancellation",
                                [("Hangup", {"Channel": transfer.target_uniqueid})])
        except AcdError:
            transfer.cancelled = False
            raise

    def _consultation_of(self, username: str, what: str) -> tuple[LiveCall, Transfer]:
        live = self._call_of(username, what, CONSULTING)
        transfer = live.transfer
        if transfer is None or not transfer.attended or transfer.ended:
            raise AcdError(f"{username} is not consulting anyone")
        return live, transfer

    # -- the target's leg ------------------------------------------------------------
    def _on_consult_dial_begin(self, event) -> None:
        live = self._consulting_leg(event)
        if live is not None and not live.transfer.target_uniqueid:
            live.transfer.target_uniqueid = event.dest_uniqueid
            self.book.set_other_leg(live, event.dest_uniqueid)

    def _on_consult_dial_end(self, event) -> None:
        live = self._consulting_leg(event)
        transfer = live.transfer if live is not None else None
        if transfer is None or transfer.answered_at is not None \
                or event.dest_uniqueid != transfer.target_uniqueid:
            return  # not ours, or a repeated DialEnd
        at = event.timestamp or self.clock()
        outcome, reason = dial_outcome(event.dial_status)
        if outcome == "answered":
            transfer.answered_at = at
            if transfer.target_agent is not None:
                self._router_quietly("direct_answered", transfer.target_agent, at)
            self._call_event(live, "consult-answered", agent=transfer.from_agent,
                             kind=transfer.kind, target=transfer.target,
                             to_agent=transfer.target_agent)
            return
        if transfer.target_agent is not None:
            if outcome == "abandoned" or transfer.cancelled:
                self._router_quietly("direct_cancelled", transfer.target_agent, at)
            else:
                self._router_quietly("direct_failed", transfer.target_agent, at, reason)
        why = "cancelled" if transfer.cancelled else NOT_TAKEN.get(reason, "cancelled")
        self._drop_consult(live, why, at)

    def _consulting_leg(self, event) -> LiveCall | None:
        if event.context != "acd-consult":
            return None
        live = self.book.by_agent_leg(event.uniqueid)
        return live if live is not None and live.transfer is not None else None

    def _consult_leg_gone(self, live: LiveCall, uniqueid: str, at: float) -> None:
        """The target's leg hung up: the consultation is over."""
        transfer = live.transfer
        if transfer is None or transfer.target_uniqueid != uniqueid:
            return
        if transfer.answered_at is None:
            return  # never answered: its DialEnd said how it went
        if transfer.target_agent is not None:
            self._consult_talk_ended(transfer.target_agent, live.call_id, at)
        self._drop_consult(live, "cancelled" if transfer.cancelled else "target-hung-up", at)

    def _loose_consult_gone(self, uniqueid: str, at: float) -> bool:
        agent_id = self._loose_consults.pop(uniqueid, None)
        if agent_id is None:
            return False
        self._consult_talk_ended(agent_id, None, at)
        return True

    def _consult_talk_ended(self, agent_id: str, call_id: str | None, at: float) -> None:
        """A consulted agent's talk ended without taking the call: no wrap-up."""
        agent = self.router.agent(agent_id)
        if agent.state in (AgentState.ON_CALL, AgentState.ON_HOLD) and \
                (call_id is None or agent.call_id == call_id):
            self._router_quietly("call_ended", agent_id, at, wrap_up=0.0)

    # -- the agent's and the caller's legs ---------------------------------------------
    def _consult_agent_left(self, live: LiveCall, at: float) -> None:
        transfer = live.transfer
        if transfer is not None and transfer.answered_at is not None \
                and self.book.caller_present(live) and not transfer.ended:
            self._hand_over(live, transfer, at)
        else:
            self._talk_ended(live, at)  # the held caller is hung up with it

    def _consult_caller_left(self, live: LiveCall, at: float) -> None:
        self.book.caller_left(live)
        transfer = live.transfer
        if transfer is None:
            return
        if not transfer.ended:
            self._write_transfer(live, transfer, "caller-hung-up", at)
            self._call_event(live, "transfer-cancelled", agent=transfer.from_agent,
                             kind=transfer.kind, target=transfer.target,
                             to_agent=transfer.target_agent, reason="caller-hung-up")
        if transfer.answered_at is None and transfer.target_uniqueid:
            self._spawn(self._hang_up(transfer.target_uniqueid, "its caller hung up"))

    def _consultation_over(self, live: LiveCall, at: float) -> None:
        """Agent and caller are bridged again: whatever is left of the consultation ends."""
        transfer = live.transfer
        if transfer is not None:
            self._drop_consult(live, "cancelled" if transfer.cancelled else "target-hung-up", at)

    def _drop_consult(self, live: LiveCall, outcome: str, at: float) -> None:
        transfer = live.transfer
        if transfer is None:
            return
        live.transfer = None
        self.book.set_other_leg(live, None, old=transfer.target_uniqueid)
        if transfer.target_agent is not None:
            self._free_consulted(transfer, live.call_id, at)
        if not transfer.ended:
            self._write_transfer(live, transfer, outcome, at)
            self._call_event(live, "transfer-cancelled", agent=transfer.from_agent,
                             kind=transfer.kind, target=transfer.target,
                             to_agent=transfer.target_agent, reason=outcome)

    def _free_consulted(self, transfer: Transfer, call_id: str, at: float) -> None:
        """The consulted agent, when the call goes on without them: a reservation is
        dropped; a talk still going on is followed to its end on its own."""
        agent = self.router.agent(transfer.target_agent)
        if agent.call_id != call_id:
            return
        reserved = self.router.direct_call(agent.agent_id) == call_id
        if agent.state is AgentState.RESERVED and reserved:
            self._router_quietly("direct_cancelled", agent.agent_id, at)
        elif agent.state in (AgentState.ON_CALL, AgentState.ON_HOLD) and transfer.target_uniqueid:
            self._loose_consults[transfer.target_uniqueid] = agent.agent_id

    def _hand_over(self, live: LiveCall, transfer: Transfer, at: float) -> None:
        """The agent hung up after the target answered: the target has the caller."""
        from_agent = live.agent_id
        self._release_agent(live, at)
        self._write_transfer(live, transfer, "completed", at)
        live.transfer = None
        self.book.set_other_leg(live, None, old=transfer.target_uniqueid)
        details = {"from_agent": from_agent, "kind": transfer.kind, "target": transfer.target}
        if transfer.target_agent is None:  # a number: the ACD's part of the call is over
            self._call_event(live, "transferred", agent=None, **details)
            self._forget(live)
            return
        target = self.router.agent(transfer.target_agent)
        live.agent_id, live.user_id, live.seat = target.agent_id, target.user_id, target.seat
        self.book.set_agent_leg(live, transfer.target_uniqueid)
        live.answered_at, live.phase = at, TALKING
        live.queue = live.consult_queue or live.queue
        self._call_event(live, "transferred", agent=target.agent_id, **details)

    def _router_quietly(self, request: str, agent_id: str, *args, **kwargs) -> None:
        """A router request following an event: a refusal means the agent moved on
        meanwhile (logged), never an error for the call."""
        try:
            getattr(self.router, request)(agent_id, *args, **kwargs)
        except AcdError as exc:
            log.info("acd: %s of %s skipped: %s", request, agent_id, exc)
