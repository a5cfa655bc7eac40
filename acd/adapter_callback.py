"""Virtual hold: a waiting caller asks to be called back and keeps their place.

The caller presses the queue's ``callback_key`` (or the queue overflows with
``{action: callback}``).  Their caller ID must be a number we can call (E.164
in the CRM's region); if not, Asterisk tells them (unidentified-no-callback)
and they keep waiting.  The promise is saved in the CRM first (so it survives a
restart), then the router turns the call into a callback that keeps its place,
and the caller hears a confirmation and is hung up; that hang-up is not an
abandon.  When the router gives the callback to an agent, the agent's phone is
rung with an Async Originate showing the customer's number; once the agent
answers, [acd-callback-dial] dials the customer through the carrier.  The
outcome is written on the original call: an "agent" segment with
``callback: true`` and whether the customer was reached, and the CRM callback
is marked done or failed.

A mixin of AcdService (it uses the service's router, book, AMI and CRM).
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import re

from cti.ami_errors import AmiError
from crm_core.errors import ValidationError

from . import crm
from .adapter_calls import CALLBACK, RINGING, TALKING, WAITING, LiveCall
from .adapter_parse import BadEvent, callback_number, check_seat, originate_failure_reason, \
    parse_key, ring_timeout
from .model import AcdError, Decision

log = logging.getLogger("acd.callback")

E164 = re.compile(r"\+[1-9][0-9]{6,15}")


class Callbacks:
    def _init_callbacks(self) -> None:
        self._originates: dict[str, tuple[str, str]] = {}  # ActionID -> (call id, agent id)
        self._originate_ids = itertools.count(1)
        # call id -> when its virtual hold began being saved (the due-callback poller
        # leaves CRM rows due from then on alone: they may be these, not yet numbered)
        self._holding: dict[str, float] = {}
        self.callbacks_placed = 0

    # -- the caller asks ----------------------------------------------------------------
    def _on_key(self, event) -> None:
        try:
            linkedid, uniqueid, key = parse_key(event)
        except BadEvent as exc:
            self.problems += 1
            log.error("acd: AcdKey ignored: %s", exc)
            return
        live = self.book.by_caller(uniqueid)
        if live is None or live.call_id != linkedid:
            return
        self._call_event(live, "key", key=key)
        queue = self.router.queues.get(live.queue)
        if queue is None or queue.callback_key != key or live.phase != WAITING:
            return
        self._ask_callback(live, "key")

    async def _overflow_to_callback(self, live: LiveCall) -> None:
        self._ask_callback(live, "overflow")

    def _ask_callback(self, live: LiveCall, trigger: str) -> None:
        if live.call_id in self._holding:
            return
        number = callback_number(live.caller, self.region)
        if number is None or not E164.fullmatch(number):
            log.info("acd: call %s asked for a callback (%s) from %r: not a number we can call",
                     live.call_id, trigger, live.caller)
            self._call_event(live, "no-callback", trigger=trigger)
            self._spawn(self._redirect(live, "acd-no-callback"))
            return
        self._holding[live.call_id] = self.clock()
        self._spawn(self._virtual_hold(live, number, trigger))

    async def _virtual_hold(self, live: LiveCall, number: str, trigger: str) -> None:
        try:
            callback_id = await self._save_virtual_hold(live, number)
        except ValidationError as exc:  # e.g. on the do-not-call list
            log.info("acd: call %s: no callback to %s: %s", live.call_id, number, exc)
            self._holding.pop(live.call_id, None)
            await self._redirect(live, "acd-no-callback")
            return
        now = self.clock()
        try:
            self.router.to_callback(live.call_id, number, now)
        except AcdError as exc:  # an agent's phone rings for it meanwhile, or it is gone
            log.info("acd: call %s: callback not taken: %s", live.call_id, exc)
            self._holding.pop(live.call_id, None)
            if callback_id is not None:
                await self._mark(callback_id, "cancelled", "the caller was served meanwhile")
            return
        finally:
            self._holding.pop(live.call_id, None)
        live.callback, live.callback_id = number, callback_id
        if live.phase == WAITING:
            live.phase = CALLBACK
        self.stats.callback_requested(live.queue, now)
        self._queue_segment(live, now, "callback", number=number, trigger=trigger,
                            callback_id=callback_id)
        self._call_event(live, "callback", number=number, trigger=trigger)
        if live.phase == CALLBACK:  # not already being rung back
            await self._redirect(live, "acd-callback-ack")

    async def _save_virtual_hold(self, live: LiveCall, number: str) -> int | None:
        """The CRM callback's id; None when the CRM is absent or failing (the
        router still keeps the promise in memory). ValidationError is refused."""
        if self.sessions is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.to_thread(
                crm.save_virtual_hold, self.sessions, phone_e164=number, queue=live.queue,
                customer_id=live.customer_id, linkedid=live.call_id, now=self.clock()),
                self.crm_timeout * 2)
        except ValidationError:
            raise
        except Exception as exc:
            self.problems += 1
            log.error("acd: call %s: the callback could not be saved in the CRM (%s); kept "
                      "in memory only", live.call_id, exc)
            return None

    async def _redirect(self, live: LiveCall, context: str) -> None:
        try:
            await self.ami.action("Redirect", Channel=live.channel, Context=context, Exten="s",
                                  Priority="1")
        except AmiError as exc:
            log.info("acd: call %s: redirect to %s failed (%s)", live.call_id, context, exc)

    async def _mark(self, callback_id: int, state: str, note: str = "") -> None:
        if self.sessions is None:
            return
        try:
            await asyncio.to_thread(crm.mark_callback, self.sessions, callback_id, state, note)
        except Exception as exc:
            log.warning("acd: callback %s not marked %s (%s)", callback_id, state, exc)

    # -- an agent is free: ring them, then the customer ---------------------------------
    async def _place_callback(self, d: Decision, live: LiveCall) -> None:
        number = d.callback or ""
        try:
            check_seat(d.seat)
            if not E164.fullmatch(number):
                raise ValueError(f"callback number {number!r} is not E.164")
        except ValueError as exc:
            self.problems += 1
            log.error("acd: callback for call %s: %s", d.call_id, exc)
            self._offer_failed(live, "phone-unavailable")
            return
        live.phase = RINGING
        if live.callback_id is not None and not live.claimed:
            live.claimed = True
            await self._mark(live.callback_id, "in_progress", f"ringing agent {d.agent_id}")
        queue = self.router.queues[d.queue]
        try:
            await self._ring_seat(live, number, live.dialled, ring_timeout(queue),
                                  caller_name="Callback",
                                  extra=[f"PJSIP_HEADER(add,X-CC-Call-Id)={d.call_id}"])
        except AmiError as exc:
            log.warning("acd: callback for call %s: cannot ring %s (%s)", d.call_id,
                        d.agent_id, exc)
            self._callback_not_answered(live, "phone-unavailable")
            return
        self.callbacks_placed += 1
        self._call_event(live, "ringing", agent=d.agent_id, seat=d.seat, callback=number)

    async def _ring_seat(self, live: LiveCall, number: str, cli: str, ring_seconds: int, *,
                         caller_name: str, channel_id: str | None = None,
                         extra: list[str] = ()) -> None:
        """Ring the agent's seat (an Async Originate); once they answer,
        [acd-callback-dial] dials ``number`` through the carrier showing ``cli``.
        Shared by callbacks and click-to-dial; the OriginateResponse comes back to
        _on_originate_response with the call.  ``channel_id`` names the agent's
        leg (its uniqueid, and so the call's linkedid).  AmiError when not sent."""
        check_seat(live.seat)
        if not E164.fullmatch(number):
            raise ValueError(f"number {number!r} is not E.164")
        action_id = f"acd-cb-{next(self._originate_ids)}"
        self._originates[action_id] = (live.call_id, live.agent_id)
        variables = [f"CC_CALLBACK={number}", f"CC_CALLBACK_CLI={cli}",
                     f"CC_CALL_ID={live.call_id}", *extra]
        try:
            await self.ami.action("Originate", Channel=f"PJSIP/{live.seat}",
                                  Context="acd-callback-dial", Exten="s", Priority="1",
                                  CallerID=f'"{caller_name}" <{number}>',
                                  Timeout=ring_seconds * 1000, Async="true",
                                  ActionID=action_id, ChannelId=channel_id, Variable=variables)
        except AmiError:
            self._originates.pop(action_id, None)
            raise

    def _on_originate_response(self, event) -> None:
        entry = self._originates.pop(event.action_id or "", None)
        if entry is None:
            return
        call_id, agent_id = entry
        live = self.book.get(call_id)
        if live is None or live.agent_id != agent_id:
            return
        if live.direction == "outbound":
            self._dial_originated(live, event)
            return
        if (event.response or "").lower() == "success":
            self.book.set_agent_leg(live, event.uniqueid)
            self._answered(live, event.timestamp or self.clock())
        else:
            self._callback_not_answered(live, originate_failure_reason(event.reason))

    def _callback_not_answered(self, live: LiveCall, reason: str) -> None:
        if live.callback_id is not None:  # back to pending: an attempt counted
            live.claimed = False
            self._spawn(self._mark(live.callback_id, "pending", f"{live.agent_id}: {reason}"))
        self._offer_failed(live, reason)

    def _on_callback_dial_end(self, event) -> None:
        """The agent leg of a callback dialled the customer: remember how it went."""
        live = self.book.by_agent_leg(event.uniqueid)
        if live is not None and live.callback is not None and live.phase == TALKING:
            live.callback_dial = (event.dial_status or "").upper()
            self._call_event(live, "customer-dialled", status=live.callback_dial,
                             agent=live.agent_id)

    async def _close_callback(self, live: LiveCall) -> None:
        if live.callback_dial == "ANSWER":
            await self._mark(live.callback_id, "done", f"reached by {live.agent_id}")
        else:
            await self._mark(live.callback_id, "failed",
                             f"{live.agent_id}: customer {live.callback_dial.lower() or 'not dialled'}")
