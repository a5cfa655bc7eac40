"""Writes calls into the CRM's history as they happen, without ever blocking
the event loop and without losing a row when the database hiccups.

Every write is a full snapshot of the call upserted by linkedid, so a write
that is retried or repeated is harmless. Pending snapshots are kept per call
(the newest wins) and written in order by one worker thread.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from sqlalchemy.orm import sessionmaker

from crm_core import interactions, lookup
from cti.calls import Call

log = logging.getLogger(__name__)


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc)


def call_facts(call: Call) -> interactions.CallFacts:
    return interactions.CallFacts(
        linkedid=call.linkedid, direction=call.direction, started_at=_utc(call.started_at),
        caller_number=call.caller_number, caller_name=call.caller_name,
        dialled_number=call.dialled_number, keys_pressed=call.keys,
        answered_at=_utc(call.answered_at), ended_at=_utc(call.ended_at),
        hangup_cause=call.hangup_cause, hangup_cause_text=call.hangup_cause_text,
        status=call.status)


class CallHistory:
    def __init__(self, sessions: sessionmaker, retry_max: float = 10.0, region: str = "US"):
        self.sessions = sessions
        self.retry_max = retry_max
        self.region = region
        self._identified: set[str] = set()  # calls whose caller was looked up
        # Segments and links of calls, written after the call's own row exists.
        self._extras: list[tuple[str, str, tuple, dict, int]] = []
        self._pending: dict[str, interactions.CallFacts] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-db")
        self._worker: asyncio.Task | None = None
        self.written = 0
        self.failures = 0

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="call-history")

    async def stop(self) -> None:
        await self.flush()
        if self._worker:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        self._db.shutdown(wait=True)

    def on_call_changed(self, call: Call, what: str) -> None:
        """CallTracker listener: queue the newest snapshot of the call."""
        self._pending.pop(call.linkedid, None)  # re-insert: keep write order by last change
        self._pending[call.linkedid] = call_facts(call)
        self._idle.clear()
        self._wakeup.set()

    def record_segment(self, linkedid: str, kind: str, started_at: datetime,
                       ended_at: datetime | None = None, detail: dict | None = None,
                       agent_id: int | None = None) -> None:
        """Queue a segment (the IVR path, a queue wait, a talk with an agent)."""
        self._queue_extra(linkedid, "segment", (kind, started_at), {"ended_at": ended_at,
                                                                   "detail": detail or {},
                                                                   "agent_id": agent_id})

    def record_link(self, linkedid: str, kind: str, ref: str, meta: dict | None = None) -> None:
        """Queue a link (recording, voicemail, fax file) for the call's interaction."""
        self._queue_extra(linkedid, "link", (kind, ref), {"meta": meta or {}})

    def _queue_extra(self, linkedid: str, what: str, args: tuple, kwargs: dict) -> None:
        self._extras.append((linkedid, what, args, kwargs, 0))
        self._idle.clear()
        self._wakeup.set()

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every queued snapshot is in the database."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close_lost(self, live_linkedids: set[str], reason: str) -> int:
        """Calls the database still has open but Asterisk no longer knows."""
        await self.flush()

        def work(session):
            open_ids = interactions.open_call_ids(session) - live_linkedids - set(self._pending)
            return interactions.mark_lost(session, open_ids, datetime.now(timezone.utc), reason)
        return await self._in_db(work)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                linkedid, facts = next(iter(self._pending.items()))
                try:
                    await self._in_db(lambda s: self._save(s, facts))
                except Exception as exc:  # the database is down or busy: keep it, retry
                    self.failures += 1
                    log.warning("history: cannot write call %s yet (%s); retrying in %.1f s",
                                linkedid, exc.__class__.__name__, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_max)
                    continue
                delay = 0.1
                if self._pending.get(linkedid) is facts:
                    del self._pending[linkedid]
                self.written += 1
            await self._write_extras()
            if not self._pending and not self._extras:
                self._idle.set()
            elif not self._pending:  # extras waiting for their call's row: look again soon
                await asyncio.sleep(0.2)
                self._wakeup.set()

    async def _write_extras(self) -> None:
        batch, self._extras = self._extras, []  # new ones may arrive while we await
        waiting = []
        for linkedid, what, args, kwargs, tries in batch:
            if linkedid in self._pending:
                waiting.append((linkedid, what, args, kwargs, tries))
                continue
            write = interactions.add_segment if what == "segment" else interactions.add_link
            try:
                await self._in_db(lambda s: write(s, linkedid, *args, **kwargs))
            except interactions.NotFound:
                if tries < 50:  # the call's row is not there yet (or never will be)
                    waiting.append((linkedid, what, args, kwargs, tries + 1))
                else:
                    log.warning("history: dropped a %s of %s: no such call", what, linkedid)
            except Exception as exc:
                self.failures += 1
                log.warning("history: cannot write a %s of %s yet (%s)", what, linkedid,
                            exc.__class__.__name__)
                waiting.append((linkedid, what, args, kwargs, tries))
        self._extras = waiting + self._extras

    def _save(self, session, facts: interactions.CallFacts) -> None:
        customer_id = None
        if facts.linkedid not in self._identified:
            customer_id = self._identify(session, facts.caller_number)
        interactions.save_call(session, facts, customer_id=customer_id)
        self._identified.add(facts.linkedid)
        if facts.status != "in_progress":
            self._identified.discard(facts.linkedid)

    def _identify(self, session, caller_number: str) -> int | None:
        """The caller's customer when the number says so unambiguously; a shared
        number (several matches) is left for the agent to choose on the pop."""
        matches = lookup.find_by_phone(session, caller_number, region=self.region, limit=2)
        return matches[0].id if len(matches) == 1 else None

    async def _in_db(self, work):
        def run():
            with self.sessions.begin() as session:
                return work(session)
        return await asyncio.get_running_loop().run_in_executor(self._db, run)
