"""AmiSession against a small AMI peer on loopback: protocol edge cases only
(the real Asterisk behaviours are covered by the lab tests)."""
import asyncio
import logging
import socket

import pytest

from cti.ami import (AmiActionError, AmiAuthError, AmiConnectError, AmiNotConnected, AmiSession,
                     AmiTimeout)
from cti.bus import InProcessBus
from cti.channels import ChannelTracker, attach_trackers
from cti.endpoints import EndpointTracker
from cti.events import CoreShowChannel, Hangup, Newchannel

SECRET = "s3cret"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 15))


def block(**headers):
    return "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items()) + "\r\n"


class FakeAsterisk:
    """Enough of Asterisk's manager to log in, answer actions and send events."""

    def __init__(self):
        self.connections = 0
        self.actions = []  # every action block received, as a list of (name, value)
        self.writers = []
        self.channels = []  # what CoreShowChannels reports: (uniqueid, linkedid)
        self.endpoints = []  # what PJSIPShowEndpoints reports: names
        self.ignore = set()  # action names left unanswered
        self.server = None

    async def start(self, port=0):
        self.server = await asyncio.start_server(self._client, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        self.drop()
        self.server.close()
        await self.server.wait_closed()

    def drop(self):
        for writer in self.writers:
            writer.transport.abort()
        self.writers = []

    def send(self, text):
        for writer in self.writers:
            writer.write(text.encode() if isinstance(text, str) else text)

    def event(self, name, **headers):
        self.send(block(Event=name, Privilege="call,all", **headers))

    def received(self, name):
        return [dict(a) for a in self.actions if dict(a).get("Action") == name]

    async def _client(self, reader, writer):
        self.connections += 1
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                lines = [l.split(": ", 1) for l in raw.decode().split("\r\n") if ": " in l]
                self.actions.append(lines)
                await self._answer(dict(lines), writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, action, writer):
        name, aid = action.get("Action"), action.get("ActionID")
        if name in self.ignore:
            return
        if name == "Login":
            if action.get("Secret") == SECRET:
                writer.write(block(Response="Success", ActionID=aid, Message="Authentication accepted").encode())
            else:
                writer.write(block(Response="Error", ActionID=aid, Message="Authentication failed").encode())
                await writer.drain()
                writer.close()
        elif name == "Logoff":
            writer.write(block(Response="Goodbye", ActionID=aid, Message="Thanks for all the fish.").encode())
            await writer.drain()
            writer.close()
        elif name == "CoreShowChannels":
            self._list(writer, aid, "Channels will follow", "CoreShowChannel", [
                {"Channel": f"PJSIP/x-{uid}", "Uniqueid": uid, "Linkedid": linked, "ChannelState": "6",
                 "Duration": "00:00:05"} for uid, linked in self.channels])
        elif name == "PJSIPShowEndpoints":
            if not self.endpoints:
                writer.write(block(Response="Error", ActionID=aid, Message="No endpoints found").encode())
            else:
                self._list(writer, aid, "A listing of Endpoints follows", "EndpointList", [
                    {"ObjectType": "endpoint", "ObjectName": n, "DeviceState": "Not in use"}
                    for n in self.endpoints])
        elif name == "Nope":
            writer.write(block(Response="Error", ActionID=aid, Message="Invalid/unknown command: Nope.").encode())
        else:
            writer.write(block(Response="Success", ActionID=aid, Ping="Pong").encode())

    def _list(self, writer, aid, message, event, items):
        out = block(Response="Success", ActionID=aid, EventList="start", Message=message)
        # An unrelated event interleaved with the list must go to subscribers.
        out += block(Event="FullyBooted", Privilege="system,all", Status="Fully Booted")
        for item in items:
            out += block(Event=event, ActionID=aid, **item)
        out += block(Event=f"{event}sComplete" if event == "CoreShowChannel" else f"{event}Complete",
                     ActionID=aid, EventList="Complete", ListItems=len(items))
        writer.write(out.encode())


def session_for(peer, secret=SECRET, **options):
    options = {"reconnect_min": 0.01, "reconnect_max": 0.05, "start_timeout": 5, **options}
    return AmiSession("127.0.0.1", peer.port, "engine", secret, **options)


async def eventually(predicate, what="condition"):
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what} not reached")


def with_peer(scenario):
    async def wrapper():
        peer = await FakeAsterisk().start()
        try:
            return await scenario(peer)
        finally:
            await peer.stop()
    return run(wrapper())


