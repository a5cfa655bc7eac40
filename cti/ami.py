"""AmiSession: one supervised AMI connection to one Asterisk.

The session owns the connection lifecycle (panoramisk's Manager retries on a
fixed delay and ignores a refused login): connect, read the banner, log in,
ping, and after any loss reconnect forever with jittered exponential backoff.
After every login the on_connected callbacks run so that state holders resync
from what Asterisk reports instead of trusting what they saw before the gap.

Wire parsing and action/response correlation are panoramisk's (Message,
Action); typed events come from cti.events.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import random
from typing import Any, Awaitable, Callable

from panoramisk.actions import Action
from panoramisk.message import Message

from cti.ami_actions import build_action, list_payload
from cti.ami_errors import (AmiActionError, AmiAuthError, AmiConnectError,
                            AmiError, AmiEventError, AmiNotConnected, AmiTimeout)
from cti.ami_pending import PendingActions
from cti.ami_protocol import AmiProtocol
from cti.ami_retry import connect_within, describe, reconnect_forever
from cti.backoff import Backoff
from cti.bus import EventBus
from cti.dispatch import EventDispatcher, EventHandler
from cti.event_base import lower_store
from cti.events import AmiEvent, build_event
from cti.handlers import HandlerRunner, Subscription

__all__ = ["AmiSession", "AmiError", "AmiAuthError", "AmiConnectError",
           "AmiNotConnected", "AmiTimeout", "AmiActionError", "AmiEventError"]

log = logging.getLogger(__name__)

ConnectedCallback = Callable[[], Awaitable[None] | None]


class AmiSession:
    """One AMI connection to one Asterisk, kept up for the engine's lifetime.

    publish_events=True also publishes every event on `bus` as
    "ami.<EventName>" with the header dict as payload.  `clock` (seconds,
    monotonic) and `rng` are injectable for tests.
    """

    def __init__(self, host: str, port: int, username: str, secret: str, *,
                 bus: EventBus | None = None, publish_events: bool = False,
                 reconnect_min: float = 0.2, reconnect_max: float = 10.0,
                 connect_timeout: float = 5.0, action_timeout: float = 10.0,
                 ping_interval: float = 20.0, start_timeout: float = 30.0,
                 rng: random.Random | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        Backoff(reconnect_min, reconnect_max)  # validates the pair early
        self.host, self.port = host, int(port)
        self.username, self._secret = username, secret
        self.reconnect_min, self.reconnect_max = reconnect_min, reconnect_max
        self.connect_timeout, self.action_timeout = connect_timeout, action_timeout
        self.ping_interval, self.start_timeout = ping_interval, start_timeout
        self._bus = bus if publish_events else None
        self._rng, self._clock = rng, clock
        self._runner = HandlerRunner(f"AMI {self.address}")
        self._dispatcher = EventDispatcher(self._runner)
        self._on_connected: list[ConnectedCallback] = []
        self._pending = PendingActions()
        self._protocol: AmiProtocol | None = None
        self._logged_in = False
        self._connected_event = asyncio.Event()
        self._lost_event = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None
        self._stopping = False
        self.reconnects = 0
        self.logins = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._logged_in

    def __repr__(self) -> str:
        state = "connected" if self._logged_in else "disconnected"
        return f"<AmiSession {self.username}@{self.address} {state}>"

    # lifecycle --------------------------------------------------------
    async def start(self) -> None:
        """Connect and log in; retry unreachable Asterisk up to start_timeout.

        Raises AmiAuthError at once on a refused login (retrying would only
        fill Asterisk's security log) and AmiConnectError after start_timeout.
        """
        if self._supervisor is not None:
            raise RuntimeError(f"{self!r} is already started")
        self._stopping = False
        await connect_within(self._connect_once, self._backoff(), self.start_timeout,
                             self._now, self.address)
        self._supervisor = asyncio.create_task(self._supervise(), name=f"ami-supervisor {self.address}")
        await self._run_on_connected()

    async def stop(self) -> None:
        """Log off, close the socket, stop reconnecting and pending handlers."""
        self._stopping = True
        for task in (self._supervisor, self._pinger):
            if task is not None:
                task.cancel()
        await asyncio.gather(*[t for t in (self._supervisor, self._pinger) if t is not None],
                             return_exceptions=True)
        self._supervisor = self._pinger = None
        protocol = self._protocol
        if protocol is not None:
            await self._logoff(protocol)
        await self._runner.cancel_all()

    async def _logoff(self, protocol: AmiProtocol) -> None:
        if self._logged_in:
            try:
                await self._send(build_action("Logoff", {}), min(self.action_timeout, 2.0))
            except AmiError:
                pass  # closing anyway
        protocol.close()
        try:
            await asyncio.wait_for(protocol.wait_closed(), 2.0)
        except asyncio.TimeoutError:
            protocol.abort()
        self._link_down(protocol, AmiNotConnected(f"AMI session to {self.address} stopped"))

    async def wait_connected(self, timeout: float | None = None) -> bool:
        """True once logged in; False if `timeout` seconds pass first."""
        try:
            await asyncio.wait_for(self._connected_event.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def on_connected(self, callback: ConnectedCallback) -> Subscription:
        """Run `callback` (usually async) after every successful login."""
        if not callable(callback):
            raise TypeError("on_connected callback is not callable")
        self._on_connected.append(callback)
        return Subscription(lambda: self._on_connected.remove(callback))

    def on(self, event_name: str, handler: EventHandler) -> Subscription:
        """Deliver typed events named `event_name` (or '*' for all) to handler."""
        return self._dispatcher.on(event_name, handler)

    # connecting -------------------------------------------------------
    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def _backoff(self) -> Backoff:
        return Backoff(self.reconnect_min, self.reconnect_max, self._rng)

    async def _connect_once(self) -> None:
        loop = asyncio.get_running_loop()
        protocol = self.create_protocol()
        await asyncio.wait_for(
            loop.create_connection(lambda: protocol, self.host, self.port), self.connect_timeout)
        self._protocol = protocol
        try:
            assert protocol.banner is not None
            await asyncio.wait_for(asyncio.shield(protocol.banner), self.connect_timeout)
            response = await self._send(self._login_action(), self.action_timeout)
        except BaseException:
            protocol.abort()
            raise
        if not response.success:
            protocol.close()
            raise AmiAuthError(
                f"Asterisk AMI at {self.address} refused the login of user '{self.username}'"
                f" ({response.get('Message') or 'no reason given'}); check the AMI username/secret"
                " in configuration against manager.conf (and its permit/deny lists)")
        self._link_up(protocol)

    def _login_action(self) -> Action:
        return build_action("Login", {"Username": self.username, "Secret": self._secret,
                                      "Events": "on"})

    def _link_up(self, protocol: AmiProtocol) -> None:
        self._logged_in = True
        self.logins += 1
        self._connected_event.set()
        self._pinger = asyncio.create_task(self._ping_loop(protocol), name=f"ami-ping {self.address}")
        log.info("AMI logged in to %s as %s (Asterisk Call Manager %s)", self.address,
                 self.username, protocol.version)

    def _link_down(self, protocol: AmiProtocol, error: AmiError) -> bool:
        """Forget `protocol`; True if it was the logged-in link."""
        if protocol is not self._protocol:
            return False
        was_up = self._logged_in
        self._protocol = None
        self._logged_in = False
        self._connected_event.clear()
        if self._pinger is not None and self._pinger is not asyncio.current_task():
            self._pinger.cancel()
        self._pinger = None
        self._pending.fail_all(str(error))
        return was_up

    def _connection_lost(self, protocol: AmiProtocol, exc: Exception | None) -> None:
        reason = describe(exc) if exc else "closed by Asterisk"
        error = AmiNotConnected(f"AMI connection to {self.address} lost ({reason})")
        if self._link_down(protocol, error) and not self._stopping:
            log.info("AMI connection to %s lost (%s)", self.address, reason)
            self._lost_event.set()

    async def _supervise(self) -> None:
        while True:
            await self._lost_event.wait()
            self._lost_event.clear()
            await self._reconnect()

    async def _reconnect(self) -> None:
        await reconnect_forever(self._connect_once, self._backoff(), self.address)
        self.reconnects += 1
        await self._run_on_connected()

    async def _run_on_connected(self) -> None:
        for callback in list(self._on_connected):
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("AMI %s: on_connected callback %r failed", self.address, callback)

    async def _ping_loop(self, protocol: AmiProtocol) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self._send(build_action("Ping", {}), self.action_timeout)
            except AmiNotConnected:
                return
            except AmiError as exc:
                log.info("AMI ping to %s failed (%s); dropping the connection to reconnect",
                         self.address, describe(exc))
                protocol.abort()
                return

    # actions ----------------------------------------------------------
    async def action(self, name: str, /, **headers: Any) -> Message:
        """Send one action and return its response Message.

        A list value repeats the header; a dict value becomes k=v lines.
        Raises ValueError (bad header), AmiNotConnected, AmiTimeout or
        AmiActionError (Response: Error, the Message is on .response).
        """
        action = build_action(name, headers, as_list=False)
        self._require_link(name)
        response = await self._send(action, self.action_timeout)
        if not response.success:
            raise AmiActionError(name, response)
        return response

    async def action_list(self, name: str, /, **headers: Any) -> list[AmiEvent]:
        """Send an event-list action; typed list events without *Complete."""
        action = build_action(name, headers, as_list=None)
        self._require_link(name)
        result = await self._send(action, self.action_timeout)
        if not isinstance(result, list):
            if not result.success:
                raise AmiActionError(name, result)
            return []
        if not result[0].success:
            raise AmiActionError(name, result[0])
        return self._typed(list_payload(result))

    def _typed(self, messages: list[Message]) -> list[AmiEvent]:
        events = []
        for message in messages:
            try:
                events.append(build_event(message["Event"], lower_store(message)))
            except AmiEventError as exc:
                log.warning("AMI %s: skipping list event: %s", self.address, exc)
        return events

    def _require_link(self, name: str) -> None:
        if not self._logged_in:
            raise AmiNotConnected(f"AMI link to {self.address} is down; action {name} was not sent")

    async def _send(self, action: Action, timeout: float) -> Any:
        protocol = self._protocol
        name = action["Action"]
        if protocol is None:
            raise AmiNotConnected(f"AMI link to {self.address} is down; action {name} was not sent")
        self._pending.add(action)
        try:
            protocol.send(str(action))
            return await asyncio.wait_for(action.future, timeout)
        except ConnectionError:
            raise AmiNotConnected(f"AMI link to {self.address} closed; action {name} was not sent") from None
        except asyncio.TimeoutError:
            raise AmiTimeout(f"AMI action {name} got no answer from {self.address}"
                             f" within {timeout:g}s") from None
        finally:
            self._pending.discard(action)

    # ingest (hot path) ------------------------------------------------
    def create_protocol(self) -> AmiProtocol:
        """A protocol feeding this session (also used by the ingest benchmark)."""
        return AmiProtocol(self._handle_message, self._connection_lost)

    def _handle_message(self, message: Message) -> None:
        store = lower_store(message)
        item = store.get("actionid")
        if item is not None and self._pending.resolve(item[1], message):
            return
        item = store.get("event")
        if item is None:
            log.debug("AMI %s: response to no pending action: %r", self.address, message)
            return
        self._handle_event(item[1], store)

    def _handle_event(self, name: str, store: dict[str, tuple[str, Any]]) -> None:
        key = name.lower()
        handlers = self._dispatcher.handlers_for(key)
        if handlers or self._bus is not None:
            try:
                event = build_event(name, store)
            except AmiEventError as exc:
                log.warning("AMI %s: skipping event: %s", self.address, exc)
                return
            if handlers:
                self._dispatcher.deliver(handlers, event)
            if self._bus is not None:
                self._bus.publish_nowait(f"ami.{name}", event.headers)
        if key == "shutdown":
            self._on_shutdown()

    def _on_shutdown(self) -> None:
        # Asterisk closes the socket itself, but do not wait on it to notice.
        log.info("AMI %s: Asterisk is shutting down; will reconnect", self.address)
        if self._protocol is not None:
            self._protocol.close()
