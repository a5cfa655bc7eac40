"""After every AMI (re)login: believe Asterisk's channel list, not our memory.

Events missed while the link was down can never be replayed, so the ACD
compares the router with CoreShowChannels: a caller sitting in the ACD's
contexts that the router does not know is enqueued (its CC_* variables read
with Getvar, its wait counted from the channel's age); a call whose caller
channel vanished is an abandon; a talk whose agent leg vanished has ended.

The dialplan switch ACD_ONLINE (a global variable: [ivr-queue] sends callers to
the ACD only while it is 1) is set again, since a restarted Asterisk, and a
`dialplan reload` (clearglobalvars), forget it.  Callers who reached
[ivr-queue] meanwhile wait there with plain music; they are taken over too.
``watch_online`` checks the switch every few seconds and resyncs when it is gone.

A mixin of AcdService.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Iterable

from cti.ami_errors import AmiActionError, AmiError
from cti.events import parse_event

from .adapter_calls import (CONSULTING, DETACHED, DIALLED_OUT, DIALLING, ON_HOLD, RINGING,
                            TALKING, WAITING)
from .adapter_parse import CALLER_CONTEXTS, BadEvent, duration_seconds, parse_enqueue

# Callers parked in [ivr-queue] with plain music while ACD_ONLINE was not set.
PARKED = ("ivr-queue", "MusicOnHold")

log = logging.getLogger("acd.resync")

CC_VARIABLES = ("CC_QUEUE", "CC_SKILLS", "CC_PRIORITY", "CC_CUSTOMER")


class Resync:
    async def resync(self, channels: Iterable | None = None) -> None:
        """``channels``: a CoreShowChannels listing (fetched when None)."""
        await self.ami.action("Setvar", Variable="ACD_ONLINE", Value="1")
        if channels is None:
            channels = await self.ami.action_list("CoreShowChannels")
        channels = [c for c in channels if getattr(c, "uniqueid", None)]
        alive = {c.uniqueid for c in channels}
        self._bridge_of = {c.uniqueid: c.bridge_id for c in channels if c.bridge_id}
        for watch in [w for w in self._monitors.values() if w.channel_id not in alive]:
            self._monitor_ended(watch)  # a supervisor's phone hung up while we were away
        now = self.clock()
        for uniqueid in [u for u in self._arriving if u not in alive]:
            self._arriving.pop(uniqueid, None)  # _admit counts them as abandoned
        lost = 0
        for live in self.book:
            if live.phase in (WAITING, RINGING, DETACHED) and live.callback is None \
                    and live.uniqueid not in alive:
                self._caller_gone(live, now)
                lost += 1
            elif live.phase in (TALKING, ON_HOLD, CONSULTING, DIALLING) \
                    and live.agent_uniqueid not in alive:
                self._talk_ended(live, now)
                lost += 1
            elif live.phase == DIALLED_OUT and live.uniqueid not in alive:
                self._number_transfer_ended(live, "unknown", now)
                lost += 1
        found = 0
        for channel in channels:
            parked = (channel.context, channel.application) == PARKED
            if (channel.context not in CALLER_CONTEXTS and not parked) or channel.bridge_id:
                continue  # not a waiting caller (a talking one stays with its agent)
            known = self.book.by_caller(channel.uniqueid)
            if known is not None and known.phase != DETACHED:
                continue
            if channel.uniqueid in self._arriving:
                continue
            if known is not None:  # its offer was lost with the link: route it again
                self._forget(known)
            await self._adopt(channel, now, known.arrived_at if known else None)
            found += 1
        if lost or found:
            log.warning("acd: resync: %d call(s) gone while we were not looking, %d waiting "
                        "caller(s) taken over", lost, found)

    async def _adopt(self, channel, now: float, arrived_at: float | None) -> None:
        values = {}
        for name in CC_VARIABLES:
            try:
                response = await self.ami.action("Getvar", Channel=channel.channel, Variable=name)
            except AmiActionError:
                return  # the channel went away meanwhile
            except AmiError as exc:
                log.warning("acd: resync: cannot read %s of %s (%s)", name, channel.channel, exc)
                return
            values[name] = response.get("Value") or ""
        event = parse_event({
            "Event": "UserEvent", "UserEvent": "AcdEnqueue", "Channel": channel.channel,
            "Uniqueid": channel.uniqueid, "Linkedid": channel.linkedid or channel.uniqueid,
            "CallerIDNum": channel.caller_id_num or "", "Queue": values["CC_QUEUE"],
            "Skills": values["CC_SKILLS"].replace(",", "+"),
            "CallPriority": values["CC_PRIORITY"], "Customer": values["CC_CUSTOMER"]})
        try:
            req = parse_enqueue(event, self.router.queues, self.default_queue)
        except BadEvent as exc:
            log.error("acd: resync: %s", exc)
            return
        at = arrived_at or now - duration_seconds(channel.duration)
        if req.problems:
            self.problems += 1
            log.error("acd: call %s on %s: %s", req.call_id, req.channel, "; ".join(req.problems))
        if req.call_id in self.book or req.uniqueid in self._arriving:
            return  # its AcdEnqueue arrived while we read its variables
        self._arriving[req.uniqueid] = req
        self._spawn(self._admit(req, arrived_at=at))

    async def watch_online(self) -> None:
        """Every ``online_check`` seconds: is ACD_ONLINE still set? If not (a dialplan
        reload cleared it), set it again and take over the callers parked meanwhile."""
        while True:
            await asyncio.sleep(self.online_check)
            try:
                response = await self.ami.action("Getvar", Variable="ACD_ONLINE")
                if (response.get("Value") or "") != "1":
                    log.warning("acd: the dialplan lost ACD_ONLINE (a dialplan reload?); "
                                "setting it again")
                    await self.resync()
            except AmiError as exc:
                log.debug("acd: ACD_ONLINE check skipped (%s)", exc)
