"""What the ACD writes on a call's interaction: one "queue" segment per stay in a
queue (queue, waited, outcome answered / abandoned / overflow / callback, the
agent) and one "agent" segment per talk (the agent's CRM user id, from the
answer to the hang-up; a callback says so and whether the customer was reached).

A mixin of AcdService (``history`` has record_segment, callcenter.history.CallHistory).
"""
from __future__ import annotations

from typing import Any

from .adapter_calls import LiveCall, utc


class HistoryRecorder:
    def _queue_segment(self, live: LiveCall, ended: float, outcome: str, **detail: Any) -> None:
        """One "queue" segment per stay in a queue, closed when the stay ends."""
        waited = round(max(0.0, ended - live.stay_started), 3)
        live.history.append((live.queue, outcome))
        if self.history is None or live.polled:  # a CRM callback has no call of its own
            return
        self.history.record_segment(
            live.call_id, "queue", utc(live.stay_started), ended_at=utc(max(ended, live.stay_started)),
            detail={"queue": live.queue, "waited": waited, "outcome": outcome,
                    "agent": detail.pop("agent", None), **detail},
            agent_id=live.user_id if outcome == "answered" else None)

    def _agent_segment(self, live: LiveCall, ended: float) -> None:
        if self.history is None or live.answered_at is None or live.polled:
            return
        detail = {"agent": live.agent_id, "seat": live.seat, "queue": live.queue,
                  "talk": round(max(0.0, ended - live.answered_at), 3),
                  "callback": live.callback is not None}
        if live.callback is not None:
            detail.update(number=live.callback, outcome=_callback_outcome(live.callback_dial))
        self.history.record_segment(live.call_id, "agent", utc(live.answered_at),
                                    ended_at=utc(max(ended, live.answered_at)), detail=detail,
                                    agent_id=live.user_id)


def _callback_outcome(dial_status: str) -> str:
    return {"ANSWER": "reached", "": "not-dialled"}.get(dial_status, dial_status.lower())
