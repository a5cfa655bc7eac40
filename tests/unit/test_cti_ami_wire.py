"""AMI framing, action building and backoff, without sockets."""
import asyncio
import logging
import random

import pytest

from cti.ami_actions import build_action, list_payload
from cti.ami_protocol import AmiProtocol
from cti.backoff import Backoff
from panoramisk.message import Message


def feed(*chunks, max_buffer=1 << 20):
    got, lost = [], []
    proto = AmiProtocol(got.append, lambda p, exc: lost.append(exc), max_buffer=max_buffer)
    for chunk in chunks:
        proto.data_received(chunk)
    return proto, got


def test_banner_and_blocks_split_across_chunks():
    stream = (b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\n"
              b"Message: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
    proto, got = feed(*[stream[i:i + 7] for i in range(0, len(stream), 7)])
    assert proto.version == "11.0.0"
    assert [m.get("Response") or m.get("Event") for m in got] == ["Success", "FullyBooted"]


def test_utf8_split_inside_a_character_survives():
    data = "Asterisk Call Manager/11.0.0\r\nEvent: Newchannel\r\nCallerIDName: Zoë Ångström\r\n\r\n".encode()
    cut = data.index("ë".encode()) + 1
    _, got = feed(data[:cut], data[cut:])
    assert got[0]["CallerIDName"] == "Zoë Ångström"


def test_garbage_is_skipped_without_breaking_the_reader(caplog):
    stream = (b"Asterisk Call Manager/11.0.0\r\n"
              b"\xff\xfe garbage without colon\r\n\r\n"  # neither Event nor Response
              b"Foo: bar\r\n\r\n"
              b"\r\n\r\n"
              b"Event: Newchannel\r\nthis line has no separator\r\nUniqueid: 1.1\r\n\r\n")
    with caplog.at_level(logging.DEBUG, logger="cti.ami_protocol"):
        proto, got = feed(stream)
    assert [m["Uniqueid"] for m in got] == ["1.1"]
    assert proto.skipped_blocks == 2
    assert "neither Event nor Response" in caplog.text and "without ': '" in caplog.text


def test_a_peer_that_is_not_asterisk_is_dropped():
    class Transport:
        aborted = False

        def abort(self):
            self.aborted = True
    proto = AmiProtocol(lambda m: None, lambda p, e: None)
    proto.transport = Transport()
    proto.data_received(b"SSH-2.0-OpenSSH_9.6\r\n")
    assert proto.transport.aborted and proto.version is None


def test_unbounded_block_is_dropped():
    class Transport:
        aborted = False

        def abort(self):
            self.aborted = True
    proto = AmiProtocol(lambda m: None, lambda p, e: None, max_buffer=1000)
    proto.transport = Transport()
    proto.data_received(b"Asterisk Call Manager/11.0.0\r\n" + b"Event: x\r\n" * 200)
    assert proto.transport.aborted


def build(name, headers, as_list=False):
    async def make():
        return build_action(name, headers, as_list=as_list)
    return asyncio.run(make())


def test_action_text_with_repeated_headers():
    action = build("Originate", {"Channel": "PJSIP/1001", "Variable": ["A=1", "B=2"], "Async": True,
                                 "Timeout": 30000, "Account": None})
    lines = str(action).split("\r\n")
    assert "Action: Originate" in lines and "Variable: A=1" in lines and "Variable: B=2" in lines
    assert "Async: true" in lines and "Timeout: 30000" in lines and not any("Account" in l for l in lines)
    assert any(l.startswith("ActionID: ") for l in lines) and str(action).endswith("\r\n\r\n")
    assert "Variable: X=y" in str(build("Setvar", {"Variable": {"X": "y"}}))


@pytest.mark.parametrize("name,headers", [
    ("Originate", {"Channel": "PJSIP/1001\r\nAction: Command"}),
    ("Originate", {"CallerID": "x\nAction: Hangup"}),
    ("Originate", {"Variable": ["A=1", "B=2\rC"]}),
    ("Originate", {"Bad\r\nHeader": "x"}),
    ("Originate", {"Bad: Header": "x"}),
    ("Ping\r\nAction: Command", {}),
    ("Originate", {"Channel": object()}),
])
def test_injection_is_refused(name, headers):
    with pytest.raises(ValueError):
        build(name, headers)


def test_list_payload_drops_the_response_and_the_complete_marker():
    msgs = [Message({"Response": "Success", "EventList": "start"}),
            Message({"Event": "CoreShowChannel", "Uniqueid": "1"}),
            Message({"Event": "CoreShowChannelsComplete", "EventList": "Complete"})]
    assert [m["Uniqueid"] for m in list_payload(msgs)] == ["1"]


def test_backoff_grows_with_jitter_and_caps():
    b = Backoff(0.2, 10.0, random.Random(1))
    delays = [b.next_delay() for _ in range(12)]
    for n, d in enumerate(delays):
        ceiling = min(10.0, 0.2 * 2 ** n)
        assert ceiling / 2 <= d <= ceiling
    assert max(delays) <= 10.0 and delays[-1] >= 5.0
    b.reset()
    assert b.next_delay() <= 0.2
    b.hold_at_maximum()
    assert b.next_delay() >= 5.0
    with pytest.raises(ValueError):
        Backoff(0, 1)
