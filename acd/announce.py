"""The ACD's FastAGI routes: what a waiting caller hears, and the voicemail
overflow.

``acd-announce`` runs when a caller enters [acd-wait] and again every
``announce.every`` seconds of their queue.  It sets the channel variables the
dialplan needs from the queue's configuration (music class, announcement
period, ring timeout: only when they changed) and, when the queue announces
positions, says where the caller is and how long they may wait:

    1st in line:  "You are now first in line." (queue-youarenext)
    else:         "There are <n> calls waiting." (queue-thereare, n, queue-callswaiting)
    estimate:     "The estimated hold time is currently <m> minutes."
                  (queue-holdtime, [queue-less-than] m, queue-minute(s))
                  then "Thank you for your patience." (queue-thankyou)

When the caller's queue has a ``callback_key`` (and their caller ID is a number
we can call back), the announcement ends with the offer "To be called back
instead, press <key>": a text-to-speech prompt the service made ahead of
calls (AcdService ``say``); without it nothing is offered.

The estimate is acd.estimate.estimated_wait (position x AHT / staffed agents),
said only when it is known.  A key pressed over the announcement is handed to
the dialplan's key extensions (the same AcdKey event as a key pressed over the
music).  A caller routed to an agent meanwhile is Redirected out of the AGI.

``acd-voicemail`` records a message after the queue's max wait, into the same
folder and link scheme as the IVR's voicemail (<recordings>/voicemail/<linkedid>.wav,
a "voicemail" link on the call's interaction), after the mailbox's own greeting
when the composition root gives one (``greeting_for``), else vm-intro; its
``acd.voicemail`` event carries what the IVR's ``ivr.voicemail`` does (linkedid,
file, mailbox, caller, customer_id) plus the queue, for the voicemail service.
"""
from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

from cti.agi_call import AgiCall
from cti.agi_errors import AgiHangup
from cti.recorded import WAV_BYTES_PER_SECOND, WAV_HEADER, written_size

from .adapter_calls import WAITING
from .adapter_parse import KEYS, file_id, ring_timeout
from .estimate import estimated_wait, wait_minutes

log = logging.getLogger("acd.announce")

ADMIT_WAIT = 3.0  # seconds the first announcement waits for the router to have the call
VM_MAX_SECONDS = 180
VM_SILENCE_SECONDS = 5
MAILBOX = re.compile(r"[A-Za-z0-9_-]{1,40}")
GREETING = re.compile(r"/?[A-Za-z0-9_-]+(?:/[A-Za-z0-9_.-]+)*")  # a sound name for STREAM FILE


def announcement(position: int, estimate: float | None) -> list[tuple[str, int | str]]:
    """What to say, as ("sound", name) and ("number", n) steps (pure)."""
    steps: list[tuple[str, int | str]] = []
    if position <= 1:
        steps.append(("sound", "queue-youarenext"))
    else:
        steps += [("sound", "queue-thereare"), ("number", position), ("sound", "queue-callswaiting")]
    minutes = wait_minutes(estimate)
    if minutes is not None and position > 1:
        steps.append(("sound", "queue-holdtime"))
        if estimate is not None and estimate < 60:
            steps += [("sound", "queue-less-than"), ("number", 1), ("sound", "queue-minute")]
        else:
            steps += [("number", minutes),
                      ("sound", "queue-minute" if minutes == 1 else "queue-minutes")]
    steps.append(("sound", "queue-thankyou"))
    return steps


