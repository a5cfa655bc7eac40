"""Erlang C: the planner's model of a call centre queue (M/M/c).

Callers arrive at random (Poisson, `arrival_rate` per second), every agent
takes a random, exponentially distributed time per call (mean `aht`, the
average handling time), callers wait as long as it takes (no abandonment) and
are served first come, first served by `agents` identical agents.  The
offered traffic is A = arrival_rate * aht Erlangs: the number of agents that
would be busy all the time.  The queue is stable only when agents > A, so the
waiting figures below refuse anything else with a ValueError instead of
returning a meaningless number.

Why these formulas: they are what workforce planners use to answer "how many
agents for 80% of calls answered within 20 s"; the simulator
(acd/simulator.py) checks the real router against them.

- P(wait) (Erlang C) is computed from the Erlang B recursion
  B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1)), then
  C = c B / (c - A (1 - B)): no factorials or powers, so it stays exact for
  thousands of agents where the textbook formula overflows.
- ASA (average speed of answer, zeros included) = C * aht / (c - A).
- SL(t) (share answered within t seconds) = 1 - C * exp(-(c - A) t / aht).
- Occupancy = A / c (share of staffed time spent handling calls).

Pure functions, no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ErlangFigures", "traffic_intensity", "erlang_b", "wait_probability",
           "average_speed_of_answer", "service_level", "occupancy", "erlang_c",
           "agents_for"]


@dataclass(frozen=True)
class ErlangFigures:
    """Everything Erlang C predicts for one staffing level."""
    agents: int
    traffic: float  # offered load A in Erlangs
    aht: float  # average handling time, seconds
    sl_seconds: float  # the service level's answer-time threshold t
    wait_probability: float  # P(wait > 0)
    asa: float  # average speed of answer, seconds (zeros included)
    service_level: float  # P(wait <= sl_seconds)
    occupancy: float  # A / agents


def _check_finite(name: str, value: float, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, not {value!r}")
    if not positive and value < 0:
        raise ValueError(f"{name} must be >= 0, not {value!r}")
    return float(value)


def _check_agents(agents: int) -> int:
    if isinstance(agents, bool) or not isinstance(agents, int):
        raise ValueError(f"agents must be a whole number, not {agents!r}")
    if agents < 1:
        raise ValueError(f"agents must be >= 1, not {agents}")
    return agents


def _check_stable(agents: int, traffic: float) -> None:
    """Waiting figures exist only when the agents can keep up with the load."""
    if agents <= traffic:
        raise ValueError(f"{agents} agents cannot carry {traffic:g} Erlangs: the queue grows "
                         f"without limit (Erlang C needs agents > traffic)")


def traffic_intensity(arrival_rate: float, aht: float) -> float:
    """Offered load A in Erlangs: calls per second times seconds per call.

    100 calls per 30 minutes with an AHT of 180 s is 100/1800 * 180 = 10 Erlangs.
    """
    return _check_finite("arrival_rate", arrival_rate, positive=False) * \
        _check_finite("aht", aht, positive=True)


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of an M/M/c/c loss system, by the stable recursion.

    Used on its own for trunk sizing and as the first step of Erlang C.
    """
    _check_agents(agents)
    traffic = _check_finite("traffic", traffic, positive=False)
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    return blocking


def _wait_probability_from_b(agents: int, traffic: float, blocking: float) -> float:
    """Erlang C from Erlang B: C = c B / (c - A (1 - B))."""
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def wait_probability(agents: int, traffic: float) -> float:
    """P(wait): the share of callers who find every agent busy and queue (Erlang C)."""
    blocking = erlang_b(agents, traffic)
    _check_stable(agents, traffic)
    return _wait_probability_from_b(agents, traffic, blocking)


def average_speed_of_answer(agents: int, traffic: float, aht: float) -> float:
    """ASA in seconds: the mean wait over all callers, those answered at once included."""
    aht = _check_finite("aht", aht, positive=True)
    return wait_probability(agents, traffic) * aht / (agents - traffic)


def service_level(agents: int, traffic: float, aht: float, seconds: float) -> float:
    """SL(t): the share of callers answered within `seconds` (P(wait <= t))."""
    aht = _check_finite("aht", aht, positive=True)
    seconds = _check_finite("seconds", seconds, positive=False)
    waiting = wait_probability(agents, traffic)
    return 1.0 - waiting * math.exp(-(agents - traffic) * seconds / aht)


def occupancy(agents: int, traffic: float) -> float:
    """The share of staffed time agents spend on calls: A / c.

    Planners watch it because agents burn out above ~90% even when the service
    level looks fine.
    """
    _check_agents(agents)
    traffic = _check_finite("traffic", traffic, positive=False)
    _check_stable(agents, traffic)
    return traffic / agents


def erlang_c(agents: int, traffic: float, aht: float, seconds: float = 20.0) -> ErlangFigures:
    """All Erlang C figures for one staffing level (one table row for a planner)."""
    return ErlangFigures(
        agents=agents, traffic=float(traffic), aht=float(aht), sl_seconds=float(seconds),
        wait_probability=wait_probability(agents, traffic),
        asa=average_speed_of_answer(agents, traffic, aht),
        service_level=service_level(agents, traffic, aht, seconds),
        occupancy=occupancy(agents, traffic))


def agents_for(target: float, seconds: float, traffic: float, aht: float, *,
               max_agents: int = 1_000_000) -> int:
    """The fewest agents whose service level SL(seconds) reaches `target`.

    Planning question: "80% within 20 s at 10 Erlangs and AHT 180 s needs how
    many agents?" -> 14.  The service level grows with every agent added, so
    the first staffing level above the traffic that meets the target is the
    answer.  Erlang B is carried along incrementally (one recursion step per
    extra agent) so a large centre costs O(agents), not O(agents^2).
    """
    if isinstance(target, bool) or not isinstance(target, (int, float)) \
            or not 0.0 < target < 1.0:
        raise ValueError(f"target must be a share strictly between 0 and 1, not {target!r}")
    seconds = _check_finite("seconds", seconds, positive=False)
    traffic = _check_finite("traffic", traffic, positive=False)
    aht = _check_finite("aht", aht, positive=True)
    blocking = 1.0
    for agents in range(1, max_agents + 1):
        blocking = traffic * blocking / (agents + traffic * blocking)
        if agents <= traffic:
            continue
        waiting = _wait_probability_from_b(agents, traffic, blocking)
        if 1.0 - waiting * math.exp(-(agents - traffic) * seconds / aht) >= target:
            return agents
    raise ValueError(f"no staffing up to {max_agents} agents reaches a service level of "
                     f"{target:g} within {seconds:g} s at {traffic:g} Erlangs")
