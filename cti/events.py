"""The AMI events the platform uses, as frozen dataclasses.

Header lists follow Asterisk 22's manager documentation.  Import this module
(not event_base) so every class is registered before parse_event() runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cti.event_base import (AmiEvent, AmiEventError, _to_bool, build_event,
                            event_class, header, int_header, known_events,
                            parse_event)

__all__ = [
    "AmiEvent", "AmiEventError", "parse_event", "build_event", "known_events",
    "ChannelEvent", "Newchannel", "Newstate", "Hangup", "NewCallerid", "Rename",
    "VarSet", "DialBegin", "DialEnd", "DTMFBegin", "DTMFEnd", "BridgeEnter",
    "BridgeLeave", "Hold", "Unhold", "FullyBooted", "Shutdown", "PeerStatus",
    "ContactStatus", "DeviceStateChange", "CoreShowChannel",
    "CoreShowChannelsComplete", "EndpointList", "EndpointListComplete",
    "OriginateResponse", "UserEvent", "DialState",
]


@dataclass(frozen=True, slots=True)
class ChannelEvent(AmiEvent):
    """Events carrying Asterisk's channel snapshot headers."""
    channel: str | None = header("Channel")
    channel_state: int | None = int_header("ChannelState")
    channel_state_desc: str | None = header("ChannelStateDesc")
    caller_id_num: str | None = header("CallerIDNum")
    caller_id_name: str | None = header("CallerIDName")
    connected_line_num: str | None = header("ConnectedLineNum")
    connected_line_name: str | None = header("ConnectedLineName")
    language: str | None = header("Language")
    account_code: str | None = header("AccountCode")
    context: str | None = header("Context")
    exten: str | None = header("Exten")
    priority: int | None = int_header("Priority")
    uniqueid: str | None = header("Uniqueid")
    linkedid: str | None = header("Linkedid")

    REQUIRED: ClassVar[tuple[str, ...]] = ("uniqueid",)


@event_class("Newchannel")
@dataclass(frozen=True, slots=True)
class Newchannel(ChannelEvent):
    pass


@event_class("Newstate")
@dataclass(frozen=True, slots=True)
class Newstate(ChannelEvent):
    pass


@event_class("Hangup")
@dataclass(frozen=True, slots=True)
class Hangup(ChannelEvent):
    cause: int | None = int_header("Cause")
    cause_txt: str | None = header("Cause-txt")


@event_class("NewCallerid")
@dataclass(frozen=True, slots=True)
class NewCallerid(ChannelEvent):
    cid_calling_pres: str | None = header("CID-CallingPres")


@event_class("Rename")
@dataclass(frozen=True, slots=True)
class Rename(AmiEvent):
    """Raised by channel.c when a channel is renamed (no snapshot headers)."""
    channel: str | None = header("Channel")
    new_name: str | None = header("Newname")
    uniqueid: str | None = header("Uniqueid")

    REQUIRED: ClassVar[tuple[str, ...]] = ("uniqueid", "new_name")


@event_class("VarSet")
@dataclass(frozen=True, slots=True)
class VarSet(ChannelEvent):
    variable: str | None = header("Variable")
    value: str | None = header("Value")

    # Global variables are set without a channel.
    REQUIRED: ClassVar[tuple[str, ...]] = ("variable",)


@dataclass(frozen=True, slots=True)
class DialEvent(ChannelEvent):
    """Caller snapshot (absent for originated calls) plus the Dest* one."""
    dest_channel: str | None = header("DestChannel")
    dest_channel_state: int | None = int_header("DestChannelState")
    dest_channel_state_desc: str | None = header("DestChannelStateDesc")
    dest_caller_id_num: str | None = header("DestCallerIDNum")
    dest_caller_id_name: str | None = header("DestCallerIDName")
    dest_connected_line_num: str | None = header("DestConnectedLineNum")
    dest_connected_line_name: str | None = header("DestConnectedLineName")
    dest_context: str | None = header("DestContext")
    dest_exten: str | None = header("DestExten")
    dest_priority: int | None = int_header("DestPriority")
    dest_uniqueid: str | None = header("DestUniqueid")
    dest_linkedid: str | None = header("DestLinkedid")

    REQUIRED: ClassVar[tuple[str, ...]] = ("dest_uniqueid",)


@event_class("DialBegin")
@dataclass(frozen=True, slots=True)
class DialBegin(DialEvent):
    dial_string: str | None = header("DialString")


@event_class("DialEnd")
@dataclass(frozen=True, slots=True)
class DialEnd(DialEvent):
    dial_status: str | None = header("DialStatus")
    forward: str | None = header("Forward")


@event_class("DTMFBegin")
@dataclass(frozen=True, slots=True)
class DTMFBegin(ChannelEvent):
    digit: str | None = header("Digit")
    direction: str | None = header("Direction")


@event_class("DTMFEnd")
@dataclass(frozen=True, slots=True)
class DTMFEnd(ChannelEvent):
    digit: str | None = header("Digit")
    duration_ms: int | None = int_header("DurationMs")
    direction: str | None = header("Direction")


@dataclass(frozen=True, slots=True)
class BridgeEvent(ChannelEvent):
    bridge_uniqueid: str | None = header("BridgeUniqueid")
    bridge_type: str | None = header("BridgeType")
    bridge_technology: str | None = header("BridgeTechnology")
    bridge_creator: str | None = header("BridgeCreator")
    bridge_name: str | None = header("BridgeName")
    bridge_num_channels: int | None = int_header("BridgeNumChannels")

    REQUIRED: ClassVar[tuple[str, ...]] = ("uniqueid", "bridge_uniqueid")


