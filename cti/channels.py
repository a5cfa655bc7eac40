"""ChannelTracker: the live view of Asterisk's channels, grouped by call.

Pure state, fed typed events one at a time (O(1) each, it is on the ingest
path) and replaced wholesale by resync() after every AMI (re)login, because
events missed while the link was down can never be replayed.
"""
from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable

from cti.events import (AmiEvent, BridgeEnter, BridgeLeave, ChannelEvent,
                        CoreShowChannel, Hangup, Hold, NewCallerid, Newchannel,
                        Newstate, Rename, Unhold)
from cti.ami_errors import AmiActionError
from cti.endpoints import EndpointTracker
from cti.handlers import Subscription

if TYPE_CHECKING:
    from cti.ami import AmiSession

log = logging.getLogger(__name__)

__all__ = ["ChannelInfo", "ChannelTracker", "EndpointTracker", "attach_trackers"]


@dataclass(slots=True)
class ChannelInfo:
    uniqueid: str
    linkedid: str
    name: str | None = None
    state: int | None = None
    state_desc: str | None = None
    caller_id_num: str | None = None
    caller_id_name: str | None = None
    connected_line_num: str | None = None
    connected_line_name: str | None = None
    context: str | None = None
    exten: str | None = None
    on_hold: bool = False
    bridge_id: str | None = None


def _info_from(event: ChannelEvent) -> ChannelInfo:
    info = ChannelInfo(event.uniqueid or "", event.linkedid or event.uniqueid or "")
    _copy_snapshot(info, event)
    return info


def _copy_snapshot(info: ChannelInfo, event: ChannelEvent) -> None:
    info.name = event.channel
    info.state = event.channel_state
    info.state_desc = event.channel_state_desc
    info.caller_id_num = event.caller_id_num
    info.caller_id_name = event.caller_id_name
    info.connected_line_num = event.connected_line_num
    info.connected_line_name = event.connected_line_name
    info.context = event.context
    info.exten = event.exten


