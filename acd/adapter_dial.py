"""Click-to-dial (issue 6): an agent calls a customer from the customer's card.

Only an agent who takes no ACD call right now may dial (not ready, or in
wrap-up: no offer can collide with it), never a number on the do-not-call
list, an invalid number or an unknown customer (asked in the CRM, in a thread).
The agent is reserved (RESERVED) and their seat rung the way a callback rings it
(Callbacks._ring_seat: an Async Originate into [acd-callback-dial], which dials
the customer through the carrier once the agent answers), with a ChannelId we
choose, so the call's linkedid is known before anything rings and is what
dial() returns.  From there Asterisk reports: OriginateResponse (the agent
answered: ON_CALL, "dialling"; or not: not ready, as after a ring-no-answer),
DialBegin/DialEnd of the customer's leg ("answered"), the hang-ups ("ended",
wrap-up as after an inbound call).

The call is its own interaction in the history, written through the engine's
CallHistory from what Asterisk reported: direction "outbound", the dialled
E.164 number, the caller ID shown, answered and ended times, the hang-up cause
(the customer's leg's, else the agent's), and an "agent" segment that links the
agent; the customer is linked by acd.crm.claim_outbound.

A mixin of AcdService.
"""
from __future__ import annotations

import asyncio
import logging
import uuid

from crm_core.errors import NotFound, ValidationError
from cti.ami_errors import AmiError
from cti.calls import Call
from crm_core.interactions import CallFacts

from . import crm
from .adapter_calls import DIALLING, OUTBOUND, RINGING, TALKING, LiveCall, utc
from .adapter_parse import dial_outcome, originate_failure_reason, ring_timeout
from .control_input import customer_id as checked_customer, dial_number
from .model import AcdError, AgentState

log = logging.getLogger("acd.dial")