@event_class("BridgeEnter")
@dataclass(frozen=True, slots=True)
class BridgeEnter(BridgeEvent):
    swap_uniqueid: str | None = header("SwapUniqueid")


@event_class("BridgeLeave")
@dataclass(frozen=True, slots=True)
class BridgeLeave(BridgeEvent):
    pass


@event_class("Hold")
@dataclass(frozen=True, slots=True)
class Hold(ChannelEvent):
    music_class: str | None = header("MusicClass")


@event_class("Unhold")
@dataclass(frozen=True, slots=True)
class Unhold(ChannelEvent):
    pass


@event_class("FullyBooted")
@dataclass(frozen=True, slots=True)
class FullyBooted(AmiEvent):
    status: str | None = header("Status")
    uptime: int | None = int_header("Uptime")
    last_reload: int | None = int_header("LastReload")


@event_class("Shutdown")
@dataclass(frozen=True, slots=True)
class Shutdown(AmiEvent):
    shutdown: str | None = header("Shutdown")  # Cleanly / Uncleanly
    restart: bool | None = header("Restart", _to_bool)


@event_class("PeerStatus")
@dataclass(frozen=True, slots=True)
class PeerStatus(AmiEvent):
    channel_type: str | None = header("ChannelType")
    peer: str | None = header("Peer")  # e.g. PJSIP/1001
    peer_status: str | None = header("PeerStatus")
    cause: str | None = header("Cause")
    address: str | None = header("Address")
    port: int | None = int_header("Port")

    REQUIRED: ClassVar[tuple[str, ...]] = ("peer",)


@event_class("ContactStatus")
@dataclass(frozen=True, slots=True)
class ContactStatus(AmiEvent):
    uri: str | None = header("URI")
    contact_status: str | None = header("ContactStatus")
    aor: str | None = header("AOR")
    endpoint_name: str | None = header("EndpointName")
    roundtrip_usec: int | None = int_header("RoundtripUsec")
    user_agent: str | None = header("UserAgent")
    reg_expire: int | None = int_header("RegExpire")
    via_address: str | None = header("ViaAddress")
    call_id: str | None = header("CallID")

    REQUIRED: ClassVar[tuple[str, ...]] = ("uri", "contact_status", "aor")


@event_class("DeviceStateChange")
@dataclass(frozen=True, slots=True)
class DeviceStateChange(AmiEvent):
    device: str | None = header("Device")  # e.g. PJSIP/1001
    state: str | None = header("State")  # e.g. NOT_INUSE

    REQUIRED: ClassVar[tuple[str, ...]] = ("device", "state")


@event_class("CoreShowChannel")
@dataclass(frozen=True, slots=True)
class CoreShowChannel(ChannelEvent):
    application: str | None = header("Application")
    application_data: str | None = header("ApplicationData")
    duration: str | None = header("Duration")  # HH:MM:SS
    bridge_id: str | None = header("BridgeId")
    action_id: str | None = header("ActionID")


@dataclass(frozen=True, slots=True)
class ListComplete(AmiEvent):
    event_list: str | None = header("EventList")
    list_items: int | None = int_header("ListItems")
    action_id: str | None = header("ActionID")


@event_class("CoreShowChannelsComplete")
@dataclass(frozen=True, slots=True)
class CoreShowChannelsComplete(ListComplete):
    pass


@event_class("EndpointList")
@dataclass(frozen=True, slots=True)
class EndpointList(AmiEvent):
    object_type: str | None = header("ObjectType")
    object_name: str | None = header("ObjectName")
    transport: str | None = header("Transport")
    aor: str | None = header("Aor")  # comma separated
    auths: str | None = header("Auths")
    outbound_auths: str | None = header("OutboundAuths")
    contacts: str | None = header("Contacts")  # "aor/uri,aor/uri,"
    device_state: str | None = header("DeviceState")  # "Not in use", ...
    active_channels: int | None = int_header("ActiveChannels")
    action_id: str | None = header("ActionID")

    REQUIRED: ClassVar[tuple[str, ...]] = ("object_name",)


@event_class("EndpointListComplete")
@dataclass(frozen=True, slots=True)
class EndpointListComplete(ListComplete):
    pass


@event_class("OriginateResponse")
@dataclass(frozen=True, slots=True)
class OriginateResponse(AmiEvent):
    action_id: str | None = header("ActionID")
    response: str | None = header("Response")  # Success / Failure
    channel: str | None = header("Channel")
    context: str | None = header("Context")
    exten: str | None = header("Exten")
    application: str | None = header("Application")
    data: str | None = header("Data")
    reason: int | None = int_header("Reason")
    uniqueid: str | None = header("Uniqueid")
    caller_id_num: str | None = header("CallerIDNum")
    caller_id_name: str | None = header("CallerIDName")


@event_class("UserEvent")
@dataclass(frozen=True, slots=True)
class UserEvent(ChannelEvent):
    """Raised by the dialplan's UserEvent() (with the channel's snapshot) or by an
    AMI UserEvent action (no channel headers).  The body's own headers are in
    `.headers` / `.get()`; a body header named like a snapshot header (e.g.
    "Priority") arrives twice and panoramisk keeps both as a list, so
    dialplans should not use those names."""
    user_event: str | None = header("UserEvent")

    REQUIRED: ClassVar[tuple[str, ...]] = ("user_event",)


@event_class("DialState")
@dataclass(frozen=True, slots=True)
class DialState(DialEvent):
    """A dialled channel's progress (RINGING, PROCEEDING, PROGRESS ...)."""
    dial_status: str | None = header("DialStatus")
