"""Supervisors listen to, whisper to or barge in on an agent (issue 6).

monitor() rings the supervisor's phone (any registered seat no agent is
logged in at) with an Async Originate whose ChannelId we choose; on answer
[acd-spy] runs ChanSpy on the agent's seat channels ("PJSIP/<seat>-") with q
(quiet), E (leave when the agent's channel hangs up) and d (DTMF 4/5/6 switch
listen/whisper/barge), starting in the chosen mode.  Asterisk reports the rest:
ChanSpyStart is "started" (with the agent's call's linkedid), the spy
channel's Hangup is "ended"; a DTMF 4/5/6 received on the spy channel (sent by
monitor_mode with PlayDTMF Receive, or pressed on the supervisor's phone) is a
change of mode.  Every change is an ``acd.monitor`` bus event:
{supervisor, seat, agent, mode, state: ringing|started|ended, linkedid}.

A mixin of AcdService.
"""
from __future__ import annotations

import itertools
import logging
import uuid
from dataclasses import dataclass

from cti.ami_errors import AmiActionError, AmiError

from .adapter_agents import USERNAME, _check
from .adapter_parse import SEAT, check_seat
from .control_input import MODES, spy_mode
from .model import AcdError, AgentState

log = logging.getLogger("acd.monitor")

SPY_RING = 30  # seconds the supervisor's phone rings
KEY_MODES = {mode.key: mode.name for mode in MODES.values()}


@dataclass
class Monitor:
    supervisor: str
    seat: str  # the supervisor's phone
    agent: str
    agent_seat: str
    mode: str
    channel_id: str  # the uniqueid of the supervisor's leg
    state: str = "ringing"
    linkedid: str | None = None  # the agent's call being listened to


class Monitoring:
    def _init_monitors(self) -> None:
        self._monitors: dict[str, Monitor] = {}  # supervisor -> their monitor
        self._spies: dict[str, Monitor] = {}  # spy channel uniqueid -> monitor
        self._spy_actions: dict[str, Monitor] = {}  # Originate ActionID -> monitor
        self._spy_ids = itertools.count(1)

    async def monitor(self, supervisor: str, seat: str, agent: str, mode: str) -> None:
        """Ring ``seat`` and, on answer, listen/whisper/barge on ``agent``'s calls."""
        _check(USERNAME, supervisor, "supervisor")
        _check(SEAT, seat, "seat")
        chosen = spy_mode(mode)
        target = self._agent(agent)
        self._check_monitor(supervisor, seat, target)
        await self._supervisor_id(supervisor)
        self._check_monitor(supervisor, seat, target)  # again: the CRM took a moment
        watch = Monitor(supervisor, seat, agent, check_seat(target.seat), chosen.name,
                        channel_id=f"spy-{uuid.uuid4().hex[:24]}")
        action_id = f"acd-spy-{next(self._spy_ids)}"
        self._monitors[supervisor] = self._spies[watch.channel_id] = watch
        self._spy_actions[action_id] = watch
        try:
            await self.ami.action(
                "Originate", Channel=f"PJSIP/{seat}", Context="acd-spy", Exten="s",
                Priority="1", CallerID=f'"Monitor {agent}" <{seat}>', Timeout=SPY_RING * 1000,
                Async="true", ActionID=action_id, ChannelId=watch.channel_id,
                Variable=[f"CC_SPY_SEAT={watch.agent_seat}", f"CC_SPY_MODE={chosen.flag}"])
        except AmiError as exc:
            self._spy_actions.pop(action_id, None)
            self._forget_monitor(watch)
            raise AcdError(f"the phone at seat {seat} could not be rung ({exc})") from None
        self._monitor_event(watch)

    async def monitor_mode(self, supervisor: str, mode: str) -> None:
        """Switch a running monitor between listen, whisper and barge."""
        watch = self._monitor_of(supervisor)
        chosen = spy_mode(mode)
        if watch.state != "started":
            raise AcdError("not listening yet: the mode can change once the call is heard")
        try:
            await self.ami.action("PlayDTMF", Channel=watch.channel_id, Digit=chosen.key,
                                  Duration=120, Receive="true")
        except AmiError as exc:
            raise AcdError(f"the mode could not be changed ({exc})") from None

    async def stop_monitor(self, supervisor: str) -> None:
        watch = self._monitor_of(supervisor)
        try:
            await self.ami.action("Hangup", Channel=watch.channel_id)
        except AmiActionError:  # the phone is not up (any more): it is over
            if watch.state == "ringing":
                raise AcdError("the supervisor's phone is still ringing; let it ring out") \
                    from None
            self._monitor_ended(watch)
        except AmiError as exc:
            raise AcdError(f"the monitor could not be stopped ({exc})") from None

    def monitors(self) -> list[dict]:
        """Every monitor running, as the wallboard shows them."""
        return [self._monitor_payload(watch) for watch in self._monitors.values()]

    def _check_monitor(self, supervisor: str, seat: str, target) -> None:
        if target.state is AgentState.LOGGED_OUT:
            raise AcdError(f"{target.agent_id} is not logged in")
        if supervisor in self._monitors:
            raise AcdError(f"{supervisor} is already monitoring "
                           f"{self._monitors[supervisor].agent}; stop that first")
        self._require_phone(seat)
        for agent in self.router.agents():
            if agent.seat == seat and agent.state is not AgentState.LOGGED_OUT:
                raise AcdError(f"seat {seat} is {agent.agent_id}'s phone; use your own")

    def _monitor_of(self, supervisor: str) -> Monitor:
        _check(USERNAME, supervisor, "supervisor")
        watch = self._monitors.get(supervisor)
        if watch is None:
            raise AcdError(f"{supervisor} is not monitoring anyone")
        return watch

    # -- what Asterisk reports ------------------------------------------------------
    def _on_monitor_originated(self, event) -> bool:
        watch = self._spy_actions.pop(event.action_id or "", None)
        if watch is None:
            return False
        if (event.response or "").lower() != "success":
            self._monitor_ended(watch)
        return True

    def _on_spy_start(self, event) -> None:
        watch = self._spies.get(event.get("SpyerUniqueid") or "")
        if watch is not None:
            watch.state, watch.linkedid = "started", event.get("SpyeeLinkedid") or None
            self._monitor_event(watch)

    def _on_spy_dtmf(self, event) -> None:
        watch = self._spies.get(event.uniqueid or "")
        mode = KEY_MODES.get(event.digit or "")
        if watch is not None and mode is not None and event.direction == "Received" \
                and mode != watch.mode:
            watch.mode = mode
            self._monitor_event(watch)

    def _on_spy_hangup(self, event) -> bool:
        watch = self._spies.get(event.uniqueid or "")
        if watch is None:
            return False
        self._monitor_ended(watch)
        return True

    def _monitor_ended(self, watch: Monitor) -> None:
        if self._forget_monitor(watch):
            watch.state = "ended"
            self._monitor_event(watch)

    def _forget_monitor(self, watch: Monitor) -> bool:
        if self._monitors.get(watch.supervisor) is not watch:
            return False
        del self._monitors[watch.supervisor]
        self._spies.pop(watch.channel_id, None)
        for action_id in [a for a, w in self._spy_actions.items() if w is watch]:
            del self._spy_actions[action_id]
        return True

    def _monitor_event(self, watch: Monitor) -> None:
        self._publish("acd.monitor", self._monitor_payload(watch))

    @staticmethod
    def _monitor_payload(watch: Monitor) -> dict:
        return {"supervisor": watch.supervisor, "seat": watch.seat, "agent": watch.agent,
                "mode": watch.mode, "state": watch.state, "linkedid": watch.linkedid}
