"""Typed AMI events: parsing good and bad header blocks (no I/O)."""
import pytest
from panoramisk.message import Message

from cti.events import (AmiEvent, AmiEventError, ContactStatus, CoreShowChannel, DialBegin,
                        DTMFEnd, EndpointList, Hangup, Newchannel, Rename, Shutdown, VarSet,
                        known_events, parse_event)

NEWCHANNEL = ("Event: Newchannel\r\nPrivilege: call,all\r\nTimestamp: 1700000000.123456\r\n"
              "Channel: PJSIP/carrier-00000001\r\nChannelState: 0\r\nChannelStateDesc: Down\r\n"
              "CallerIDNum: +15551230001\r\nCallerIDName: Ada\r\nConnectedLineNum: <unknown>\r\n"
              "ConnectedLineName: <unknown>\r\nLanguage: en\r\nAccountCode: \r\n"
              "Context: from-carrier\r\nExten: 8005550100\r\nPriority: 1\r\n"
              "Uniqueid: 1700000000.1\r\nLinkedid: 1700000000.1")


def test_newchannel_from_a_panoramisk_message():
    ev = parse_event(Message.from_line(NEWCHANNEL))
    assert isinstance(ev, Newchannel) and ev.name == "Newchannel"
    assert (ev.channel, ev.uniqueid, ev.linkedid) == ("PJSIP/carrier-00000001", "1700000000.1", "1700000000.1")
    assert (ev.channel_state, ev.channel_state_desc, ev.priority) == (0, "Down", 1)
    assert (ev.caller_id_num, ev.caller_id_name, ev.context, ev.exten) == \
        ("+15551230001", "Ada", "from-carrier", "8005550100")
    assert ev.timestamp == pytest.approx(1700000000.123456)
    assert ev.headers["CallerIDNum"] == "+15551230001"  # original header names kept
    assert ev.get("callerIDnum") == "+15551230001" and ev.get("nope", "x") == "x"


def test_events_are_frozen():
    ev = parse_event({"Event": "Newchannel", "Uniqueid": "1.1"})
    with pytest.raises(AttributeError):
        ev.uniqueid = "2.2"


def test_timestamp_is_none_without_timestampevents():
    assert parse_event({"Event": "Newchannel", "Uniqueid": "1.1"}).timestamp is None


def test_hangup_cause_and_bad_cause():
    ev = parse_event({"Event": "Hangup", "Uniqueid": "1.1", "Cause": "16", "Cause-txt": "Normal Clearing"})
    assert isinstance(ev, Hangup) and (ev.cause, ev.cause_txt) == (16, "Normal Clearing")
    # A strange Cause must not lose the hang-up itself.
    ev = parse_event({"Event": "Hangup", "Uniqueid": "1.1", "Cause": "abc"})
    assert ev.cause is None and ev.get("Cause") == "abc"


@pytest.mark.parametrize("headers", [
    {"Event": "Hangup", "Cause": "16"},
    {"Event": "Newstate", "Uniqueid": ""},
    {"Event": "DeviceStateChange", "Device": "PJSIP/1001"},
    {"Event": "Rename", "Uniqueid": "1.1"},
    {"Uniqueid": "1.1"},
])
def test_missing_identity_header_is_a_clear_error(headers):
    with pytest.raises(AmiEventError, match="header"):
        parse_event(headers)


def test_unknown_event_gives_the_base_class():
    ev = parse_event({"Event": "MusicOnHoldStart", "Channel": "X", "Timestamp": "1.5"})
    assert type(ev) is AmiEvent and ev.get("channel") == "X" and ev.timestamp == 1.5


def test_header_lookup_is_case_insensitive_for_plain_dicts():
    ev = parse_event({"event": "VarSet", "variable": "FOO", "VALUE": "bar", "uniqueid": "1.1"})
    assert isinstance(ev, VarSet) and (ev.variable, ev.value, ev.uniqueid) == ("FOO", "bar", "1.1")


def test_dial_begin_has_both_snapshots():
    ev = parse_event({"Event": "DialBegin", "Uniqueid": "1.1", "Channel": "PJSIP/a",
                      "DestUniqueid": "1.2", "DestChannel": "PJSIP/b", "DestChannelState": "5",
                      "DestLinkedid": "1.1", "DialString": "agent1"})
    assert isinstance(ev, DialBegin)
    assert (ev.channel, ev.dest_channel, ev.dest_channel_state, ev.dial_string) == \
        ("PJSIP/a", "PJSIP/b", 5, "agent1")


def test_dtmf_contact_endpoint_shutdown_rename():
    dtmf = parse_event({"Event": "DTMFEnd", "Uniqueid": "1", "Digit": "5", "DurationMs": "120",
                        "Direction": "Received"})
    assert isinstance(dtmf, DTMFEnd) and (dtmf.digit, dtmf.duration_ms, dtmf.direction) == ("5", 120, "Received")
    contact = parse_event({"Event": "ContactStatus", "URI": "sip:1001@10.0.0.5", "ContactStatus": "Reachable",
                           "AOR": "1001", "EndpointName": "1001", "RoundtripUsec": "1500"})
    assert isinstance(contact, ContactStatus) and contact.roundtrip_usec == 1500
    endpoint = parse_event({"Event": "EndpointList", "ObjectName": "1001", "DeviceState": "Not in use",
                            "ActiveChannels": "0"})
    assert isinstance(endpoint, EndpointList) and endpoint.active_channels == 0
    assert parse_event({"Event": "Shutdown", "Shutdown": "Cleanly", "Restart": "True"}) == \
        Shutdown(name="Shutdown", headers={}, shutdown="Cleanly", restart=True)
    rename = parse_event({"Event": "Rename", "Channel": "a", "Newname": "b", "Uniqueid": "1"})
    assert isinstance(rename, Rename) and rename.new_name == "b"


def test_core_show_channel():
    ev = parse_event({"Event": "CoreShowChannel", "ActionID": "x", "Uniqueid": "1.1", "Linkedid": "1.0",
                      "BridgeId": "b1", "Duration": "00:01:02", "Application": "AGI"})
    assert isinstance(ev, CoreShowChannel)
    assert (ev.bridge_id, ev.duration, ev.application, ev.action_id) == ("b1", "00:01:02", "AGI", "x")


def test_registry_covers_the_platform_events():
    assert {"Newchannel", "Newstate", "Hangup", "DialBegin", "DialEnd", "DTMFBegin", "DTMFEnd",
            "NewCallerid", "Rename", "VarSet", "BridgeEnter", "BridgeLeave", "Hold", "Unhold",
            "FullyBooted", "Shutdown", "PeerStatus", "ContactStatus", "DeviceStateChange",
            "CoreShowChannel", "CoreShowChannelsComplete", "EndpointList", "EndpointListComplete",
            "OriginateResponse"} <= set(known_events())