class Announcer:
    """The acd-announce route; ``service`` is the AcdService."""

    def __init__(self, service) -> None:
        self.service = service
        self.runs = 0  # times the route ran
        self.spoken = 0  # announcements that said a position
        self.offers = 0  # callback offers played

    async def __call__(self, call: AgiCall) -> None:
        self.runs += 1
        linkedid = await call.linkedid()
        live = await self.service.wait_admitted(linkedid or "", ADMIT_WAIT)
        if live is None:
            return  # not (yet) in the router: the dialplan's defaults apply
        router = self.service.router
        queue = router.queues.get(live.queue)
        if queue is None:
            return
        wanted = (queue.moh, str(max(5, round(queue.announce_every))), str(ring_timeout(queue)))
        if live.channel_vars != wanted:
            for name, value in zip(("CC_MOH", "CC_ANNOUNCE_EVERY", "CC_RING_TIMEOUT"), wanted):
                await call.set_variable(name, value)
            live.channel_vars = wanted
        if not self._still_waiting(live):
            return
        if queue.announce_position:
            if await self._announce_position(call, live):
                return  # a key was pressed
        sound = self.service.callback_offer(live)
        if sound is None or not self._still_waiting(live):
            return
        self.offers += 1
        key = await call.stream_file(sound, KEYS)
        if key:
            await _to_key_extension(call, key)

    def _still_waiting(self, live) -> bool:
        waiting = self.service.router.call(live.call_id)
        return waiting is not None and waiting.offered_to is None and live.phase == WAITING

    async def _announce_position(self, call: AgiCall, live) -> bool:
        """Say the position and the estimate; True when the caller pressed a key."""
        router = self.service.router
        position = router.position(live.call_id) or 1
        estimate = estimated_wait(position, router.staffed(live.queue),
                                  self.service.stats.aht(live.queue))
        live.announcements += 1
        self.spoken += 1
        for kind, value in announcement(position, estimate):
            if kind == "sound":
                key = await call.stream_file(str(value), KEYS)
            else:
                result = await call.command(f'SAY NUMBER {int(value)} "{KEYS}"')
                key = chr(result.result_int) if (result.result_int or 0) > 0 else ""
            if key:
                await _to_key_extension(call, key)
                return True
        return False


async def _to_key_extension(call: AgiCall, key: str) -> None:
    """A key pressed over the announcement: continue at that key's extension."""
    if len(key) != 1 or key not in KEYS:
        return
    for line in (f"SET EXTENSION {key}", "SET PRIORITY 1"):
        await call.command(line)


class VoicemailRoute:
    """The acd-voicemail route: a message after the queue's max wait."""

    def __init__(self, service, recordings: tuple[Path, str] | None, greeting_for=None) -> None:
        """``greeting_for(mailbox)``: the mailbox's own greeting (a sound name) or None."""
        self.service = service
        self.recordings = recordings
        self.greeting_for = greeting_for
        self.messages = 0

    async def __call__(self, call: AgiCall) -> None:
        if self.recordings is None:
            log.error("acd: voicemail overflow without a recordings folder; apologising")
            await call.stream_file("sorry")
            await call.stream_file("vm-goodbye")
            return
        linkedid = await call.linkedid() or ""
        live = self.service.book.get(linkedid)  # kept: the caller's hang-up drops it
        mailbox = await call.get_variable("CC_VM_MAILBOX") or ""
        if not MAILBOX.fullmatch(mailbox):
            mailbox = "default"
        host, inside = self.recordings
        folder = host / "voicemail"
        folder.mkdir(parents=True, exist_ok=True)
        name = file_id(linkedid) or uuid.uuid4().hex
        wav = folder / f"{name}.wav"
        await call.stream_file(self._greeting(mailbox))  # a hang-up here: no message
        caller_left = False
        try:
            await call.command(f'RECORD FILE {inside}/voicemail/{name} wav "#" '
                               f'{VM_MAX_SECONDS * 1000} BEEP s={VM_SILENCE_SECONDS}',
                               hangup_on_minus_one=False)
        except AgiHangup:
            caller_left = True
        size = await written_size(wav)
        if size > WAV_HEADER:
            self._link(linkedid, live, wav, size, mailbox)
        else:
            wav.unlink(missing_ok=True)
        if caller_left:
            raise AgiHangup(f"{call.channel} hung up after the voicemail")
        await call.stream_file("vm-goodbye")

    def _greeting(self, mailbox: str) -> str:
        """The queue's greeting (its mailbox's), else the stock one."""
        try:
            sound = self.greeting_for(mailbox) if self.greeting_for else None
        except Exception:
            log.exception("acd: no greeting for mailbox %s; vm-intro plays", mailbox)
            sound = None
        if isinstance(sound, str) and GREETING.fullmatch(sound) and ".." not in sound.split("/"):
            return sound
        return "vm-intro"

    def _link(self, linkedid: str, live, wav: Path, size: int, mailbox: str) -> None:
        self.messages += 1
        meta = {"mailbox": mailbox, "source": "acd", "format": "wav", "bytes": size,
                "seconds": round((size - WAV_HEADER) / WAV_BYTES_PER_SECOND, 1),
                "queue": live.queue if live else None, "caller": live.caller if live else None,
                "customer_id": live.customer_id if live else None}
        history = self.service.history
        if history is not None and linkedid:
            history.record_link(linkedid, "voicemail", str(wav), meta)
        self.service._publish("acd.voicemail", {"linkedid": linkedid, "file": str(wav), **meta})