def test_login_and_clean_stop():
    async def scenario(peer):
        session = session_for(peer)
        await session.start()
        assert session.connected and await session.wait_connected(1)
        (login,) = peer.received("Login")
        assert (login["Username"], login["Secret"], login["Events"]) == ("engine", SECRET, "on")
        await session.stop()
        assert not session.connected and peer.received("Logoff")
        assert session.logins == 1 and session.reconnects == 0
    with_peer(scenario)


def test_wrong_secret_is_a_clear_error_without_retry_storm():
    async def scenario(peer):
        session = session_for(peer, secret="wrong")
        with pytest.raises(AmiAuthError) as err:
            await session.start()
        await asyncio.sleep(0.1)  # a retrying session would reconnect meanwhile
        assert peer.connections == 1 and session.logins == 0 and not session.connected
        await session.stop()
        return str(err.value)
    message = with_peer(scenario)
    assert "127.0.0.1:" in message and "'engine'" in message and "username/secret" in message
    assert "wrong" not in message  # never echo the secret


def test_unreachable_asterisk_at_start(caplog):
    async def scenario():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # bound, not listening: connection refused
            session = AmiSession("127.0.0.1", port, "engine", SECRET, reconnect_min=0.01,
                                 reconnect_max=0.05, start_timeout=0.3)
            with pytest.raises(AmiConnectError) as err:
                await session.start()
            return port, str(err.value)
    with caplog.at_level(logging.INFO, logger="cti.ami"):
        port, message = run(scenario())
    assert f"127.0.0.1:{port}" in message
    retries = [r for r in caplog.records if "not reachable" in r.getMessage()]
    assert retries and all(r.levelno == logging.INFO and r.exc_info is None for r in retries)


def test_reconnects_with_backoff_and_runs_on_connected_again(caplog):
    async def scenario(peer):
        session = session_for(peer)
        logins = []

        async def resync():
            logins.append(await session.action("Ping"))
        session.on_connected(resync)
        await session.start()
        assert len(logins) == 1
        peer.ignore.add("Status")
        pending = asyncio.ensure_future(session.action("Status"))
        await eventually(lambda: peer.received("Status"), "Status sent")
        peer.drop()
        with pytest.raises(AmiNotConnected):
            await pending  # in flight when the link died: failed, not left hanging
        await eventually(lambda: len(logins) == 2, "second on_connected")
        assert session.connected and session.reconnects == 1 and peer.connections == 2
        await session.stop()
    with caplog.at_level(logging.INFO, logger="cti.ami"):
        with_peer(scenario)
    lines = [r for r in caplog.records if "reconnect" in r.getMessage() or "lost" in r.getMessage()]
    assert lines and all(r.levelno == logging.INFO and r.exc_info is None for r in lines)


def test_keeps_retrying_while_asterisk_is_down():
    async def scenario():
        peer = await FakeAsterisk().start()
        port = peer.port
        session = session_for(peer)
        await session.start()
        await peer.stop()
        await eventually(lambda: not session.connected, "disconnect")
        with pytest.raises(AmiNotConnected):
            await session.action("Ping")  # refused at once, not queued
        await asyncio.sleep(0.2)  # several refused attempts
        peer = await FakeAsterisk().start(port)
        try:
            assert await session.wait_connected(5)
            assert session.reconnects == 1
            await session.stop()
        finally:
            await peer.stop()
    run(scenario())


def test_shutdown_event_and_ping_failure_lead_to_reconnect():
    async def scenario(peer):
        session = session_for(peer, ping_interval=0.05, action_timeout=0.2)
        await session.start()
        peer.event("Shutdown", Shutdown="Cleanly", Restart="True")
        await eventually(lambda: session.reconnects == 1, "reconnect after Shutdown")
        peer.ignore.add("Ping")  # Asterisk hangs: pings go unanswered
        await eventually(lambda: session.reconnects >= 2 or peer.connections >= 3, "reconnect after ping loss")
        await session.stop()
    with_peer(scenario)


