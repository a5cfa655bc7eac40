"""Offers: the router's decision rings the agent, and what Asterisk reports
decides what happened.  The caller's channel gets CC_SEAT, CC_RING_TIMEOUT and
CC_MOH and is Redirected to [acd-connect], whose Dial() rings the seat;
DialBegin marks the call ringing, DialEnd ANSWER is the answer (the wait is
measured on Asterisk's timestamps), NOANSWER or an unavailable phone puts the
agent not ready and routes the call again, CANCEL (and the caller's Hangup) is
an abandon; the agent leg's Hangup ends the talk (wrap-up), Hold/Unhold on it
are the agent's hold.  A Redirect refused because the channel is gone is an
abandon; without an AMI link the agent is released and the resync routes the
call again.

Every Hangup is routed here by whose leg it is (the caller's, the agent's, a
consultation's, a supervisor's) and by the call's phase, so a hold, a
transfer or a click-to-dial call ends the way its own module says.

A mixin of AcdService.
"""
from __future__ import annotations

import asyncio
import logging

from cti.ami_errors import AmiActionError, AmiError

from .adapter_calls import (CALLBACK, CONSULTING, DETACHED, DIALLED_OUT, DIALLING, ON_HOLD,
                            OUTBOUND, RINGING, TALKING, WAITING, LiveCall)
from .adapter_parse import check_seat, dial_outcome, ring_timeout
from .model import AcdError, Decision

log = logging.getLogger("acd.asterisk")

LANDING = 3.0  # seconds a transferred caller may take to reach [acd-wait]


