"""The IVR's window on the CRM: who is calling, and does an account number exist.

Every question runs in a thread of its own with a deadline, so a database that
is down, slow or unreachable costs the caller at most ``timeout`` seconds and
never blocks the event loop. The threads are daemons: a connection attempt
stuck in the kernel cannot hold the engine open at exit. Too many questions
still waiting (the database hangs) and new ones fail at once instead of
piling up threads.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import re
import threading
from dataclasses import dataclass
from typing import Callable, TypeVar

from sqlalchemy import exists, select
from sqlalchemy.orm import sessionmaker

from crm_core import lookup
from crm_core.models import OPEN_TICKET_STATUSES, Customer, Ticket

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_IN_FLIGHT = 32  # CRM questions still running; beyond this the CRM counts as down
CODE = re.compile(r"[0-9A-Za-z._-]{1,32}")  # as crm_core.validation allows


class CrmUnavailable(RuntimeError):
    """The CRM did not answer in time, or answered with an error."""


@dataclass(frozen=True)
class CallerProfile:
    """What the CRM knows about a calling number."""
    matches: tuple[lookup.CustomerMatch, ...]
    open_ticket: bool = False  # the single matching customer has an open ticket


class Crm:
    def __init__(self, sessions: sessionmaker | None, *, region: str = "US", timeout: float = 2.0):
        self.sessions = sessions
        self.region = region
        self.timeout = timeout
        self._in_flight = 0
        self._guard = threading.Lock()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._workers = 0
        self._idle = 0

    @property
    def configured(self) -> bool:
        return self.sessions is not None

    # -- questions (sync; run them through ask()) --------------------------------
    def caller_profile(self, number: str) -> CallerProfile:
        with self.sessions() as session:
            matches = tuple(lookup.find_by_phone(session, number, region=self.region))
            open_ticket = len(matches) == 1 and bool(session.scalar(select(exists().where(
                Ticket.customer_id == matches[0].id, Ticket.status.in_(OPEN_TICKET_STATUSES)))))
        return CallerProfile(matches, open_ticket)

    def customer_id_by_code(self, code: str) -> int | None:
        if not CODE.fullmatch(code or ""):
            return None
        with self.sessions() as session:
            return session.scalar(select(Customer.id).where(Customer.code == code))

    # -- running them ------------------------------------------------------------
    async def ask(self, question: Callable[..., T], *args) -> T:
        """Run ``question(*args)`` in a daemon thread; CrmUnavailable on error,
        on timeout, or when no CRM is configured."""
        if self.sessions is None:
            raise CrmUnavailable("no CRM configured")
        with self._guard:
            if self._in_flight >= MAX_IN_FLIGHT:
                raise CrmUnavailable(f"{self._in_flight} CRM questions still unanswered")
            self._in_flight += 1
        loop = asyncio.get_running_loop()
        answer: asyncio.Future = loop.create_future()
        self._dispatch(lambda: self._run(loop, answer, question, args))
        try:
            return await asyncio.wait_for(answer, self.timeout)
        except TimeoutError:
            raise CrmUnavailable(f"no answer from the CRM within {self.timeout:g} s") from None

    def _dispatch(self, job: Callable[[], None]) -> None:
        # Persistent daemon workers, started only when none is idle: starting a
        # thread per question blocked the event loop ~1 ms each under load, and
        # daemon threads mean a hung database never keeps the engine from exiting.
        with self._guard:
            self._jobs.put(job)
            if self._idle == 0 and self._workers < MAX_IN_FLIGHT:
                self._workers += 1
                threading.Thread(target=self._work, name="ivr-crm", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._guard:
                self._idle += 1
            job = self._jobs.get()
            with self._guard:
                self._idle -= 1
            job()

    def _run(self, loop, answer: asyncio.Future, question, args) -> None:
        try:
            outcome, value = "ok", question(*args)
        except Exception as exc:  # the database is down, the query failed
            outcome, value = "error", exc
        finally:
            with self._guard:
                self._in_flight -= 1
        try:
            loop.call_soon_threadsafe(_settle, answer, outcome, value)
        except RuntimeError:  # the loop is gone (engine stopped meanwhile)
            pass


def _settle(answer: asyncio.Future, outcome: str, value) -> None:
    if answer.done():  # timed out and cancelled already
        return
    if outcome == "ok":
        answer.set_result(value)
    else:
        log.warning("ivr: CRM error: %s: %s", type(value).__name__, value)
        answer.set_exception(CrmUnavailable(f"CRM error: {type(value).__name__}"))
