"""Callbacks kept in the CRM, placed by the ACD when they are due.

Two kinds of promise wait in the CRM's callbacks table: the virtual holds this
ACD saved (a restart of the engine must not lose them) and the callbacks agents
schedule for a customer (crm_core.callbacks.schedule_callback).  A poller asks
the CRM every ``callback_poll`` seconds (and once right after start), in a
thread with a deadline, for the pending ones whose time has come, leaving out
those the router already holds.  Each is claimed (pending -> in_progress; a
Conflict or ValidationError means another engine took it first: skipped) and
put in the router's line as a callback: it keeps the place its due time gives
it (``arrived_at`` = ``due_at``), so a virtual hold saved before a restart is
served in its turn.  From there the usual callback path places it (the agent's
phone rings, then the customer is dialled) and marks the row done or failed.

A CRM failure is logged and the poller tries again next time; it never stops.

A mixin of AcdService.
"""
from __future__ import annotations

import asyncio
import logging

from crm_core.errors import Conflict, NotFound, ValidationError

from . import crm
from .adapter_calls import CALLBACK, LiveCall
from .model import AcdError, WaitingCall

log = logging.getLogger("acd.callback")

DUE_BATCH = 100  # callbacks taken per poll at most
HOLD_MARGIN = 1.0  # seconds: rows due this close to a virtual hold being saved are left alone


def callback_call_id(callback_id: int) -> str:
    """The router's call id of a CRM callback (stable across restarts)."""
    return f"callback-{callback_id}"


class DueCallbacks:
    def _init_due(self, callback_poll: float | None) -> None:
        self.callback_poll = callback_poll
        self._claiming: set[int] = set()  # CRM ids being claimed right now
        self.due_taken = 0  # CRM callbacks put in the line (for tests and the log)

    def held_callback_ids(self) -> set[int]:
        """The CRM callbacks this ACD holds: in the line, being rung, being claimed."""
        return {live.callback_id for live in self.book
                if live.callback_id is not None} | self._claiming

    async def _due_loop(self) -> None:
        while True:
            try:
                await self.poll_due_callbacks()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the poller die: try again next time
                self.problems += 1
                log.exception("acd: polling the due callbacks failed")
            await asyncio.sleep(self.callback_poll)

    async def poll_due_callbacks(self) -> int:
        """One poll: the due callbacks the router does not hold yet go in its line.
        Returns how many were taken."""
        if self.sessions is None:
            return 0
        try:
            rows = await asyncio.wait_for(asyncio.to_thread(
                crm.due_callbacks, self.sessions, self.clock(), DUE_BATCH,
                exclude=self.held_callback_ids()), self.crm_timeout * 2)
        except asyncio.TimeoutError:
            log.warning("acd: the CRM did not list the due callbacks within %.1f s; trying "
                        "again in %s s", self.crm_timeout * 2, self.callback_poll)
            return 0
        except Exception as exc:
            log.warning("acd: the CRM did not list the due callbacks (%s: %s); trying again in "
                        "%s s", exc.__class__.__name__, exc, self.callback_poll)
            return 0
        taken = 0
        for row in rows:
            # Checked again now, not when the query left: a virtual hold may have got
            # its id meanwhile, and one still being saved has no id yet, only a time.
            saving = list(self._holding.values())
            if row.id in self.held_callback_ids() or \
                    (saving and row.due_at >= min(saving) - HOLD_MARGIN):
                continue
            if await self._take_due(row):
                taken += 1
        return taken

    async def _take_due(self, row: crm.DueCallback) -> bool:
        queue = row.queue
        if queue not in self.router.queues:
            log.info("acd: callback %s is for queue %r, which is not configured; placed from "
                     "queue %s", row.id, queue, self.default_queue)
            queue = self.default_queue
        call_id = callback_call_id(row.id)
        if call_id in self.book or self.router.call(call_id) is not None:
            return False
        self._claiming.add(row.id)
        try:
            try:
                await asyncio.to_thread(crm.mark_callback, self.sessions, row.id, "in_progress",
                                        "taken by the ACD")
            except (Conflict, ValidationError, NotFound) as exc:
                log.info("acd: callback %s not taken: %s (another engine has it)", row.id, exc)
                return False
            except Exception as exc:
                log.warning("acd: callback %s could not be claimed (%s); trying again later",
                            row.id, exc)
                return False
            now = self.clock()
            config = self.router.queues.get(queue)
            if config is None:  # the queues were reloaded meanwhile
                queue = self.default_queue
                config = self.router.queues[queue]
            live = LiveCall(call_id=call_id, channel="", uniqueid=call_id, queue=queue,
                            caller=row.phone_e164, customer_id=row.customer_id,
                            arrived_at=row.due_at, stay_started=now, phase=CALLBACK,
                            callback=row.phone_e164, callback_id=row.id, polled=True,
                            claimed=True)
            # A callback promised by one agent goes to them first: last_agent is
            # honoured only when the queue has `last_agent: true`; otherwise any
            # qualified agent of the queue may place it.
            call = WaitingCall(call_id=call_id, queue=queue, skills=config.skills,
                               arrived_at=row.due_at, queued_at=now,
                               customer_id=row.customer_id, caller=row.phone_e164,
                               last_agent=row.agent, callback=row.phone_e164)
            self.book.add(live)  # before the router: its decision looks the call up
            self._call_event(live, "queued", callback=row.phone_e164, callback_id=row.id,
                             source="crm", agent=row.agent)
            try:
                self.router.enqueue(call, now)
            except AcdError as exc:
                self.problems += 1
                log.error("acd: callback %s refused by the router: %s", row.id, exc)
                self._forget(live)
                self._spawn(self._mark(row.id, "pending", f"not queued: {exc}"))
                return False
        finally:
            self._claiming.discard(row.id)
        self.due_taken += 1
        log.info("acd: callback %s to %s due %.0f s ago is in queue %s%s", row.id,
                 row.phone_e164, max(0.0, now - row.due_at), queue,
                 f" for {row.agent}" if row.agent else "")
        return True
