"""Supervisors change agents' states (issue 6): force not ready, force logout.

Who may: an active CRM user with the role supervisor or admin, asked in the CRM
in a thread (like agent_profile).  The change goes through the router like the
agent's own request (refused from the same states, nothing changed then), and
each one is written to the audit log (entity "agent", the supervisor as actor).

A mixin of AcdService.
"""
from __future__ import annotations

import asyncio
import logging

from crm_core.errors import NotFound, PermissionDenied

from . import crm
from .adapter_agents import REASON, USERNAME, _check
from .model import AcdError, Agent

log = logging.getLogger("acd.agents")


class Supervision:
    async def force_not_ready(self, agent: str, reason: str, by: str) -> Agent:
        """Supervisor ``by`` puts ``agent`` not ready with ``reason``."""
        target = self._agent(agent)
        _check(REASON, reason, "not-ready reason")
        actor = await self._supervisor_id(by)
        before = _state_of(target)
        self.router.not_ready(agent, reason, self.clock())
        await self._audit(actor, agent, "force_not_ready", by, before, target)
        return target

    async def force_logout(self, agent: str, by: str) -> Agent:
        """Supervisor ``by`` logs ``agent`` out (once their call ends, when busy)."""
        target = self._agent(agent)
        actor = await self._supervisor_id(by)
        before = _state_of(target)
        self.router.logout(agent, self.clock())
        await self._audit(actor, agent, "force_logout", by, before, target)
        return target

    async def _supervisor_id(self, username: str) -> int:
        """The user id of an active supervisor or admin; AcdError for anyone else."""
        _check(USERNAME, username, "supervisor")
        if self.sessions is None:
            raise AcdError("no CRM to check the supervisor in")
        return await self._ask_crm(crm.supervisor_id, username, refusals={
            NotFound: f"unknown user {username!r} (or deactivated)",
            PermissionDenied: f"{username} is not a supervisor"})

    async def _audit(self, actor: int, agent: str, action: str, by: str, before: dict,
                     target: Agent) -> None:
        """The audit entry of a change already made; a failure is logged, never
        undone (the agent's state is what Asterisk-facing code now relies on)."""
        after = _state_of(target)
        changed = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
        changes = {"action": action, "by": by, **changed}
        try:
            await asyncio.to_thread(crm.audit_agent, self.sessions, actor, agent, changes)
        except Exception as exc:
            self.problems += 1
            log.error("acd: %s of %s by %s done but not audited (%s: %s)", action, agent, by,
                      exc.__class__.__name__, exc)


def _state_of(agent: Agent) -> dict:
    return {"state": agent.state.value, "reason": agent.reason, "presence": agent.presence}