class Offers:
    def _on_decision(self, d: Decision) -> None:
        live = self.book.get(d.call_id)
        if live is None:
            log.error("acd: decision for call %s the adapter does not know", d.call_id)
            return
        agent = self.router.agent(d.agent_id)
        live.agent_id, live.user_id, live.seat = d.agent_id, agent.user_id, d.seat
        self._publish("acd.offer", {"agent": d.agent_id, "seat": d.seat, "linkedid": d.call_id,
                                    "caller": live.caller, "customer_id": live.customer_id,
                                    "queue": d.queue, "callback": d.callback, "why": d.why})
        self._spawn(self._place_callback(d, live) if d.callback else self._ring(d, live))

    async def _ring(self, d: Decision, live: LiveCall) -> None:
        queue = self.router.queues[d.queue]
        await self._landed(live)
        if self.book.get(d.call_id) is not live or live.agent_id != d.agent_id:
            return  # the caller left (or was routed elsewhere) while landing
        try:
            check_seat(d.seat)
            # Sent back to back without waiting for each answer: Asterisk runs one
            # manager session's actions in order, so the Redirect finds the variables
            # set (one round trip instead of four: the agent's phone rings sooner).
            actions = [self.ami.action("Setvar", Channel=live.channel, Variable=name, Value=value)
                       for name, value in (("CC_SEAT", d.seat),
                                           ("CC_RING_TIMEOUT", ring_timeout(queue)),
                                           ("CC_MOH", queue.moh))]
            actions.append(self.ami.action("Redirect", Channel=live.channel,
                                           Context="acd-connect", Exten="s", Priority="1"))
            for result in await asyncio.gather(*actions, return_exceptions=True):
                if isinstance(result, BaseException):
                    raise result
        except ValueError as exc:  # a seat name we will not dial
            self.problems += 1
            log.error("acd: agent %s: %s", d.agent_id, exc)
            self._offer_failed(live, "phone-unavailable")
        except AmiActionError as exc:  # the caller's channel is gone
            log.info("acd: call %s: cannot ring %s (%s); the caller has left", d.call_id,
                     d.agent_id, exc.message)
            self._caller_gone(live, self.clock())
        except AmiError as exc:  # no AMI link: give the agent back, resync routes it again
            self.problems += 1
            log.warning("acd: call %s: cannot ring %s (%s); it waits for the resync",
                        d.call_id, d.agent_id, exc)
            self.router.abandon(d.call_id, self.clock())
            live.phase = DETACHED

    async def _landed(self, live: LiveCall) -> None:
        """A caller just transferred blind is Redirected to [acd-wait] first: ring
        the next agent once it is there (its music started), else Asterisk may
        drop one of two Redirects that overlap.  A Redirect that never shows its
        music (a missing class) does not hold the call for more than LANDING s."""
        landing = live.landing
        if landing is None:
            return
        try:
            await asyncio.wait_for(landing.wait(), LANDING)
        except asyncio.TimeoutError:
            log.warning("acd: call %s: no music in [acd-wait] after its transfer within %s s; "
                        "ringing anyway", live.call_id, LANDING)
        if live.landing is landing:
            live.landing = None

    def _offer_failed(self, live: LiveCall, reason: str) -> None:
        live.phase = CALLBACK if live.callback else WAITING
        self.book.set_agent_leg(live, None)
        self._close_transfer(live, "not-answered", self.clock())  # a blind one to this agent
        self._call_event(live, "requeued", agent=live.agent_id, reason=reason)
        try:
            self.router.offer_failed(live.call_id, self.clock(), reason)
        except AcdError as exc:
            log.warning("acd: call %s: %s", live.call_id, exc)

    # -- what Asterisk reports about the offer ---------------------------------------------
    def _on_dial_begin(self, event) -> None:
        live = self.book.by_caller(event.uniqueid)
        if live is None or live.phase != WAITING or event.context != "acd-connect":
            return
        live.phase = RINGING
        self.book.set_agent_leg(live, event.dest_uniqueid)
        self._call_event(live, "ringing", agent=live.agent_id, seat=live.seat)

    def _on_dial_end(self, event) -> None:
        live = self.book.by_caller(event.uniqueid)
        if live is not None and live.phase == RINGING and event.dest_uniqueid == live.agent_uniqueid:
            outcome, reason = dial_outcome(event.dial_status)
            at = event.timestamp or self.clock()
            if outcome == "answered":
                self._answered(live, at)
            elif outcome == "abandoned":
                self._caller_gone(live, at)
            else:
                self._offer_failed(live, reason)
            return
        self._on_callback_dial_end(event)

    def _answered(self, live: LiveCall, at: float) -> None:
        try:
            self.router.answered(live.call_id, at)
        except AcdError as exc:
            self.problems += 1
            log.error("acd: call %s answered by %s but %s", live.call_id, live.agent_id, exc)
        live.phase, live.answered_at = TALKING, at
        if live.callback is None:
            # a transferred call's wait in this queue counts from the transfer
            start = live.stay_started if live.transfers else live.arrived_at
            if live.counted:
                self.stats.answered(live.queue, max(0.0, at - start), at)
            self._queue_segment(live, at, "answered", agent=live.agent_id, seat=live.seat)
            self._close_transfer(live, "answered", at)  # a blind one to this agent
        # channel / agent_channel: the legs' uniqueids (the recorder's MixMonitor);
        # a callback has no caller channel when its agent answers
        self._call_event(live, "answered", agent=live.agent_id, seat=live.seat,
                         waited=round(at - live.arrived_at, 3), callback=live.callback,
                         channel=live.uniqueid if self.book.caller_present(live) else None,
                         agent_channel=live.agent_uniqueid)

    def _on_hangup(self, event) -> None:
        uniqueid = event.uniqueid
        if self._arriving.pop(uniqueid, None) is not None:
            return  # _admit counts it when the CRM has answered
        at = event.timestamp or self.clock()
        live = self.book.by_caller(uniqueid)
        if live is not None:
            self._caller_hung_up(live, event, at)
            return
        live = self.book.by_agent_leg(uniqueid)
        if live is not None:
            self._agent_leg_hung_up(live, event, at)
            return
        live = self.book.by_other_leg(uniqueid)
        if live is not None:
            self._consult_leg_gone(live, uniqueid, at)
        elif not self._loose_consult_gone(uniqueid, at):
            self._on_spy_hangup(event)

    def _caller_hung_up(self, live: LiveCall, event, at: float) -> None:
        if live.direction == OUTBOUND:
            self._outbound_hangup_cause(live, event, customer=True)
        if live.callback is not None or live.phase in (TALKING, DIALLING):
            self.book.caller_left(live)  # a virtual hold, or the talk's own end
        elif live.phase in (WAITING, RINGING, DETACHED):
            self._caller_gone(live, at)
        elif live.phase == ON_HOLD:
            self._held_caller_left(live)
        elif live.phase == CONSULTING:
            self._consult_caller_left(live, at)
        elif live.phase == DIALLED_OUT:  # transferred to a number, gone before its dial ended
            self._number_transfer_ended(live, "abandoned", at)
        else:  # voicemail: the recording is the rest of its story
            self._forget(live)

    def _agent_leg_hung_up(self, live: LiveCall, event, at: float) -> None:
        if live.direction == OUTBOUND:
            self._outbound_hangup_cause(live, event, customer=False)
        if live.pending == "transfer":  # a blind transfer moved the caller away: expected
            live.agent_gone_at = at
        elif live.phase == CONSULTING:
            self._consult_agent_left(live, at)
        elif live.phase in (TALKING, ON_HOLD, DIALLING):
            self._talk_ended(live, at)

    def _caller_gone(self, live: LiveCall, at: float) -> None:
        """The caller hung up (or vanished) while waiting or while an agent's phone rang."""
        call, _ = self.router.abandon(live.call_id, self.clock())
        self._forget(live)
        if call is None:
            return
        waited = max(0.0, at - (live.stay_started if live.transfers else live.arrived_at))
        if live.counted:
            self.stats.abandoned(live.queue, waited, at)
        self._queue_segment(live, at, "abandoned")
        self._close_transfer(live, "abandoned", at)  # a blind one, ringing its agent
        self._call_event(live, "abandoned", waited=round(waited, 3))

    def _talk_ended(self, live: LiveCall, at: float) -> None:
        """The agent's leg is gone: the talk is over (wrap-up)."""
        if self.book.caller_present(live) and (live.phase in (ON_HOLD, CONSULTING) or live.pending):
            # on hold (or about to be): nothing bridges the caller to anyone now
            self._spawn(self._hang_up(live.uniqueid, "its agent hung up while it was on hold"))
        if live.transfer is not None:
            self._drop_consult(live, "agent-hung-up", at)
        self._forget(live)
        try:
            self.router.call_ended(live.agent_id, at)
        except AcdError as exc:
            log.warning("acd: call %s ended: %s", live.call_id, exc)
        talk = max(0.0, at - (live.answered_at or at))
        if live.direction != OUTBOUND:  # a dialled call is no queue's
            self.stats.handled(live.queue, talk, at)
        self._agent_segment(live, at)
        if live.direction == OUTBOUND:
            self._outbound_ended(live, at)
            return
        self._call_event(live, "ended", agent=live.agent_id, talk=round(talk, 3),
                         callback=live.callback)
        if live.callback_id is not None:
            self._spawn(self._close_callback(live))

    def _number_transfer_ended(self, live: LiveCall, outcome: str, at: float) -> None:
        """A caller transferred blind to a number: the dial ended (or they hung up)."""
        self._close_transfer(live, outcome, at)
        self._forget(live)

    def _on_transfer_dial_end(self, event) -> None:
        live = self.book.by_caller(event.uniqueid)
        if live is not None and live.phase == DIALLED_OUT and \
                event.context == "acd-transfer-number":
            status = (event.dial_status or "").lower()
            self._number_transfer_ended(live, "answered" if status == "answer" else status,
                                        event.timestamp or self.clock())

    def _on_hold(self, event) -> None:
        live = self.book.by_agent_leg(event.uniqueid)
        if live is None or live.phase != TALKING or live.agent_id is None:
            return
        try:
            if event.name == "Hold":
                self.router.hold(live.agent_id, event.timestamp or self.clock())
            else:
                self.router.unhold(live.agent_id, event.timestamp or self.clock())
        except AcdError as exc:
            log.info("acd: %s on %s ignored: %s", event.name, live.agent_id, exc)

