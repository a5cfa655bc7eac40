"""The console's way into the engine: the ACD's commands, run on the engine's
event loop from the web's threads.

Flask serves requests on threads of its own (a WSGI server, not a second event
loop); the ACD lives on the engine's asyncio loop. ``Desk.run`` hands a command
to that loop and waits for Asterisk's answer with a deadline, so a button
press says what really happened (or why it was refused).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging


log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 10.0  # seconds: AMI round trips plus a CRM lookup, with room


class DeskUnavailable(RuntimeError):
    """The engine (or its ACD) is not running, or did not answer in time."""


class Desk:
    """``acd``: the running acd.asterisk.AcdService (None: the platform runs
    without an ACD, and every command says so); ``recorder``: the running
    recording service (recording.service.RecordingService) or None."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None, acd, recorder=None):
        self.loop = loop
        self.acd = acd
        self.recorder = recorder

    @property
    def available(self) -> bool:
        return self.acd is not None and self.loop is not None and not self.loop.is_closed()

    def run(self, command: str, *args, timeout: float = COMMAND_TIMEOUT, **kwargs):
        """Run ``await acd.<command>(*args, **kwargs)`` on the engine's loop and
        return its result; a refusal (acd.model.AcdError) passes through unchanged."""
        method = self._method(command)
        return self._wait(method(*args, **kwargs), command, timeout)

    def record(self, command: str, *args, timeout: float = COMMAND_TIMEOUT, **kwargs):
        """The same for the recording service (start, stop, pause, resume)."""
        if self.recorder is None or self.loop is None or self.loop.is_closed():
            raise DeskUnavailable("call recording is not running")
        method = getattr(self.recorder, command)
        return self._wait(method(*args, **kwargs), command, timeout)

    def read(self, query: str, *args, timeout: float = COMMAND_TIMEOUT):
        """``acd.<query>(*args)`` (a plain method: ``current_call``...), called on
        the engine's loop so it never sees the router half-way through a change."""
        method = self._method(query)

        async def call():
            return method(*args)
        return self._wait(call(), query, timeout)

    def _method(self, name: str):
        if not self.available:
            raise DeskUnavailable("the call-centre engine is not running (no ACD)")
        return getattr(self.acd, name)

    def _wait(self, coro, name: str, timeout: float):
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            log.error("desk: %s did not finish within %.0f s", name, timeout)
            raise DeskUnavailable(f"the engine did not answer within {timeout:.0f} s; "
                                  "try again") from None
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            raise DeskUnavailable("the engine is stopping") from None
