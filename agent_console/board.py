"""The supervisors' wallboard: the ACD's statistics snapshot (acd.stats) turned
into what a supervisor reads at a glance, with alerts.

Pure: no I/O. Alerts
- a queue's service level in the current interval below its target;
- a caller waiting longer than the queue's service-level threshold (the level
  is about to drop, before any answered call shows it);
- callers waiting and no agent staffed for the queue.
"""
from __future__ import annotations

from typing import Mapping


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def queue_alerts(name: str, queue: Mapping) -> list[str]:
    interval = queue.get("interval") or {}
    alerts = []
    sl, target = interval.get("service_level"), interval.get("sl_target")
    if sl is not None and target is not None and sl < target:
        alerts.append(f"{name}: service level {_percent(sl)} is below the target "
                      f"{_percent(target)} this interval")
    threshold = interval.get("sl_seconds")
    longest = queue.get("longest_wait") or 0
    if queue.get("waiting") and threshold is not None and longest > threshold:
        alerts.append(f"{name}: a caller has waited {longest:.0f} s, longer than "
                      f"{threshold:.0f} s")
    if queue.get("waiting") and not queue.get("staffed"):
        alerts.append(f"{name}: {queue['waiting']} waiting and no agent logged in for it")
    return alerts


def queue_row(name: str, queue: Mapping) -> dict:
    interval, day = queue.get("interval") or {}, queue.get("day") or {}
    alerts = queue_alerts(name, queue)
    return {
        "queue": name, "waiting": queue.get("waiting", 0), "ringing": queue.get("ringing", 0),
        "callbacks_waiting": queue.get("callbacks_waiting", 0),
        "longest_wait": queue.get("longest_wait", 0.0), "staffed": queue.get("staffed", 0),
        "ready": queue.get("ready", 0),
        "service_level": interval.get("service_level"), "sl_target": interval.get("sl_target"),
        "sl_seconds": interval.get("sl_seconds"), "service_level_day": day.get("service_level"),
        "asa": interval.get("asa"), "abandon_rate": interval.get("abandon_rate"),
        "offered": interval.get("offered", 0), "answered": interval.get("answered", 0),
        "abandoned": interval.get("abandoned", 0), "offered_day": day.get("offered", 0),
        "answered_day": day.get("answered", 0), "aht": interval.get("aht"),
        "alerting": bool(alerts), "alerts": alerts,
    }


def agent_row(agent: Mapping, calls: Mapping[str, Mapping]) -> dict:
    """An agent's line; ``calls`` (linkedid -> facts) says who they talk to."""
    call = calls.get(agent.get("call_id") or "") or {}
    return {"agent": agent.get("agent"), "seat": agent.get("seat"), "state": agent.get("state"),
            "presence": agent.get("presence"), "reason": agent.get("reason"),
            "since": agent.get("since"), "call_id": agent.get("call_id"),
            "caller": call.get("caller"), "queue": call.get("queue")}


def view(snapshot: Mapping, calls: Mapping[str, Mapping] | None = None) -> dict:
    """The wallboard for one acd.stats snapshot."""
    calls = calls or {}
    queues = [queue_row(name, q) for name, q in sorted((snapshot.get("queues") or {}).items())]
    agents = (snapshot.get("agents") or {})
    return {
        "at": snapshot.get("at"), "tz": snapshot.get("tz"),
        "interval": snapshot.get("interval"),
        "queues": queues,
        "agents": [agent_row(a, calls) for a in agents.get("list", [])],
        "counts": agents.get("counts", {}),
        "alerts": [alert for q in queues for alert in q["alerts"]],
    }
