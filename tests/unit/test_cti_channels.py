"""ChannelTracker and EndpointTracker: pure state fed by typed events."""
from cti.channels import ChannelTracker
from cti.endpoints import EndpointTracker, normalize_device_state
from cti.events import parse_event


def ev(name, **headers):
    return parse_event({"Event": name, **headers})


def chan(name, uid, linked, **extra):
    headers = {"Channel": f"PJSIP/x-{uid}", "Uniqueid": uid, "Linkedid": linked, "ChannelState": "4",
               "ChannelStateDesc": "Ring", "CallerIDNum": "+15551230001"}
    return ev(name, **{**headers, **extra})


def test_channels_grouped_by_call_until_the_last_hangup():
    t = ChannelTracker()
    t.apply(chan("Newchannel", "1.1", "1.1"))
    t.apply(chan("Newchannel", "1.2", "1.1"))
    t.apply(chan("Newstate", "1.2", "1.1", ChannelState="6", ChannelStateDesc="Up"))
    assert {c.uniqueid for c in t.channels_of_call("1.1")} == {"1.1", "1.2"}
    assert (t.get("1.2").state, t.get("1.2").state_desc) == (6, "Up")
    assert t.apply(chan("Hangup", "1.1", "1.1", Cause="16")) is None
    assert t.apply(chan("Hangup", "1.2", "1.1", Cause="16")) == "1.1"  # the call ended
    assert len(t) == 0 and t.channels_of_call("1.1") == [] and t.linkedids() == set()


def test_caller_id_hold_bridge_and_rename():
    t = ChannelTracker()
    t.apply(chan("Newchannel", "1.1", "1.1"))
    t.apply(chan("NewCallerid", "1.1", "1.1", CallerIDNum="+4930123", CallerIDName="Bob"))
    t.apply(chan("Hold", "1.1", "1.1"))
    t.apply(chan("BridgeEnter", "1.1", "1.1", BridgeUniqueid="b1"))
    t.apply(ev("Rename", Channel="PJSIP/x-1.1", Newname="PJSIP/y-1.1", Uniqueid="1.1"))
    info = t.get("1.1")
    assert (info.caller_id_num, info.caller_id_name, info.on_hold, info.bridge_id, info.name) == \
        ("+4930123", "Bob", True, "b1", "PJSIP/y-1.1")
    t.apply(chan("Unhold", "1.1", "1.1"))
    t.apply(chan("BridgeLeave", "1.1", "1.1", BridgeUniqueid="b1"))
    assert (info.on_hold, info.bridge_id) == (False, None)


def test_late_events_do_not_resurrect_a_hung_up_channel():
    t = ChannelTracker()
    t.apply(chan("Newchannel", "1.1", "1.1"))
    t.apply(chan("Hangup", "1.1", "1.1"))
    for name in ("Hold", "Unhold", "VarSet", "DTMFEnd"):
        t.apply(chan(name, "1.1", "1.1", Variable="X", BridgeUniqueid="b"))
    t.apply(chan("BridgeLeave", "1.1", "1.1", BridgeUniqueid="b"))
    assert len(t) == 0
    assert t.apply(chan("Hangup", "9.9", "9.9")) is None  # unknown channel: nothing to do


def test_linkedid_change_moves_the_channel():
    t = ChannelTracker()
    t.apply(chan("Newchannel", "2.1", "2.1"))
    t.apply(chan("Newstate", "2.1", "1.1"))
    assert t.channels_of_call("2.1") == [] and [c.uniqueid for c in t.channels_of_call("1.1")] == ["2.1"]


def test_resync_replaces_state_and_reports_lost_calls():
    t = ChannelTracker()
    for uid, linked in (("1.1", "1.1"), ("1.2", "1.1"), ("2.1", "2.1")):
        t.apply(chan("Newchannel", uid, linked))
    listing = [ev("CoreShowChannel", Uniqueid="2.1", Linkedid="2.1", Channel="PJSIP/x", BridgeId="b9",
                  ChannelState="6"),
               ev("CoreShowChannel", Uniqueid="3.1", Linkedid="3.1", Channel="PJSIP/y")]
    assert t.resync(listing) == {"1.1"}
    assert {c.uniqueid for c in (t.get("2.1"), t.get("3.1"))} == {"2.1", "3.1"}
    assert t.get("1.2") is None and t.get("2.1").bridge_id == "b9" and t.get("2.1").state == 6
    assert t.resync([]) == {"2.1", "3.1"} and len(t) == 0


def test_unrelated_events_are_ignored():
    t = ChannelTracker()
    t.apply(ev("FullyBooted", Status="Fully Booted"))
    t.apply(ev("SomethingNew", Uniqueid="1"))
    assert len(t) == 0


def endpoint_list(name, state, contacts="", aor=None):
    return ev("EndpointList", ObjectType="endpoint", ObjectName=name, Aor=aor or name,
              DeviceState=state, Contacts=contacts, ActiveChannels="0")


def test_endpoints_from_listing_then_events():
    t = EndpointTracker()
    t.resync([endpoint_list("1001", "Not in use", "1001/sip:1001@10.0.0.5:5060,"),
              endpoint_list("1002", "Unavailable", aor="desk-1002"),
              ev("EndpointListComplete", ListItems="2")])
    assert t.names() == ["1001", "1002"]
    assert (t.get("1001").device_state, t.get("1001").registered) == ("NOT_INUSE", True)
    assert (t.get("1002").device_state, t.get("1002").registered) == ("UNAVAILABLE", False)
    t.apply(ev("DeviceStateChange", Device="PJSIP/1001", State="RINGING"))
    t.apply(ev("DeviceStateChange", Device="Queue:support", State="INUSE"))  # not a phone
    assert t.get("1001").device_state == "RINGING"
    # 1002 registers; this ContactStatus names only its AOR.
    t.apply(ev("ContactStatus", URI="sip:1002@10.0.0.6", ContactStatus="Created", AOR="desk-1002"))
    assert t.get("1002").registered and t.get("1002").reachable
    t.apply(ev("ContactStatus", URI="sip:1002@10.0.0.6", ContactStatus="Unreachable",
               AOR="desk-1002", EndpointName="1002"))
    assert t.get("1002").registered and not t.get("1002").reachable
    t.apply(ev("ContactStatus", URI="sip:1002@10.0.0.6", ContactStatus="Removed", AOR="desk-1002",
               EndpointName="1002"))
    assert not t.get("1002").registered
    t.resync([])
    assert len(t) == 0


def test_device_state_spellings():
    assert normalize_device_state("Not in use") == "NOT_INUSE"
    assert normalize_device_state("Ring+Inuse") == "RINGINUSE"
    assert normalize_device_state("ONHOLD") == "ONHOLD"
    assert normalize_device_state(None) is None
