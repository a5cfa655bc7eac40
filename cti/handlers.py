"""Calling subscriber handlers that may be sync or async, without letting one
failing handler hurt the caller or the other handlers.

Both the event bus and the AMI session deliver to handlers written by other
packages; a bug in one of those must never stop event ingest.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Awaitable, Callable

log = logging.getLogger(__name__)

Handler = Callable[..., Any]


class Subscription:
    """Handle returned by subscribe()/on(); cancel() detaches the handler."""

    __slots__ = ("_detach", "active")

    def __init__(self, detach: Callable[[], None]) -> None:
        self._detach = detach
        self.active = True

    def cancel(self) -> None:
        # Idempotent so owners can cancel in cleanup paths without bookkeeping.
        if self.active:
            self.active = False
            self._detach()


class HandlerRunner:
    """Runs sync handlers inline and schedules async ones as tracked tasks."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        # Keep strong references: the loop only holds weak ones to tasks.
        self._tasks: set[asyncio.Task[Any]] = set()

    def call(self, handler: Handler, *args: Any) -> None:
        try:
            result = handler(*args)
        except Exception:
            log.exception("%s: handler %r failed", self._owner, handler)
            return
        if result is not None and inspect.isawaitable(result):
            self._schedule(handler, result)

    def _schedule(self, handler: Handler, awaitable: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._finished(handler, t))

    def _finished(self, handler: Handler, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: async handler %r failed", self._owner, handler,
                      exc_info=task.exception())

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every scheduled async handler has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
