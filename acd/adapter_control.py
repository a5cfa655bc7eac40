"""The agent's control of their call (issue 6): hold, resume, hang up, and what
the console shows of the call.

Hold is one Redirect with ExtraChannel: the caller to [acd-hold] (the queue's
music, CC_MOH), the agent's leg to [acd-held-agent] (silence); resume is AMI
Bridge of the two, after which each side continues at the next priority and
is hung up when the other leaves.  The agent is ON_HOLD when Asterisk says the
caller hears the music (MusicOnHoldStart on the caller's channel in
[acd-hold]) and ON_CALL again when it says both are in one bridge
(BridgeEnter); a command's AMI response only says Asterisk took it.  While the
caller is on hold nothing bridges the two legs, so when one side leaves the
engine hangs up the other.

One command per call at a time: ``live.pending`` names the command Asterisk
has not answered yet, and another command on that call is refused meanwhile.

A mixin of AcdService.
"""
from __future__ import annotations

import logging

from cti.ami_errors import AmiActionError, AmiError

from .adapter_agents import USERNAME
from .adapter_calls import (CONSULTING, DIALLING, ON_HOLD, OUTBOUND, RINGING, TALKING, WAITING,
                            LiveCall)
from .model import AcdError, AgentState

log = logging.getLogger("acd.control")

PHASE_NAMES = {RINGING: "ringing", WAITING: "ringing", TALKING: "talking", ON_HOLD: "on_hold",
               CONSULTING: "consulting", DIALLING: "dialling"}


