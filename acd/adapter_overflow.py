"""A call reached its queue's max_wait: the router has applied "queue" and
"relax" itself; here the stay in the old queue is closed (statistics, history),
a "voicemail" overflow Redirects the caller to [acd-voicemail] (the acd-voicemail
FastAGI route records the message), a "callback" one becomes a virtual hold.

A mixin of AcdService.
"""
from __future__ import annotations

import logging

from cti.ami_errors import AmiError

from .adapter_calls import VOICEMAIL, LiveCall
from .model import OverflowAction

log = logging.getLogger("acd.asterisk")


class Overflows:
    def _overflowed(self, action: OverflowAction) -> None:
        call = action.call
        live = self.book.get(call.call_id)
        if live is None:
            log.warning("acd: overflow of call %s the adapter does not know", call.call_id)
            return
        kind, at = action.overflow.action, action.at
        if kind == "queue":
            self.stats.overflowed(action.queue, call.queue, at)
            self._queue_segment(live, at, "overflow", to=call.queue)
            live.queue, live.stay_started = call.queue, at
        elif kind == "voicemail":
            self.stats.overflowed(action.queue, "voicemail", at)
            self._queue_segment(live, at, "overflow", to="voicemail",
                                mailbox=action.overflow.target)
            live.phase = VOICEMAIL
            self._spawn(self._to_voicemail(live, action.overflow.target))
        elif kind == "callback":
            self._spawn(self._overflow_to_callback(live))
        self._call_event(live, "overflow", action=kind, origin=action.queue,
                         target=action.overflow.target or None)

    async def _to_voicemail(self, live: LiveCall, mailbox: str) -> None:
        try:
            await self.ami.action("Setvar", Channel=live.channel, Variable="CC_VM_MAILBOX",
                                  Value=mailbox)
            await self.ami.action("Redirect", Channel=live.channel, Context="acd-voicemail",
                                  Exten="s", Priority="1")
        except AmiError as exc:
            log.info("acd: call %s: no voicemail hand-off (%s)", live.call_id, exc)
            self._forget(live)