class Dialling:
    async def dial(self, username: str, number, customer_id=None) -> str:
        """Ring the agent's seat, then dial ``number`` for ``customer_id``; the call id."""
        agent = self._agent(username)
        self._may_dial(agent)
        e164, customer = dial_number(number, self.region), checked_customer(customer_id)
        await self._dial_allowed(e164, customer)
        self._may_dial(agent)  # again: the CRM took a moment
        call_id = f"out-{uuid.uuid4().hex[:24]}"
        now = self.clock()
        self.router.reserve_direct(username, call_id, now, request="dial",
                                   wrap_up=self.dial_wrap_up)
        live = LiveCall(call_id=call_id, channel="", uniqueid="", queue="", caller=e164,
                        customer_id=customer, arrived_at=now, stay_started=now, phase=RINGING,
                        agent_id=username, user_id=agent.user_id, seat=agent.seat,
                        direction=OUTBOUND, number=e164)
        live.record = Call(linkedid=call_id, direction="outbound", started_at=now,
                           caller_number=self.outbound_cli, dialled_number=e164)
        self.book.add(live)
        self.book.set_agent_leg(live, call_id)
        self._record(live, "started")  # before it rings: every attempt is in the history
        if customer is not None and self.sessions is not None:
            self._spawn(self._claim_customer(live, customer))
        self._call_event(live, "dialling", agent=username, number=e164, direction=OUTBOUND)
        try:
            # the agent's phone rings as long as for an ACD offer of the first queue
            ring = ring_timeout(self.router.queues[self.default_queue])
            await self._ring_seat(live, e164, self.outbound_cli, ring, channel_id=call_id,
                                  caller_name="Dialling",
                                  extra=[f"PJSIP_HEADER(add,X-CC-Call-Id)={call_id}"])
        except (AmiError, ValueError) as exc:
            if self.book.get(call_id) is live:
                self._forget(live)
                self.router.direct_cancelled(username, self.clock())
                self._finish_record(live, self.clock(), text="could not be placed")
                self._call_event(live, "ended", agent=username, number=e164,
                                 direction=OUTBOUND, outcome="not-placed")
            raise AcdError(f"your phone could not be rung ({exc})") from None
        return call_id

    def _may_dial(self, agent) -> None:
        if agent.state not in (AgentState.NOT_READY, AgentState.WRAP_UP):
            raise AcdError(f"{agent.agent_id} can dial only when not ready or in wrap-up, "
                           f"not while {agent.presence}")
        if agent.logout_pending:
            raise AcdError(f"{agent.agent_id} is logging out")
        self._require_phone(agent.seat)

    async def _dial_allowed(self, e164: str, customer: int | None) -> None:
        if self.sessions is None:
            if customer is not None:
                raise AcdError("no CRM to look the customer up")
            return
        await self._ask_crm(crm.may_dial, e164, customer, self.region, refusals={
            NotFound: f"unknown customer {customer}",
            ValidationError: f"{e164} is on the do-not-call list"})

    async def _claim_customer(self, live: LiveCall, customer: int) -> None:
        facts = CallFacts(linkedid=live.call_id, direction="outbound",
                          started_at=utc(live.arrived_at), caller_number=self.outbound_cli,
                          dialled_number=live.number)
        for attempt in range(5):
            try:
                await asyncio.to_thread(crm.claim_outbound, self.sessions, facts, customer)
                return
            except NotFound as exc:  # removed or merged meanwhile: the call stays unlinked
                log.warning("acd: call %s not linked to customer %s: %s", live.call_id,
                            customer, exc)
                return
            except Exception as exc:  # a database hiccup: try again a little later
                log.warning("acd: call %s: customer link not written yet (%s)", live.call_id,
                            exc.__class__.__name__)
                await asyncio.sleep(0.5 * 2 ** attempt)
        self.problems += 1
        log.error("acd: call %s was never linked to customer %s", live.call_id, customer)

    # -- what Asterisk reports --------------------------------------------------------
    def _dial_originated(self, live: LiveCall, event) -> None:
        """OriginateResponse of a click-to-dial: the agent answered their phone, or not."""
        at = event.timestamp or self.clock()
        if (event.response or "").lower() == "success":
            self.router.direct_answered(live.agent_id, at)
            live.phase, live.answered_at = DIALLING, at
            return
        reason = originate_failure_reason(event.reason)
        self._forget(live)
        try:
            self.router.direct_failed(live.agent_id, at, reason)
        except AcdError as exc:
            log.info("acd: call %s: %s", live.call_id, exc)
        self._finish_record(live, at, text=f"the agent's phone: {reason}")
        self._call_event(live, "ended", agent=live.agent_id, number=live.number,
                         direction=OUTBOUND, outcome=reason)

    def _on_outbound_dial_begin(self, event) -> None:
        live = self._outbound_leg(event)
        if live is not None and not live.uniqueid:
            self.book.set_caller(live, event.dest_channel or "", event.dest_uniqueid)

    def _on_outbound_dial_end(self, event) -> None:
        live = self._outbound_leg(event)
        if live is None or live.phase != DIALLING or event.dest_uniqueid != live.uniqueid:
            return
        live.callback_dial = (event.dial_status or "").upper()
        if dial_outcome(live.callback_dial)[0] != "answered":
            return  # the agent's leg hangs up next: "ended" says how it went
        at = event.timestamp or self.clock()
        live.phase = TALKING
        live.record.answered_at = at
        self._record(live, "answered")
        self._call_event(live, "answered", agent=live.agent_id, number=live.number,
                         direction=OUTBOUND, channel=live.uniqueid,
                         agent_channel=live.agent_uniqueid)

    def _outbound_leg(self, event) -> LiveCall | None:
        if event.context != "acd-callback-dial":
            return None
        live = self.book.by_agent_leg(event.uniqueid)
        return live if live is not None and live.direction == OUTBOUND else None

    def _outbound_hangup_cause(self, live: LiveCall, event, customer: bool) -> None:
        """Keep the hang-up cause the history shows: the customer's leg's wins."""
        record = live.record
        if record is None or (not customer and record.hangup_cause is not None):
            return
        record.hangup_cause, record.hangup_cause_text = event.cause, event.cause_txt or ""

    def _outbound_ended(self, live: LiveCall, at: float) -> None:
        self._finish_record(live, at)
        self._call_event(live, "ended", agent=live.agent_id, number=live.number,
                         direction=OUTBOUND, customer_dial=live.callback_dial.lower() or None,
                         talk=round(max(0.0, at - (live.record.answered_at or at)), 3))

    def _finish_record(self, live: LiveCall, at: float, text: str = "") -> None:
        record = live.record
        if record is None:
            return
        record.ended_at, record.status = at, "completed"
        if text and not record.hangup_cause_text:
            record.hangup_cause_text = text
        self._record(live, "ended")

    def _record(self, live: LiveCall, what: str) -> None:
        if self.history is not None and live.record is not None:
            self.history.on_call_changed(live.record.snapshot(), what)
