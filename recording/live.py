"""The recorder's view of the calls it follows: what the ACD said about each
talk (``Talk``: its agent, queue, legs and the policy's decision) and the
recording under way on it (``LiveRecording``: the channel MixMonitor runs on,
its files, what Asterisk reported).  Pure state, no I/O."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .names import IncomingFiles
from .policy import Decision, Rule
from .spans import paused_spans

__all__ = ["Talk", "LiveRecording", "CHANNEL_ID", "USERNAME", "STARTING", "RECORDING",
           "FINISHING"]

CHANNEL_ID = re.compile(r"[A-Za-z0-9._-]{1,150}")  # an Asterisk uniqueid we may name in AMI
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")  # as the ACD's agent ids

STARTING, RECORDING, FINISHING = "starting", "recording", "finishing"


@dataclass
class LiveRecording:
    linkedid: str
    fid: str  # <linkedid>-<n>: names its files
    channel: str  # the uniqueid MixMonitor runs on
    swap: bool  # the agent's leg is recorded: its receive side is the agent
    files: IncomingFiles
    rule: Rule
    queue: str
    direction: str
    trigger: str  # "policy" or the agent who started it
    requested_at: float
    phase: str = STARTING
    started_at: float | None = None  # MixMonitorStart (Asterisk's clock)
    ended_at: float | None = None  # MixMonitorStop, or the channel's Hangup
    mutes: list = field(default_factory=list)  # (timestamp, muted) as Asterisk reported
    paused: bool = False
    pending: str | None = None  # a command Asterisk has not answered yet
    agents: list = field(default_factory=list)  # who talked on it, in order

    @property
    def stereo(self) -> bool:
        return self.files.stereo

    @property
    def live(self) -> bool:
        """Asterisk said it records, and it has not stopped."""
        return self.phase == RECORDING

    def offset(self, at: float) -> float:
        """Seconds into the recording at Asterisk time ``at``."""
        return round(max(0.0, at - (self.started_at or self.requested_at)), 3)

    def spans(self) -> list[list[float]]:
        start = self.started_at or self.requested_at
        return paused_spans(start, self.mutes, self.ended_at or start)

    def expected_seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.started_at)


@dataclass
class Talk:
    """One call as the ACD reported it: answered, handed on, ended."""
    linkedid: str
    queue: str
    direction: str  # inbound or outbound
    agent: str | None = None  # who talks on it now
    channel: str | None = None  # the customer's leg (None: not known, a callback)
    agent_channel: str | None = None
    decision: Decision | None = None
    seq: int = 0  # recordings made of this call so far
    recording: LiveRecording | None = None

    @property
    def mode(self) -> str:
        return self.decision.rule.mode if self.decision else "none"

    def view(self) -> dict:
        rec = self.recording
        return {"linkedid": self.linkedid, "recording": bool(rec and rec.live),
                "paused": bool(rec and rec.live and rec.paused), "mode": self.mode}
