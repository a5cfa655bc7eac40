"""Agents' commands for the console (issue 6): log in at a seat, ready, not
ready with a reason, log out, end wrap-up.  Every command checks its input
and the seat's phone and raises AcdError with a text the console can show;
a refused command changes nothing.

A mixin of AcdService: it uses the service's router, endpoint tracker (which
phones are registered), the CRM (who the user is, their skills) and clock.
"""
from __future__ import annotations

import logging
import re

from crm_core.errors import NotFound

from . import crm
from .adapter_parse import SEAT
from .model import AcdError, Agent, AgentState

log = logging.getLogger("acd.agents")

USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
REASON = re.compile(r"[a-z0-9_-]{1,32}")


class AgentCommands:
    async def login(self, username: str, seat: str) -> Agent:
        """Log ``username`` in at ``seat`` (NOT_READY "login"): a known active user,
        a known seat whose phone is registered and that nobody else uses."""
        _check(USERNAME, username, "user name")
        _check(SEAT, seat, "seat")
        self._require_phone(seat)
        if self.sessions is None:
            raise AcdError("agents cannot log in: the ACD has no CRM to look them up")
        user_id, skills = await self._ask_crm(crm.agent_profile, username, refusals={
            NotFound: f"unknown user {username!r} (or deactivated)"})
        agent = self.router.login(username, seat, skills, self.clock(), user_id=user_id)
        log.info("acd: %s logged in at %s with skills %s", username, seat,
                 ", ".join(f"{k}={v}" for k, v in sorted(skills.items())) or "none")
        return agent

    async def ready(self, username: str) -> Agent:
        """Available for calls; refused while the seat's phone is not registered."""
        agent = self._agent(username)
        self._require_phone(agent.seat)
        self.router.ready(username, self.clock())
        return agent

    async def not_ready(self, username: str, reason: str = "break") -> Agent:
        agent = self._agent(username)
        _check(REASON, reason, "not-ready reason")
        self.router.not_ready(username, reason, self.clock())
        return agent

    async def logout(self, username: str) -> Agent:
        """Logged out now, or once the current call and wrap-up end."""
        agent = self._agent(username)
        self.router.logout(username, self.clock())
        return agent

    async def end_wrap_up(self, username: str) -> Agent:
        agent = self._agent(username)
        self.router.wrap_up_done(username, self.clock())
        return agent

    def _on_contact_status(self, event) -> None:
        """A seat's phone unregistered or became unreachable: its agent is not ready,
        so no caller is offered to a phone that cannot ring."""
        if event.contact_status not in ("Removed", "Unreachable"):
            return
        seat = event.endpoint_name or event.aor
        info = self.endpoints.get(seat or "")
        if info is not None and info.reachable:
            return  # another contact still takes calls
        for agent in self.router.agents():
            if agent.seat == seat and agent.state in (AgentState.READY, AgentState.NOT_READY,
                                                       AgentState.WRAP_UP):
                if agent.state is AgentState.NOT_READY and agent.reason == "phone-unregistered":
                    continue
                log.warning("acd: seat %s of agent %s is %s: not ready", seat, agent.agent_id,
                            event.contact_status.lower())
                self.router.not_ready(agent.agent_id, "phone-unregistered", self.clock())

    def _agent(self, username: str) -> Agent:
        _check(USERNAME, username, "user name")
        return self.router.agent(username)

    def _require_phone(self, seat: str) -> None:
        info = self.endpoints.get(seat)
        if info is None:
            raise AcdError(f"unknown seat {seat!r}: no such phone on the PBX")
        if not info.registered or not info.reachable:
            raise AcdError(f"the phone at seat {seat} is not registered: connect it first")


def _check(pattern: re.Pattern, value, what: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise AcdError(f"bad {what} {str(value)[:64]!r}")
