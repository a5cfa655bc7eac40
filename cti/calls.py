"""Calls as Asterisk reports them: AMI channel events folded into one record per
call, keyed on the linkedid that ties all of a call's channels together.

Pure logic: it is fed events and says what changed; writing the history is
the caller's business. Times are Asterisk's own (manager.conf timestampevents).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

UP = 6  # AST_STATE_UP: the channel was answered


@dataclass
class Call:
    linkedid: str
    direction: str
    started_at: float
    caller_number: str = ""
    caller_name: str = ""
    dialled_number: str = ""
    keys: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    hangup_cause: int | None = None
    hangup_cause_text: str = ""
    status: str = "in_progress"  # completed, or lost when we lost sight of it
    channels: set[str] = field(default_factory=set)

    def snapshot(self) -> "Call":
        return replace(self, channels=set(self.channels))


CallListener = Callable[[Call, str], None]  # (snapshot, what happened)


class CallTracker:
    """Follows inbound calls from their first channel to their last hang-up."""

    def __init__(self, on_change: CallListener, inbound_contexts: Iterable[str] = ("from-carrier",),
                 clock: Callable[[], float] = time.time):
        self.on_change = on_change
        self.inbound_contexts = frozenset(inbound_contexts)
        self.clock = clock
        self.calls: dict[str, Call] = {}
        self._call_of_channel: dict[str, Call] = {}
        self._handlers = {"Newchannel": self._new_channel, "Newstate": self._new_state,
                          "DTMFEnd": self._dtmf, "Hangup": self._hangup}

    def apply(self, event) -> None:
        handler = self._handlers.get(event.name)
        if handler is not None:
            handler(event)

    # -- event handlers ------------------------------------------------------
    def _new_channel(self, ev) -> None:
        call = self.calls.get(ev.linkedid)
        if call is None:
            # A call is born with its first channel (uniqueid == linkedid).
            if ev.uniqueid != ev.linkedid or ev.context not in self.inbound_contexts:
                return
            call = Call(linkedid=ev.linkedid, direction="inbound", started_at=self._at(ev),
                        caller_number=ev.caller_id_num or "", caller_name=_name(ev.caller_id_name),
                        dialled_number=ev.exten or "")
            self.calls[call.linkedid] = call
            self._track(call, ev.uniqueid)
            self._emit(call, "started")
        else:
            self._track(call, ev.uniqueid)

    def _new_state(self, ev) -> None:
        call = self._call_of_channel.get(ev.uniqueid)
        if call and ev.uniqueid == call.linkedid and ev.channel_state == UP and call.answered_at is None:
            call.answered_at = self._at(ev)
            self._emit(call, "answered")

    def _dtmf(self, ev) -> None:
        call = self._call_of_channel.get(ev.uniqueid)
        if call and ev.uniqueid == call.linkedid and ev.direction == "Received" and ev.digit:
            call.keys += ev.digit
            self._emit(call, "key")

    def _hangup(self, ev) -> None:
        call = self._call_of_channel.pop(ev.uniqueid, None)
        if call is None:
            return
        call.channels.discard(ev.uniqueid)
        if ev.uniqueid == call.linkedid:
            call.hangup_cause = ev.cause
            call.hangup_cause_text = ev.cause_txt or ""
        if not call.channels:
            call.ended_at = self._at(ev)
            call.status = "completed"
            del self.calls[call.linkedid]
            self._emit(call, "ended")

    # -- resynchronisation ---------------------------------------------------
    def resync(self, live_channels: Iterable) -> set[str]:
        """Replace what we believe with what Asterisk reports (CoreShowChannel
        events). Calls no longer there are closed as lost and returned."""
        live: dict[str, list] = {}
        for ch in live_channels:
            live.setdefault(ch.linkedid, []).append(ch)
        lost = set(self.calls) - set(live)
        now = self.clock()
        for linkedid in lost:
            call = self.calls.pop(linkedid)
            for uid in call.channels:
                self._call_of_channel.pop(uid, None)
            call.channels.clear()
            call.ended_at, call.status = now, "lost"
            call.hangup_cause_text = "ended while the platform had no AMI link"
            self._emit(call, "lost")
        for linkedid, channels in live.items():
            self._adopt(linkedid, channels, now)
        return lost

    def _adopt(self, linkedid: str, channels: list, now: float) -> None:
        call = self.calls.get(linkedid)
        if call is None:
            first = next((c for c in channels if c.uniqueid == linkedid), None)
            if first is None or first.context not in self.inbound_contexts:
                return
            # Born while we were away: its start is now minus its age.
            call = Call(linkedid=linkedid, direction="inbound",
                        started_at=now - _age_seconds(first),
                        caller_number=first.caller_id_num or "",
                        caller_name=_name(first.caller_id_name), dialled_number=first.exten or "")
            self.calls[linkedid] = call
            self._emit(call, "started")
        for uid in list(call.channels):
            if uid not in {c.uniqueid for c in channels}:
                call.channels.discard(uid)
                self._call_of_channel.pop(uid, None)
        for ch in channels:
            self._track(call, ch.uniqueid)

    # -- helpers -------------------------------------------------------------
    def _track(self, call: Call, uniqueid: str) -> None:
        call.channels.add(uniqueid)
        self._call_of_channel[uniqueid] = call

    def _at(self, ev) -> float:
        return ev.timestamp if ev.timestamp is not None else self.clock()

    def _emit(self, call: Call, what: str) -> None:
        self.on_change(call.snapshot(), what)


def _age_seconds(channel) -> float:
    """A CoreShowChannel's Duration header (HH:MM:SS) in seconds; 0 if unreadable."""
    try:
        h, m, s = (int(part) for part in str(channel.get("Duration", "")).split(":"))
    except ValueError:
        return 0.0
    return float(h * 3600 + m * 60 + s)


def _name(caller_id_name: str | None) -> str:
    """Asterisk reports a missing caller name as "<unknown>"; keep it empty."""
    return "" if caller_id_name in (None, "<unknown>") else caller_id_name