def test_actions_errors_timeouts_and_event_lists():
    async def scenario(peer):
        session = session_for(peer, action_timeout=0.2)
        booted = []
        session.on("FullyBooted", booted.append)
        await session.start()
        assert (await session.action("Ping"))["Ping"] == "Pong"
        with pytest.raises(AmiActionError) as err:
            await session.action("Nope")
        assert "Invalid/unknown" in err.value.response["Message"]
        peer.ignore.add("Status")
        with pytest.raises(AmiTimeout):
            await session.action("Status")
        with pytest.raises(asyncio.TimeoutError):  # AmiTimeout is one
            await session.action("Status")
        assert session.connected
        peer.channels = [("1.1", "1.1"), ("1.2", "1.1")]
        channels = await session.action_list("CoreShowChannels")
        assert [type(c) for c in channels] == [CoreShowChannel, CoreShowChannel]
        assert [c.uniqueid for c in channels] == ["1.1", "1.2"]
        assert len(booted) == 1  # the interleaved event went to subscribers, not the list
        peer.channels = []
        assert await session.action_list("CoreShowChannels") == []
        with pytest.raises(AmiActionError, match="No endpoints"):
            await session.action_list("PJSIPShowEndpoints")
        await session.stop()
    with_peer(scenario)


def test_header_injection_and_repeated_headers():
    async def scenario(peer):
        session = session_for(peer)
        await session.start()
        with pytest.raises(ValueError):
            await session.action("Originate", Channel="PJSIP/1001\r\nAction: Command\r\nCommand: core stop now")
        with pytest.raises(ValueError):
            await session.action("Originate", Variable=["A=1", "B=2\nAction: Hangup"])
        await session.action("Originate", Channel="PJSIP/1001", Variable=["A=1", "B=2"])
        await session.stop()
        originates = [a for a in peer.actions if ("Action", "Originate") in [tuple(x) for x in a]]
        assert len(originates) == 1
        assert [v for k, v in originates[0] if k == "Variable"] == ["A=1", "B=2"]
        assert not peer.received("Command") and not peer.received("Hangup")
    with_peer(scenario)


def test_typed_dispatch_and_handler_isolation(caplog):
    async def scenario(peer):
        session = session_for(peer)
        bus = InProcessBus()
        session = session_for(peer, bus=bus, publish_events=True)
        got, everything, published, async_got = [], [], [], []

        def broken(event):
            raise RuntimeError("handler bug")

        async def async_handler(event):
            async_got.append(event.uniqueid)
        session.on("Newchannel", broken)
        session.on("Newchannel", got.append)
        session.on("hangup", got.append)  # event names are case-insensitive
        session.on("Newchannel", async_handler)
        session.on("*", lambda e: everything.append(e.name))
        bus.subscribe("ami.*", lambda topic, payload: published.append((topic, payload["Uniqueid"])))
        await session.start()
        peer.send(b"garbage line\r\n\r\nResponse: Follows\r\n\r\nnot: an event\r\n\r\n")
        peer.event("Newchannel", Uniqueid="1.1", Linkedid="1.1", Channel="PJSIP/a")
        peer.event("Hangup", Channel="PJSIP/a", Cause="16")  # no Uniqueid: skipped
        peer.event("Hangup", Uniqueid="1.1", Cause="x")
        peer.event("UserEvent", Uniqueid="1.1", UserEvent="Mine")
        await eventually(lambda: len(everything) == 3, "events")
        await eventually(lambda: async_got == ["1.1"], "async handler")
        assert [type(e) for e in got] == [Newchannel, Hangup] and got[1].cause is None
        assert everything == ["Newchannel", "Hangup", "UserEvent"]
        assert published == [("ami.Newchannel", "1.1"), ("ami.Hangup", "1.1"), ("ami.UserEvent", "1.1")]
        assert session.connected
        await session.stop()
    with caplog.at_level(logging.WARNING):
        with_peer(scenario)
    assert "handler bug" in caplog.text and "without its Uniqueid" in caplog.text


def test_trackers_resync_after_reconnect_and_report_lost_calls():
    async def scenario(peer):
        session = session_for(peer)
        channels, endpoints, lost = ChannelTracker(), EndpointTracker(), []
        peer.channels = [("1.1", "1.1"), ("2.1", "2.1")]
        peer.endpoints = ["1001"]
        await attach_trackers(session, channels, endpoints, on_calls_lost=lost.append)
        await session.start()
        assert channels.linkedids() == {"1.1", "2.1"} and endpoints.names() == ["1001"]
        peer.event("Newchannel", Uniqueid="3.1", Linkedid="3.1", Channel="PJSIP/c")
        await eventually(lambda: len(channels) == 3, "live event applied")
        peer.channels = [("2.1", "2.1")]  # 1.1 and 3.1 ended while we were away
        peer.endpoints = []
        peer.drop()
        await eventually(lambda: lost, "resync after reconnect")
        assert lost == [{"1.1", "3.1"}] and channels.linkedids() == {"2.1"} and len(endpoints) == 0
        await session.stop()
    with_peer(scenario)
