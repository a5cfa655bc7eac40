"""FastAgiServer: our FastAGI listener on asyncio.

Not panoramisk.fast_agi: its header loop spins forever when Asterisk closes
the socket early, and it accepts sync handlers that would block the engine.
Here the AGI environment is read with a deadline and a size limit, anything
malformed is refused with a warning, and every socket is closed in the end.
"""
from __future__ import annotations

import asyncio
import errno
import inspect
import logging
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl

from cti.agi_call import AgiCall
from cti.agi_errors import (AgiCommandError, AgiError, AgiHangup,
                            AgiProtocolError, AgiServerError)
from cti.agi_result import AgiResult, parse_result

__all__ = ["FastAgiServer", "AgiCall", "AgiResult", "parse_result", "AgiError",
           "AgiHangup", "AgiCommandError", "AgiProtocolError", "AgiServerError"]

log = logging.getLogger(__name__)

RouteHandler = Callable[[AgiCall], Awaitable[Any]]
# Command answers can be longer than the environment (GET FULL VARIABLE).
_STREAM_LIMIT = 64 * 1024


def _is_async(handler: Any) -> bool:
    # Accept objects with an `async def __call__` (a menu instance) too.
    return inspect.iscoroutinefunction(handler) or \
        inspect.iscoroutinefunction(getattr(handler, "__call__", None))


class _Rejected(Exception):
    """The connection did not carry a usable AGI request."""


def split_script(script: str) -> tuple[str, dict[str, str]]:
    """'/ivr/main?lang=fr' -> ('ivr/main', {'lang': 'fr'})."""
    path, _, query = script.partition("?")
    return path.strip("/"), dict(parse_qsl(query, keep_blank_values=True))


class FastAgiServer:
    def __init__(self, host: str, port: int, routes: dict[str, RouteHandler], *,
                 header_timeout: float = 5.0, max_header_bytes: int = 16384) -> None:
        for name, handler in routes.items():
            if not _is_async(handler):
                raise TypeError(f"FastAGI route {name!r}: handler {handler!r} must be an"
                                " 'async def' function (a sync one would block every call)")
        self.host = host
        self._requested_port = port
        self.routes = {name.strip("/"): handler for name, handler in routes.items()}
        self.header_timeout = header_timeout
        self.max_header_bytes = max_header_bytes
        self._server: asyncio.Server | None = None
        self._bound_port = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self.requests = self.completed = self.hung_up = self.errors = self.rejected = 0

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked)."""
        return self._bound_port or self._requested_port

    @property
    def active_calls(self) -> int:
        return len(self._tasks)

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._serve, self.host, self._requested_port, limit=_STREAM_LIMIT)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise AgiServerError(
                    f"FastAGI port {self.host}:{self._requested_port} is already in use"
                    " (another engine running?); stop it or set another FastAGI port in"
                    " configuration") from None
            raise AgiServerError(
                f"FastAGI cannot listen on {self.host}:{self._requested_port}: {exc}") from None
        self._bound_port = self._server.sockets[0].getsockname()[1]
        log.info("FastAGI listening on %s:%d (routes: %s)", self.host, self.port,
                 ", ".join(sorted(self.routes)))

    async def stop(self) -> None:
        """Stop listening, cancel running handlers and wait for them."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # one connection ---------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.requests += 1
        try:
            await self._handle(reader, writer)
        except asyncio.CancelledError:
            # Only stop() cancels these tasks, and it awaits them.  Ending
            # normally keeps asyncio.streams (3.11) from logging the cancel.
            log.info("FastAGI call from %s cancelled: server stopping", writer.get_extra_info("peername"))
        finally:
            self._tasks.discard(task)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, asyncio.CancelledError):
                pass

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            env = await self._read_env(reader)
            route, args = self._route_of(env)
        except _Rejected as exc:
            self.rejected += 1
            log.warning("FastAGI request from %s refused: %s", peer, exc)
            return
        await self._run(self.routes[route], AgiCall(env, args, route, reader, writer))

    async def _run(self, handler: RouteHandler, call: AgiCall) -> None:
        try:
            await handler(call)
            self.completed += 1
        except AgiHangup:
            self.hung_up += 1
        except Exception:
            self.errors += 1
            log.exception("FastAGI route %r failed on channel %s", call.route, call.channel)

    async def _read_env(self, reader: asyncio.StreamReader) -> dict[str, str]:
        env: dict[str, str] = {}
        total = 0
        try:
            async with asyncio.timeout(self.header_timeout):
                while True:
                    raw = await reader.readline()
                    total += len(raw)
                    if total > self.max_header_bytes:
                        raise _Rejected(f"AGI environment larger than {self.max_header_bytes} bytes")
                    if not raw.endswith(b"\n"):
                        raise _Rejected("connection closed before the end of the AGI environment")
                    if raw in (b"\n", b"\r\n"):
                        return env
                    key, value = self._parse_env_line(raw)
                    env[key] = value
        except TimeoutError:
            raise _Rejected(f"no complete AGI environment within {self.header_timeout:g}s") from None
        except (ValueError, ConnectionError) as exc:  # readline over the stream limit, reset
            raise _Rejected(f"unreadable AGI environment ({exc})") from None

    @staticmethod
    def _parse_env_line(raw: bytes) -> tuple[str, str]:
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise _Rejected("AGI environment is not UTF-8") from None
        key, sep, value = line.partition(": ")
        if not sep or not key:
            raise _Rejected(f"malformed AGI environment line {line[:80]!r}")
        return key.removeprefix("agi_"), value

    def _route_of(self, env: dict[str, str]) -> tuple[str, dict[str, str]]:
        script = env.get("network_script")
        if not script:
            raise _Rejected("no agi_network_script (is the dialplan using agi://host/route?)")
        route, args = split_script(script)
        if route not in self.routes:
            raise _Rejected(f"unknown FastAGI route {route!r} for channel {env.get('channel')}")
        return route, args
