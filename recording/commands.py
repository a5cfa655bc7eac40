"""The console's recording commands (the agent's buttons), run on the engine's
loop (agent_console.desk.Desk.record calls them from the web's threads).

- ``start`` / ``stop``: only where the call's policy is on_demand (a queue that
  records every call, or a percent draw, is not the agent's to switch off; they
  pause for sensitive data instead).  A stopped on-demand recording is published
  as it is; starting again makes a second recording of the call.
- ``pause`` / ``resume``: in any mode, while recording: MixMonitorMute (both
  directions), so the paused span holds silence.  Each is audited on the call's
  interaction (the agent, the offset into the recording, the span on resume).
- ``state``: what the console shows (sync).

Every command names the agent; their call is the one the ACD said they talk on.
A refusal raises RecordingError with a text for the agent and changes nothing.
Each command waits (briefly) for Asterisk to report what happened: the answer
is the state Asterisk confirmed.

A mixin of RecordingService.
"""
from __future__ import annotations

import asyncio
import logging

from crm_core.recordings import audit_pause
from cti.ami_errors import AmiActionError, AmiError

from .errors import RecordingError
from .live import USERNAME, LiveRecording, Talk
from .spans import span_of

log = logging.getLogger("recording")


class Commands:
    async def start(self, username: str) -> dict:
        """Record the agent's call from now on (on-demand policy)."""
        talk = self._talk_of(username)
        if talk.recording is not None:
            raise RecordingError("the call is being recorded already")
        if talk.mode != "on_demand":
            raise RecordingError(_not_yours(talk, "started"))
        started = await self._begin(talk, talk.decision.rule, username)
        if started is None:
            raise RecordingError("the recording could not be started (see the alerts); "
                                 "the call goes on")
        return self.state(username) or talk.view()

    async def stop(self, username: str) -> dict:
        """End an on-demand recording of the agent's call; it is published as it is."""
        talk, rec = self._recording_of(username, "stop")
        if talk.mode != "on_demand":
            raise RecordingError(_not_yours(talk, "stopped"))
        stopped = self._expect(rec.channel, "stop")
        await self._send(rec, "stop", "StopMixMonitor", Channel=rec.channel)
        if not await self._reported(stopped, rec.channel, "stop") \
                and self.by_channel.get(rec.channel) is rec:
            # Asterisk took the stop but said nothing (older than 16.17 / 18.3)
            log.warning("recording: call %s: no MixMonitorStop within %.1f s; stopped as of "
                        "now", rec.linkedid, self.command_wait)
            self._ended(rec, self.clock())
        return self.state(username) or talk.view()

    async def pause(self, username: str) -> dict:
        """Silence from now on in the recording (a card number is being read)."""
        return await self._mute(username, True)

    async def resume(self, username: str) -> dict:
        """The conversation is recorded again."""
        return await self._mute(username, False)

    def state(self, username: str) -> dict | None:
        """{linkedid, recording, paused, mode} of the agent's call; None without one."""
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            return None
        talk = self.talks.get(self.by_agent.get(username, ""))
        return talk.view() if talk is not None and talk.agent == username else None

    # -- helpers ---------------------------------------------------------------------
    def _talk_of(self, username) -> Talk:
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            raise RecordingError("bad user name")
        talk = self.talks.get(self.by_agent.get(username, ""))
        if talk is None or talk.agent != username:
            raise RecordingError(f"{username} has no call")
        return talk

    def _recording_of(self, username, what: str) -> tuple[Talk, LiveRecording]:
        talk = self._talk_of(username)
        rec = talk.recording
        if rec is None or not rec.live:
            raise RecordingError(f"nothing to {what}: the call is not being recorded")
        if rec.pending is not None:
            raise RecordingError(f"wait: the {rec.pending} asked a moment ago is still under way")
        return talk, rec

    async def _mute(self, username: str, muted: bool) -> dict:
        what = "pause" if muted else "resume"
        talk, rec = self._recording_of(username, what)
        if rec.paused == muted:
            raise RecordingError("the recording is paused already" if muted
                                 else "the recording is not paused")
        reported = self._expect(rec.channel, "mute")
        await self._send(rec, what, "MixMonitorMute", Channel=rec.channel, Direction="both",
                         State="1" if muted else "0")
        if not await self._reported(reported, rec.channel, "mute") and rec.paused != muted:
            # Asterisk took it but said nothing (older than 16.17/18.3): our clock then
            log.warning("recording: call %s: no MixMonitorMute event; using the time it was "
                        "accepted", rec.linkedid)
            self._muted(rec, muted, self.clock())
        return self.state(username) or talk.view()

    async def _send(self, rec: LiveRecording, what: str, action: str, **headers) -> None:
        rec.pending = what
        try:
            await self.ami.action(action, **headers)
        except AmiActionError as exc:
            raise RecordingError(f"Asterisk refused the {what}: {exc.message or exc} (has the "
                                 "call ended?)") from None
        except (AmiError, ValueError) as exc:
            raise RecordingError(f"the {what} could not be sent to Asterisk ({exc})") from None
        finally:
            rec.pending = None

    def _muted(self, rec: LiveRecording, muted: bool, at: float) -> None:
        """Asterisk reports the recording muted or not from ``at`` on: remember it,
        tell the agent, audit it."""
        if rec.paused == muted:
            return
        was_at = rec.mutes[-1][0] if rec.mutes and not muted else None
        rec.mutes.append((at, muted))
        rec.paused = muted
        self._wake(rec.channel, "mute")
        talk = self.talks.get(rec.linkedid)
        if talk is not None:
            self._publish_state(talk)
        agent = talk.agent if talk is not None and talk.agent else \
            (rec.agents[-1] if rec.agents else "")
        changes = {"recording_paused": [not muted, muted], "recording": rec.fid,
                   "at": rec.offset(at)}
        if was_at is not None:
            changes["span"] = span_of(rec.started_at or rec.requested_at, was_at, at)
        log.info("recording: call %s %s by %s at %.1f s", rec.linkedid,
                 "paused" if muted else "resumed", agent or "?", rec.offset(at))
        self._spawn(self._audit(rec.linkedid, agent, changes))

    async def _audit(self, linkedid: str, agent: str, changes: dict) -> None:
        """The audit entry, retried while the call's row is not written yet."""
        delay, last = 0.2, None
        for _ in range(self.db_attempts):
            try:
                await self._in_db(audit_pause, linkedid, agent, changes)
                return
            except Exception as exc:  # not written yet, or a database hiccup
                last = exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        what = "pause" if changes["recording_paused"][1] else "resume"
        self._alert("error", f"call {linkedid}: the {what} of its recording could not be "
                    f"audited ({last.__class__.__name__})", linkedid)


def _not_yours(talk: Talk, what: str) -> str:
    where = "click-to-dial calls" if talk.direction == "outbound" else f"queue {talk.queue}"
    if talk.mode == "none":
        return f"recording is off for {where}"
    return f"{where} records by policy ({talk.mode}); the recording cannot be {what} here " \
           "(pause it for sensitive data instead)"
