"""Bad input reaching the recorder changes nothing: malformed acd.call events,
MixMonitor events of channels it does not record, commands of agents without a
call; and the IVR only ever hands the dialplan a consent sound it checked.
A fake AMI records the actions; nothing else is faked and no file is touched."""
from __future__ import annotations

from pathlib import Path

import pytest

from cti.bus import InProcessBus
from cti.events import parse_event
from ivr.runtime import IvrRuntime
from recording.errors import RecordingError
from recording.policy import parse_policy
from recording.service import RecordingService
from recording.store import Store

pytestmark = pytest.mark.asyncio

POLICY = parse_policy({"recording": {"queues": {"care": {"mode": "on_demand"},
                                                "quiet": {"mode": "none"}}}})


class FakeAmi:
    def __init__(self):
        self.actions, self.handlers = [], {}

    def on(self, name, handler):
        self.handlers.setdefault(name, []).append(handler)
        return type("Sub", (), {"cancel": lambda self: None})()

    def on_connected(self, callback):
        return self.on("connected", callback)

    async def action(self, name, **headers):
        self.actions.append((name, headers))
        return {}

    def emit(self, **headers):
        event = parse_event(headers)
        for handler in self.handlers.get(event.name, []):
            handler(event)


def service():
    ami, bus = FakeAmi(), InProcessBus()
    seen = []
    bus.subscribe("recording.*", lambda topic, payload: seen.append((topic, payload)))
    rec = RecordingService(ami, bus, sessions=None, policy=POLICY, store=Store(Path("/nowhere")),
                           incoming=(Path("/nowhere/in"), "/var/spool/in"))
    rec.attach()
    return rec, ami, bus, seen


async def test_malformed_acd_events_are_ignored():
    rec, ami, bus, seen = service()
    for payload in [
        {"event": "answered"},  # no linkedid
        {"event": "answered", "linkedid": "pbx-1.0\r\nAction: Hangup", "agent": "alice"},
        {"event": "answered", "linkedid": 7, "agent": "alice"},
        {"event": "queued", "linkedid": "pbx-2.0"},  # not an event the recorder follows
        {"event": "ended", "linkedid": "pbx-3.0"},  # a call it never saw
    ]:
        bus.publish_nowait("acd.call", payload)
    assert rec.talks == {} and rec.by_agent == {} and ami.actions == [] and seen == []


async def test_a_bad_agent_or_channel_never_reaches_asterisk():
    rec, ami, bus, seen = service()
    bus.publish_nowait("acd.call", {"event": "answered", "linkedid": "pbx-1.0", "queue": "care",
                                    "agent": "al ice;x", "channel": "pbx-1.0,Options=x",
                                    "agent_channel": "pbx-1.1"})
    talk = rec.talks["pbx-1.0"]
    assert talk.agent is None and talk.channel is None and talk.agent_channel == "pbx-1.1"
    assert rec.by_agent == {} and ami.actions == [] and seen == []


async def test_on_demand_calls_wait_for_the_agent_and_quiet_ones_are_off():
    rec, ami, bus, seen = service()
    bus.publish_nowait("acd.call", {"event": "answered", "linkedid": "pbx-1.0", "queue": "care",
                                    "agent": "alice", "channel": "pbx-1.0",
                                    "agent_channel": "pbx-1.1"})
    bus.publish_nowait("acd.call", {"event": "answered", "linkedid": "pbx-2.0", "queue": "quiet",
                                    "agent": "bob", "channel": "pbx-2.0",
                                    "agent_channel": "pbx-2.1"})
    assert rec.state("alice") == {"linkedid": "pbx-1.0", "recording": False, "paused": False,
                                  "mode": "on_demand"}
    assert rec.state("bob")["mode"] == "none" and rec.state("carol") is None
    assert rec.state("bad name!") is None
    assert [p["agent"] for t, p in seen if t == "recording.state"] == ["alice", "bob"]
    with pytest.raises(RecordingError, match="recording is off for queue quiet"):
        await rec.start("bob")
    for command in (rec.pause, rec.resume, rec.stop):
        with pytest.raises(RecordingError, match="not being recorded"):
            await command("alice")
    with pytest.raises(RecordingError, match="carol has no call"):
        await rec.start("carol")
    # Someone else's MixMonitor on a channel of ours: not our recording.
    ami.emit(Event="MixMonitorStart", Uniqueid="pbx-1.0", Linkedid="pbx-1.0")
    ami.emit(Event="MixMonitorMute", Uniqueid="pbx-1.0", State="1")
    ami.emit(Event="Hangup", Uniqueid="pbx-1.0", Linkedid="pbx-1.0", Cause="16")
    assert rec.state("alice")["recording"] is False and ami.actions == []
    bus.publish_nowait("acd.call", {"event": "ended", "linkedid": "pbx-1.0", "agent": "alice"})
    assert rec.state("alice") is None and "pbx-1.0" not in rec.talks
    assert seen[-1] == ("recording.state", {"agent": "alice", "linkedid": "pbx-1.0",
                                            "recording": False, "paused": False,
                                            "mode": "on_demand"})


class FakeCall:
    def __init__(self):
        self.variables = {}

    async def set_variable(self, name, value):
        self.variables[name] = value


@pytest.mark.parametrize("answer, expected", [
    ("/var/lib/callcenter/prompts/en/tts-1a2b", "/var/lib/callcenter/prompts/en/tts-1a2b"),
    (None, None),
    ("", None),
    ("beep,,&Hangup", None),
    ("/a/../../etc/passwd", None),
    ("x" * 300, None),
])
async def test_the_ivr_hands_on_only_a_checked_consent_sound(answer, expected):
    runtime = IvrRuntime(flows=None, prompts=None, consent_for=lambda queue: answer)
    call, step = FakeCall(), {}
    await runtime._consent(call, "care", step)
    assert call.variables.get("CC_CONSENT") == expected
    assert step.get("consent") is (True if expected else None)


async def test_a_failing_consent_source_leaves_the_call_alone():
    def broken(queue):
        raise RuntimeError("espeak is gone")
    runtime = IvrRuntime(flows=None, prompts=None, consent_for=broken)
    call = FakeCall()
    await runtime._consent(call, "care", {})
    assert call.variables == {}
