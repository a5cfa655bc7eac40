"""Actions sent and not yet fully answered, keyed by ActionID.

panoramisk's Action.add_message decides when an answer is complete (one
Response, or an event list up to its *Complete event); this table only routes
incoming messages to their action and fails them all when the link drops, so
no caller waits for an answer that can no longer come.
"""
from __future__ import annotations

from typing import Any

from panoramisk.actions import Action

from cti.ami_errors import AmiNotConnected


class PendingActions:
    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def __len__(self) -> int:
        return len(self._actions)

    def add(self, action: Action) -> None:
        self._actions[action.id] = action

    def discard(self, action: Action) -> None:
        self._actions.pop(action.id, None)

    def resolve(self, action_id: str, message: Any) -> bool:
        """Give `message` to its action; False if no action is waiting for it."""
        action = self._actions.get(action_id)
        if action is None:
            return False
        if action.add_message(message):
            del self._actions[action_id]
        return True

    def fail_all(self, reason: str) -> None:
        actions, self._actions = self._actions, {}
        for action in actions.values():
            if not action.future.done():
                action.future.set_exception(AmiNotConnected(reason))