class ChannelTracker:
    """Channels by uniqueid and by linkedid (one linkedid = one call)."""

    # Event names this tracker wants; attach_trackers subscribes exactly these.
    EVENT_NAMES = ("Newchannel", "Newstate", "NewCallerid", "Hangup", "Rename",
                   "Hold", "Unhold", "BridgeEnter", "BridgeLeave")

    def __init__(self) -> None:
        self._channels: dict[str, ChannelInfo] = {}
        self._calls: dict[str, dict[str, ChannelInfo]] = {}
        self._appliers: dict[type, Callable[[Any], str | None]] = {
            Newchannel: self._upsert, Newstate: self._upsert, NewCallerid: self._upsert,
            Hangup: self._hangup, Rename: self._rename, Hold: self._hold,
            Unhold: self._unhold, BridgeEnter: self._bridge_enter,
            BridgeLeave: self._bridge_leave,
        }

    # queries ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._channels)

    def get(self, uniqueid: str) -> ChannelInfo | None:
        return self._channels.get(uniqueid)

    def channels_of_call(self, linkedid: str) -> list[ChannelInfo]:
        return list(self._calls.get(linkedid, {}).values())

    def linkedids(self) -> set[str]:
        return set(self._calls)

    # updates ----------------------------------------------------------
    def apply(self, event: AmiEvent) -> str | None:
        """Update from one event; returns a linkedid whose last channel just hung up."""
        applier = self._appliers.get(type(event))
        return applier(event) if applier is not None else None

    def _upsert(self, event: ChannelEvent) -> None:
        info = self._channels.get(event.uniqueid)  # type: ignore[arg-type]
        if info is None:
            self._add(_info_from(event))
            return
        _copy_snapshot(info, event)
        if event.linkedid and event.linkedid != info.linkedid:
            self._move(info, event.linkedid)

    def _hangup(self, event: Hangup) -> str | None:
        info = self._channels.pop(event.uniqueid, None)  # type: ignore[arg-type]
        if info is None:
            return None
        call = self._calls.get(info.linkedid)
        if call is not None:
            call.pop(info.uniqueid, None)
            if not call:
                del self._calls[info.linkedid]
                return info.linkedid
        return None

    def _known(self, event: Any) -> ChannelInfo | None:
        # Only Newchannel/Newstate/NewCallerid create channels: a late event
        # after Hangup must not bring a dead channel back.
        return self._channels.get(event.uniqueid)

    def _rename(self, event: Rename) -> None:
        info = self._known(event)
        if info is not None:
            info.name = event.new_name

    def _hold(self, event: Hold) -> None:
        info = self._known(event)
        if info is not None:
            info.on_hold = True

    def _unhold(self, event: Unhold) -> None:
        info = self._known(event)
        if info is not None:
            info.on_hold = False

    def _bridge_enter(self, event: BridgeEnter) -> None:
        info = self._known(event)
        if info is not None:
            info.bridge_id = event.bridge_uniqueid

    def _bridge_leave(self, event: BridgeLeave) -> None:
        info = self._known(event)
        if info is not None and info.bridge_id == event.bridge_uniqueid:
            info.bridge_id = None

    def _add(self, info: ChannelInfo) -> None:
        self._channels[info.uniqueid] = info
        self._calls.setdefault(info.linkedid, {})[info.uniqueid] = info

    def _move(self, info: ChannelInfo, linkedid: str) -> None:
        old = self._calls.get(info.linkedid)
        if old is not None:
            old.pop(info.uniqueid, None)
            if not old:
                del self._calls[info.linkedid]
        info.linkedid = linkedid
        self._calls.setdefault(linkedid, {})[info.uniqueid] = info

    def resync(self, listing: Iterable[AmiEvent]) -> set[str]:
        """Replace all state by a CoreShowChannels listing.

        Returns the linkedids that were tracked but have no channel any more:
        those calls ended while we were not listening and must be closed.
        """
        before = set(self._calls)
        self._channels, self._calls = {}, {}
        for event in listing:
            if isinstance(event, CoreShowChannel) and event.uniqueid:
                info = _info_from(event)
                info.bridge_id = event.bridge_id or None
                self._add(info)
        return before - set(self._calls)



CallsLostCallback = Callable[[set[str]], Awaitable[None] | None]


async def attach_trackers(session: "AmiSession", channels: ChannelTracker,
                          endpoints: EndpointTracker | None = None,
                          on_calls_lost: CallsLostCallback | None = None) -> list[Subscription]:
    """Feed the trackers from `session` and resync them after every login.

    `on_calls_lost(linkedids)` gets the calls whose channels vanished while
    the link was down.  If the session is already logged in, resync now.
    Cancel the returned subscriptions to detach.
    """
    subs = [session.on(name, channels.apply) for name in ChannelTracker.EVENT_NAMES]
    if endpoints is not None:
        subs += [session.on(name, endpoints.apply) for name in EndpointTracker.EVENT_NAMES]

    async def resync() -> None:
        lost = channels.resync(await session.action_list("CoreShowChannels"))
        if endpoints is not None:
            endpoints.resync(await list_endpoints(session))
        log.info("AMI %s: resynced %d channels; %d calls ended while away",
                 session.address, len(channels), len(lost))
        if lost and on_calls_lost is not None:
            result = on_calls_lost(lost)
            if inspect.isawaitable(result):
                await result

    subs.append(session.on_connected(resync))
    if session.connected:
        await resync()
    return subs


async def list_endpoints(session: "AmiSession") -> list[AmiEvent]:
    try:
        return await session.action_list("PJSIPShowEndpoints")
    except AmiActionError as exc:
        # Asterisk answers an empty listing with an error, not an empty list.
        if "no endpoints found" in exc.message.lower():
            return []
        raise
