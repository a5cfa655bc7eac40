"""A caller enters the ACD: the AcdEnqueue user event, checked; the CRM asked in
a thread with a deadline (VIP, last agent; its failure routes without them);
then the router's line.  A caller who hangs up while the CRM answers is
counted as an abandon and never enqueued.

A mixin of AcdService.
"""
from __future__ import annotations

import asyncio
import logging

from crm_core import phones

from . import crm
from .adapter_calls import LiveCall
from .adapter_parse import BadEvent, Enqueue, dialled_number, parse_enqueue
from .model import AcdError, WaitingCall

log = logging.getLogger("acd.asterisk")


class Admission:
    def _on_enqueue(self, event) -> None:
        try:
            req = parse_enqueue(event, self.router.queues, self.default_queue)
        except BadEvent as exc:
            self.problems += 1
            log.error("acd: AcdEnqueue ignored: %s", exc)
            return
        self._admit_soon(req)

    def _admit_soon(self, req: Enqueue) -> None:
        if req.problems:
            self.problems += 1
            log.error("acd: call %s on %s: %s", req.call_id, req.channel, "; ".join(req.problems))
        if req.call_id in self.book or req.uniqueid in self._arriving:
            log.warning("acd: call %s entered the ACD again on %s; keeping its place",
                        req.call_id, req.channel)
            return
        self._arriving[req.uniqueid] = req
        self._admitted.setdefault(req.call_id, asyncio.Event())
        self._spawn(self._admit(req))

    async def _admit(self, req: Enqueue, arrived_at: float | None = None) -> None:
        context = await self._caller_context(req)
        at = arrived_at or req.at or self.clock()
        if self._arriving.pop(req.uniqueid, None) is None:  # hung up while the CRM answered
            self.stats.offered(req.queue, at)
            self.stats.abandoned(req.queue, max(0.0, self.clock() - at), self.clock())
            live = self._live_from(req, context, at)
            self._queue_segment(live, self.clock(), "abandoned")
            self._admitted.pop(req.call_id, None)
            return
        live = self._live_from(req, context, at)
        call = WaitingCall(call_id=req.call_id, queue=req.queue, skills=req.skills, arrived_at=at,
                           queued_at=at, priority=req.priority, vip=context.vip,
                           customer_id=live.customer_id, caller=req.caller, channel=req.channel,
                           last_agent=context.last_agent)
        self.book.add(live)
        self.stats.offered(req.queue, at)
        self._call_event(live, "queued", vip=context.vip, skills=list(req.skills),
                         priority=req.priority)
        admitted = self._admitted.setdefault(req.call_id, asyncio.Event())
        try:
            self.router.enqueue(call, self.clock())
        except AcdError as exc:
            self.problems += 1
            log.error("acd: call %s refused by the router: %s", req.call_id, exc)
            self._forget(live)
        admitted.set()  # the announcer may speak now

    def _live_from(self, req: Enqueue, context: crm.CallerContext, at: float) -> LiveCall:
        dialled = ""
        if self.dialled_of is not None:
            dialled = dialled_number(self.dialled_of(req.call_id))
        return LiveCall(call_id=req.call_id, channel=req.channel, uniqueid=req.uniqueid,
                        queue=req.queue, caller=req.caller,
                        customer_id=context.customer_id or req.customer_id, arrived_at=at,
                        stay_started=at, dialled=dialled)

    async def _caller_context(self, req: Enqueue) -> crm.CallerContext:
        """VIP and last agent from the CRM; an empty context when it fails or is slow."""
        if self.sessions is None:
            return crm.CallerContext()
        e164 = phones.try_normalize(req.caller, self.region) if req.caller else None
        try:
            return await asyncio.wait_for(asyncio.to_thread(
                crm.caller_context, self.sessions, customer_id=req.customer_id,
                caller_e164=e164, vip_levels=self.vip_levels), self.crm_timeout)
        except asyncio.TimeoutError:
            log.warning("acd: CRM did not answer within %.1f s for call %s; routed without "
                        "its facts", self.crm_timeout, req.call_id)
        except Exception as exc:
            log.warning("acd: CRM failed for call %s (%s); routed without its facts",
                        req.call_id, exc.__class__.__name__)
        return crm.CallerContext()

    async def wait_admitted(self, call_id: str, timeout: float) -> LiveCall | None:
        """The call once the router has it (the announcer waits for it a little)."""
        event = self._admitted.get(call_id)
        if event is not None and not event.is_set():
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return self.book.get(call_id)