class CallControl:
    def _init_control(self) -> None:
        self._bridge_of: dict[str, str] = {}  # channel uniqueid -> the bridge it is in

    async def hold(self, username: str) -> None:
        """The caller hears the queue's music; the agent's line stays up, silent."""
        live = self._call_of(username, "hold", TALKING)
        if self.router.agent(username).state is not AgentState.ON_CALL:
            raise AcdError("the caller is already on hold (from the phone)")
        await self._command(live, "hold", self._hold_actions(live))

    async def resume(self, username: str) -> None:
        """Take the caller back from hold."""
        live = self._call_of(username, "resume", ON_HOLD)
        await self._command(live, "resume", [("Bridge", {"Channel1": live.uniqueid,
                                                         "Channel2": live.agent_uniqueid})])

    async def hangup(self, username: str) -> None:
        """End the agent's call; the talk then ends as usual (wrap-up)."""
        live = self._call_of(username, "hang up", TALKING, ON_HOLD, DIALLING)
        await self._command(live, "hangup", [("Hangup", {"Channel": live.agent_uniqueid})])

    def current_call(self, username: str) -> dict | None:
        """The agent's live call as the console shows it, or None."""
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            return None
        try:
            agent = self.router.agent(username)
        except AcdError:
            return None
        if agent.state not in (AgentState.RESERVED, AgentState.ON_CALL, AgentState.ON_HOLD):
            return None
        live = self.book.get(agent.call_id or "")
        return _call_view(live, username) if live is not None else None

    # -- helpers shared by the commands ---------------------------------------------
    def _call_of(self, username: str, what: str, *phases: str) -> LiveCall:
        """The agent's own call, in one of ``phases``, with no command pending."""
        agent = self._agent(username)
        live = self.book.get(agent.call_id or "")
        busy = agent.state in (AgentState.ON_CALL, AgentState.ON_HOLD)
        if live is not None and busy and live.agent_id != username:
            raise AcdError(f"{live.agent_id} is consulting {username} about this call; only "
                           f"{live.agent_id} can {what} it")
        if live is None or not busy:
            raise AcdError(f"{username} has no call to {what} (they are {agent.state.value})")
        if live.pending is not None:
            raise AcdError(f"wait: the {live.pending} asked a moment ago is still under way")
        if live.phase not in phases:
            raise AcdError(f"cannot {what} the call while it is "
                           f"{PHASE_NAMES.get(live.phase, live.phase)}")
        if what != "hang up":  # the other commands move the caller's own channel
            if live.callback is not None:
                raise AcdError(f"a callback call cannot {_verb(what)}; hang up instead")
            if not self.book.caller_present(live):
                raise AcdError("the caller has hung up")
        return live

    def _hold_actions(self, live: LiveCall, agent_to: str = "acd-held-agent") -> list:
        moh = self._moh_of(live)
        return [("Setvar", {"Channel": live.uniqueid, "Variable": "CC_MOH", "Value": moh}),
                ("Redirect", {"Channel": live.uniqueid, "Context": "acd-hold", "Exten": "s",
                              "Priority": "1", "ExtraChannel": live.agent_uniqueid,
                              "ExtraContext": agent_to, "ExtraExten": "s", "ExtraPriority": "1"})]

    def _moh_of(self, live: LiveCall) -> str:
        queue = self.router.queues.get(live.queue) or self.router.queues[self.default_queue]
        return queue.moh

    async def _command(self, live: LiveCall, name: str, actions: list) -> None:
        """Send ``actions`` in order for an agent's command; AcdError (with the
        call as it was) when Asterisk refuses or cannot be reached."""
        live.pending = name
        try:
            for action, headers in actions:
                await self.ami.action(action, **headers)
        except AmiActionError as exc:
            raise AcdError(f"Asterisk refused the {name}: {exc.message or exc}") from None
        except (AmiError, ValueError) as exc:
            raise AcdError(f"the {name} could not be sent to Asterisk ({exc})") from None
        finally:
            if live.pending == name:
                live.pending = None

    async def _hang_up(self, uniqueid: str | None, why: str) -> None:
        """Hang up a leg left alone (its other side went away while on hold)."""
        if not uniqueid:
            return
        try:
            await self.ami.action("Hangup", Channel=uniqueid)
        except AmiActionError:
            pass  # gone already
        except AmiError as exc:
            self.problems += 1
            log.warning("acd: cannot hang up %s (%s): %s", uniqueid, why, exc)

    # -- what Asterisk reports ----------------------------------------------------
    def _on_moh_start(self, event) -> None:
        """The caller hears the hold music: the agent's caller is on hold."""
        live = self.book.by_caller(event.get("Uniqueid"))
        if live is not None and live.landing is not None and event.get("Context") == "acd-wait":
            live.landing.set()  # a blind transfer's caller is back in line: ring on
        if live is None or event.get("Context") != "acd-hold" or live.agent_id is None:
            return
        if live.pending == "hold" or live.phase == TALKING and live.pending is None:
            live.phase = ON_HOLD  # also a hold that raced its own AMI response
        at = event.timestamp or self.clock()
        agent = self.router.agent(live.agent_id)
        if agent.state is AgentState.ON_CALL and agent.call_id == live.call_id:
            self.router.hold(live.agent_id, at)
        if live.phase == ON_HOLD:
            self._call_event(live, "held", agent=live.agent_id)

    def _on_bridge_enter(self, event) -> None:
        """Caller and agent share a bridge again: resumed, or back from a
        consultation (the dialplan's Bridge() after the target left)."""
        self._bridge_of[event.uniqueid] = event.bridge_uniqueid
        live = self.book.by_caller(event.uniqueid) or self.book.by_agent_leg(event.uniqueid)
        if live is None or live.phase not in (ON_HOLD, CONSULTING) or live.agent_id is None:
            return
        bridge = self._bridge_of.get(live.uniqueid)
        if bridge is None or self._bridge_of.get(live.agent_uniqueid or "") != bridge:
            return
        at = event.timestamp or self.clock()
        if live.phase == CONSULTING:
            self._consultation_over(live, at)
        live.phase = TALKING
        agent = self.router.agent(live.agent_id)
        if agent.state is AgentState.ON_HOLD and agent.call_id == live.call_id:
            self.router.unhold(live.agent_id, at)
        self._call_event(live, "resumed", agent=live.agent_id)

    def _on_bridge_leave(self, event) -> None:
        if self._bridge_of.get(event.uniqueid) == event.bridge_uniqueid:
            del self._bridge_of[event.uniqueid]

    def _held_caller_left(self, live: LiveCall) -> None:
        """The caller hung up while on hold: hang up the agent's silent leg; its
        Hangup ends the talk."""
        self.book.caller_left(live)
        self._spawn(self._hang_up(live.agent_uniqueid, "its caller hung up while on hold"))


def _verb(what: str) -> str:
    return {"hold": "be put on hold", "resume": "be resumed",
            "transfer": "be transferred"}.get(what, what)


def _call_view(live: LiveCall, username: str) -> dict:
    transfer = live.transfer
    consulted = transfer is not None and transfer.target_agent == username \
        and live.agent_id != username
    if consulted:
        phase = "consulting" if transfer.answered_at is not None else "ringing"
    else:
        phase = PHASE_NAMES.get(live.phase, live.phase)
    view = {"linkedid": live.call_id, "caller": live.number if live.direction == OUTBOUND
            else live.caller, "customer_id": live.customer_id, "queue": live.queue or None,
            "phase": phase, "answered_at": live.answered_at, "direction": live.direction,
            "role": "consulted" if consulted else "agent", "consult": None}
    if transfer is not None and transfer.attended and not transfer.ended:
        view["consult"] = {"kind": transfer.kind, "target": transfer.target,
                           "agent": transfer.target_agent, "from": transfer.from_agent,
                           "answered": transfer.answered_at is not None}
    return view
