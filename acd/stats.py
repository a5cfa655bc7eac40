"""Live queue statistics for the wallboard: counters per queue for the current
interval and the current day, and a JSON-able snapshot of the whole ACD.

Pure: no I/O and no clock of its own; every method takes the time (Unix seconds,
the router's clock).  The adapter feeds the events as the router reports them.

Windows
    The *interval* (default 30 minutes) and the *day* are aligned to the wall
    clock in ``tz``: the day starts at local midnight and intervals are counted
    from there (00:00, 00:30, ...; the last one of a day is cut at the next
    midnight).  Both roll over by themselves on the first event or snapshot at
    or after their end; a late event (a time before the current window) is
    counted in the current window rather than reopening an old one.

KPIs (one set per queue and window)
    offered          calls that entered the queue (the adapter calls ``offered``)
    answered         calls an agent answered; ``answered_in_sl`` within the
                     queue's ``sl_seconds`` (waited <= T)
    abandoned        callers who hung up while waiting; ``short_abandoned`` those
                     who gave up within SHORT_ABANDON (5 s: misdials, mostly),
                     ``abandoned_after_sl`` those who waited longer than T
    overflowed       calls that left the queue by overflow (``overflow_to``
                     counts them per target); ``overflowed_in`` calls that came in
                     by overflow from another queue
    callbacks        callers who asked to be called back (virtual hold)
    service_level    answered_in_sl / (answered + abandoned_after_sl)
                     Calls abandoned within T do not count for or against it
                     (the caller left before the centre could fail them); calls
                     abandoned after T count as missed.  Calls still waiting,
                     overflowed out or turned into callbacks are not in it.
                     None while the denominator is 0.
    abandon_rate     (abandoned - short_abandoned) / (answered + abandoned -
                     short_abandoned); None while that is 0
    asa              average speed of answer: sum of answered waits / answered
    max_answered_wait  the longest wait of an answered call
    handled, aht     calls whose talk ended (``handled``) and the average talk
                     time over them; None until the first one
``aht(queue)`` (what the wait estimate uses) is the mean talk time of the last
AHT_SAMPLE handled calls of the queue, kept across rollovers so an estimate does
not vanish at midnight; None until the queue has handled one call.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Iterable, Mapping

from .model import AgentState, QueueConfig

__all__ = ["AcdStats", "Kpis", "SHORT_ABANDON", "AHT_SAMPLE", "PRESENCES"]

SHORT_ABANDON = 5.0  # seconds: a caller who gives up this fast is a short abandon
AHT_SAMPLE = 50  # handled calls the running AHT is taken over
DEFAULT_SL_SECONDS = QueueConfig(name="_").sl_seconds
# Every presence a wallboard counts; logged-out agents are not on the board.
PRESENCES = tuple(s.value for s in AgentState if s is not AgentState.LOGGED_OUT) \
    + ("pending_logout",)


def _seconds(value) -> float:
    """A duration from the adapter: negative or not-a-number becomes 0."""
    value = float(value)
    return value if value > 0 and math.isfinite(value) else 0.0


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def _mean(total: float, count: int) -> float | None:
    return round(total / count, 3) if count else None


@dataclass
class Kpis:
    """The counters of one queue over one window."""
    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    abandoned_after_sl: int = 0
    overflowed: int = 0
    overflowed_in: int = 0
    overflow_to: dict[str, int] = field(default_factory=dict)
    callbacks: int = 0
    answer_wait_sum: float = 0.0
    max_answered_wait: float = 0.0
    abandon_wait_sum: float = 0.0
    handled: int = 0
    talk_sum: float = 0.0

    @property
    def service_level(self) -> float | None:
        return _ratio(self.answered_in_sl, self.answered + self.abandoned_after_sl)

    @property
    def abandon_rate(self) -> float | None:
        counted = self.abandoned - self.short_abandoned
        return _ratio(counted, self.answered + counted)

    @property
    def asa(self) -> float | None:
        return _mean(self.answer_wait_sum, self.answered)

    @property
    def aht(self) -> float | None:
        return _mean(self.talk_sum, self.handled)

    def as_dict(self, queue: QueueConfig | None) -> dict:
        return {
            "offered": self.offered, "answered": self.answered,
            "answered_in_sl": self.answered_in_sl, "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "abandoned_after_sl": self.abandoned_after_sl,
            "overflowed": self.overflowed, "overflowed_in": self.overflowed_in,
            "overflow_to": dict(sorted(self.overflow_to.items())),
            "callbacks": self.callbacks,
            "service_level": self.service_level,
            "sl_seconds": queue.sl_seconds if queue else DEFAULT_SL_SECONDS,
            "sl_target": queue.sl_target if queue else None,
            "abandon_rate": self.abandon_rate,
            "asa": self.asa,
            "max_answered_wait": round(self.max_answered_wait, 3),
            "avg_abandon_wait": _mean(self.abandon_wait_sum, self.abandoned),
            "handled": self.handled, "aht": self.aht,
        }


class _Window:
    """Per-queue counters over [start, end)."""

    def __init__(self, start: float, end: float):
        self.start, self.end = start, end
        self.queues: dict[str, Kpis] = {}

    def kpis(self, queue: str) -> Kpis:
        found = self.queues.get(queue)
        if found is None:
            found = self.queues[queue] = Kpis()
        return found


class AcdStats:
    """Counters per queue for the current interval and day; see the module docstring."""

    def __init__(self, queues: Mapping[str, QueueConfig], *, interval: float = 1800,
                 tz: tzinfo = timezone.utc):
        interval = float(interval)
        if not math.isfinite(interval) or not 0 < interval <= 86400:
            raise ValueError(f"interval must be 0 < seconds <= 86400, got {interval!r}")
        self.interval = interval
        self.tz = tz
        self.queues: dict[str, QueueConfig] = dict(queues)
        self._interval: _Window | None = None
        self._day: _Window | None = None
        self._talk: dict[str, deque[float]] = {}

    def set_queues(self, queues: Mapping[str, QueueConfig]) -> None:
        """A configuration reload: new SL thresholds apply from now on; the
        counters of removed queues stay until the window rolls over."""
        self.queues = dict(queues)

    # -- windows -----------------------------------------------------------

    def _day_bounds(self, at: float) -> tuple[float, float]:
        local = datetime.fromtimestamp(at, self.tz).date()
        start = datetime.combine(local, time(0), tzinfo=self.tz).timestamp()
        end = datetime.combine(local + timedelta(days=1), time(0), tzinfo=self.tz).timestamp()
        return start, end

    def _roll(self, at: float) -> None:
        at = float(at)
        if self._day is None or at >= self._day.end:
            self._day = _Window(*self._day_bounds(at))
        if self._interval is None or at >= self._interval.end:
            day_start, day_end = self._day.start, self._day.end
            if not day_start <= at < day_end:  # a late event before the current day
                day_start, day_end = self._day_bounds(at)
            start = day_start + math.floor((at - day_start) / self.interval) * self.interval
            self._interval = _Window(start, min(start + self.interval, day_end))

    def _both(self, queue: str, at: float) -> tuple[Kpis, Kpis]:
        self._roll(at)
        return self._interval.kpis(queue), self._day.kpis(queue)

    def _sl_seconds(self, queue: str) -> float:
        config = self.queues.get(queue)
        return config.sl_seconds if config else DEFAULT_SL_SECONDS

    # -- events ------------------------------------------------------------

    def offered(self, queue: str, at: float) -> None:
        for k in self._both(queue, at):
            k.offered += 1

    def answered(self, queue: str, waited: float, at: float) -> None:
        waited = _seconds(waited)
        within = waited <= self._sl_seconds(queue)
        for k in self._both(queue, at):
            k.answered += 1
            k.answered_in_sl += within
            k.answer_wait_sum += waited
            k.max_answered_wait = max(k.max_answered_wait, waited)

    def abandoned(self, queue: str, waited: float, at: float) -> None:
        waited = _seconds(waited)
        short = waited < SHORT_ABANDON
        late = waited > self._sl_seconds(queue)
        for k in self._both(queue, at):
            k.abandoned += 1
            k.short_abandoned += short
            k.abandoned_after_sl += late
            k.abandon_wait_sum += waited

    def overflowed(self, queue: str, to: str, at: float) -> None:
        """Counted as out of ``queue`` (per target) and, when ``to`` is a queue
        of the configuration, as ``overflowed_in`` there."""
        for k in self._both(queue, at):
            k.overflowed += 1
            k.overflow_to[to] = k.overflow_to.get(to, 0) + 1
        if to in self.queues and to != queue:
            for k in self._both(to, at):
                k.overflowed_in += 1

    def callback_requested(self, queue: str, at: float) -> None:
        for k in self._both(queue, at):
            k.callbacks += 1

    def handled(self, queue: str, talk_seconds: float, at: float) -> None:
        talk = _seconds(talk_seconds)
        for k in self._both(queue, at):
            k.handled += 1
            k.talk_sum += talk
        self._talk.setdefault(queue, deque(maxlen=AHT_SAMPLE)).append(talk)

    # -- reading -------------------------------------------------------------

    def aht(self, queue: str) -> float | None:
        """Mean talk time over the queue's last AHT_SAMPLE handled calls."""
        sample = self._talk.get(queue)
        return sum(sample) / len(sample) if sample else None

    def kpis(self, queue: str, window: str = "interval", at: float | None = None) -> dict:
        """One queue's KPIs for "interval" or "day" (rolling over first when ``at`` is given)."""
        if at is not None:
            self._roll(at)
        win = {"interval": self._interval, "day": self._day}[window]
        counters = win.queues.get(queue) if win else None
        return (counters or Kpis()).as_dict(self.queues.get(queue))

    def snapshot(self, router, now: float) -> dict:
        """The wallboard picture, JSON-able::

            {"at": now, "tz": "Europe/Berlin",
             "interval": {"start": t, "end": t, "seconds": 1800},
             "day": {"start": t, "end": t},
             "queues": {name: {"waiting", "ringing", "callbacks_waiting", "longest_wait",
                               "staffed", "ready", "interval": {KPIs}, "day": {KPIs}}},
             "agents": {"counts": {presence: n},
                        "list": [{"agent", "seat", "state", "presence", "reason", "since",
                                  "in_state", "call_id"}]}}

        Times are Unix seconds.  ``waiting`` counts callers still on the line
        (those whose agent's phone rings included, ``ringing`` counts those);
        ``callbacks_waiting`` the virtual-hold callbacks keeping a place;
        ``longest_wait`` is the longest time a caller on the line has waited
        since entering the ACD (0 when none).  ``ready`` counts READY agents
        holding every skill of the queue.  ``counts`` has every presence except
        logged_out (``pending_logout`` included); ``list`` shows logged-in agents
        by name.  The router is used through ``waiting()``, ``agents()`` and
        ``staffed(queue)``.
        """
        now = float(now)
        self._roll(now)
        agents = sorted(router.agents(), key=lambda a: a.agent_id)
        on_board = [a for a in agents if a.state is not AgentState.LOGGED_OUT]
        calls_by_queue: dict[str, list] = {}
        for call in router.waiting():
            calls_by_queue.setdefault(call.queue, []).append(call)
        names = sorted(set(self.queues) | set(calls_by_queue) | set(self._interval.queues)
                       | set(self._day.queues))
        queues = {}
        for name in names:
            config = self.queues.get(name)
            calls = calls_by_queue.get(name, [])
            on_line = [c for c in calls if c.callback is None]
            ready = sum(1 for a in on_board if a.state is AgentState.READY
                        and _qualifies(a.skills, config.skills if config else ()))
            queues[name] = {
                "waiting": len(on_line),
                "ringing": sum(1 for c in on_line if c.offered_to is not None),
                "callbacks_waiting": len(calls) - len(on_line),
                "longest_wait": round(max((now - c.arrived_at for c in on_line), default=0.0), 3),
                "staffed": _staffed(router, name) if config else 0,
                "ready": ready,
                "interval": self.kpis(name, "interval"),
                "day": self.kpis(name, "day"),
            }
        counts = dict.fromkeys(PRESENCES, 0)
        for agent in on_board:
            counts[agent.presence] = counts.get(agent.presence, 0) + 1
        return {
            "at": now,
            "tz": str(getattr(self.tz, "key", None) or self.tz),
            "interval": {"start": self._interval.start, "end": self._interval.end,
                         "seconds": self.interval},
            "day": {"start": self._day.start, "end": self._day.end},
            "queues": queues,
            "agents": {"counts": counts, "list": [_agent_row(a, now) for a in on_board]},
        }


def _staffed(router, queue: str) -> int:
    try:
        return router.staffed(queue)
    except ValueError:  # AcdError: the router no longer has it (a reload in between)
        return 0


def _qualifies(skills: Mapping[str, int], required: Iterable[str]) -> bool:
    return all(skill in skills for skill in required)


def _agent_row(agent, now: float) -> dict:
    return {"agent": agent.agent_id, "seat": agent.seat, "state": agent.state.value,
            "presence": agent.presence, "reason": agent.reason, "since": agent.since,
            "in_state": round(max(0.0, now - agent.since), 3), "call_id": agent.call_id}
