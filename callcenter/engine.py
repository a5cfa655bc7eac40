"""The engine: one asyncio process that links Asterisk to the platform.

Built in one place from its parts (AMI session, FastAGI server, event bus,
call tracker, history writer), so each part gets what it needs through its
constructor and can be tested alone.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from cti.ami import AmiSession
from cti.bus import EventBus, InProcessBus
from cti.calls import CallTracker
from cti.channels import ChannelTracker, EndpointTracker, list_endpoints
from cti.fastagi import FastAgiServer
from ivr.welcome import WelcomeMenu

from .history import CallHistory

log = logging.getLogger(__name__)

CALL_EVENTS = ("Newchannel", "Newstate", "DTMFEnd", "Hangup")


@dataclass
class AmiAddress:
    host: str
    port: int
    username: str
    secret: str


class Engine:
    def __init__(self, ami: AmiAddress, sessions: sessionmaker, *, agi_host: str = "127.0.0.1",
                 agi_port: int = 4573, ivr: WelcomeMenu | None = None, ivr_handler=None,
                 inbound_contexts=("from-carrier",), bus: EventBus | None = None,
                 start_timeout: float = 30.0, region: str = "US",
                 history: CallHistory | None = None, acd=None):
        """``ivr_handler`` (an async AGI route handler, e.g. IvrRuntime.handle) wins
        over ``ivr``; ``history`` lets the IVR be built on the same writer first;
        ``acd`` is a factory (callcenter.acd_setup.build_acd) called with the engine
        to make the ACD on its AMI session, bus and history (None: no ACD, callers
        handed to a queue wait with music)."""
        self.bus = bus or InProcessBus()
        self.history = history or CallHistory(sessions, region=region)
        self.calls = CallTracker(self._call_changed, inbound_contexts=inbound_contexts)
        self.channels = ChannelTracker()  # every live channel (the wallboard's view)
        self.endpoints = EndpointTracker()  # agents' desk phones: registered, state
        self.ami = AmiSession(ami.host, ami.port, ami.username, ami.secret, bus=self.bus,
                              start_timeout=start_timeout)
        routes = {"ivr": ivr_handler or (ivr or WelcomeMenu()).handle}
        self.acd = acd(self) if acd is not None else None
        if self.acd is not None:
            routes.update(self.acd.agi_routes())
        self.agi = FastAgiServer(agi_host, agi_port, routes)
        for name in CALL_EVENTS:
            self.ami.on(name, self.calls.apply)
        for name in ChannelTracker.EVENT_NAMES:
            self.ami.on(name, self.channels.apply)
        for name in EndpointTracker.EVENT_NAMES:
            self.ami.on(name, self.endpoints.apply)
        if self.acd is not None:
            self.acd.attach()  # after the trackers: it reads the endpoints they keep
        self.ami.on_connected(self._resync)

    def dialled_number(self, linkedid: str) -> str | None:
        """The number an inbound call dialled (its DID), as Asterisk reported it."""
        call = self.calls.calls.get(linkedid)
        return call.dialled_number if call else None

    async def start(self) -> None:
        self.history.start()
        await self.agi.start()
        try:
            await self.ami.start()
            if self.acd is not None:
                await self.acd.start()
        except BaseException:
            await self.ami.stop()
            await self.agi.stop()
            await self.history.stop()
            raise
        log.info("engine: AMI %s:%s linked, FastAGI on %s:%s", self.ami.host, self.ami.port,
                 self.agi.host, self.agi.port)

    async def stop(self) -> None:
        if self.acd is not None:
            await self.acd.stop()
        await self.agi.stop()
        await self.ami.stop()
        await self.history.stop()

    def _call_changed(self, call, what: str) -> None:
        report_call(self.history, self.bus, call, what)

    async def _resync(self) -> None:
        """After every (re)connect: believe Asterisk, not what we remembered."""
        channels = await self.ami.action_list("CoreShowChannels")
        self.channels.resync(channels)
        self.endpoints.resync(await list_endpoints(self.ami))
        lost = self.calls.resync(channels)
        live = {ch.linkedid for ch in channels}
        closed = await self.history.close_lost(
            live, "ended while the platform had no AMI link")
        if lost or closed:
            log.warning("engine: resync closed %d call(s) Asterisk no longer has", len(lost) + closed)
        if self.acd is not None:
            await self.acd.resync(channels)


def report_call(history: CallHistory, bus: EventBus, call, what: str) -> None:
    """A CallTracker change: the history snapshot, then a `call.<what>` bus event."""
    history.on_call_changed(call, what)
    bus.publish_nowait(f"call.{what}", {"linkedid": call.linkedid, "caller": call.caller_number,
                                        "dialled": call.dialled_number, "status": call.status})
