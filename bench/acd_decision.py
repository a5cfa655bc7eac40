"""ACD routing benchmark: the time of one routing decision at call-centre scale.

Builds a router with --agents agents over --skills skills (each agent holds 2-5
skills at random proficiencies 1-10), about 60% of them READY, and --waiting
calls in line that nobody ready can take (their 2-3 skill combinations have no
READY agent), so every decision has to look past a full line.  Then it times
(time.perf_counter_ns, around the one router call) single decisions of both
kinds:

  arrival  a new call that READY agents qualify for: enqueue -> decision
           (undone with abandon: the agent is READY again, keeping idle_since)
  ready    a NOT_READY agent becomes ready and qualifies for a call deep in the
           line: ready -> decision (undone with offer_failed: the agent is
           NOT_READY again, the call back at its place)

The undo keeps the waiting calls and the READY pool as they were, so every
sample sees the same load.  The router has (no-op) listeners, as in the engine,
and garbage collection stays on.

Usage: .venv/bin/python bench/acd_decision.py [--samples N] [--seed N] [--profile]
The last line is `acd_decision_p99: <ms> ms` (the worse of the two kinds).
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acd.model import AgentState, QueueConfig, WaitingCall  # noqa: E402
from acd.router import Router  # noqa: E402

GOAL_P99_MS = 1.0
DEEP = 0.5  # a "ready" sample's call is at least this far down the line


def pct(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    k = max(0, min(len(sorted_ms) - 1, math.ceil(p / 100 * len(sorted_ms)) - 1))
    return sorted_ms[k]


class Centre:
    """The simulated floor: a router, its agents and its line, built from one seed."""

    def __init__(self, rng: random.Random, agents: int, skills: int, waiting: int) -> None:
        self.rng = rng
        self.skills = [f"skill{i:02d}" for i in range(skills)]
        self.queues = [QueueConfig(f"q{i}", skills=(self.skills[i],), priority=rng.randint(0, 3),
                                   vip_weight=120, last_agent=i % 2 == 0) for i in range(10)]
        # no-op listeners: the router's own cost of delivering events is measured too
        self.router = Router(self.queues, on_decision=lambda d: None,
                             on_agent=lambda agent, previous: None)
        self.now = 10_000.0
        self.calls = 0
        self._staff(agents)
        self._fill_line(waiting)

    def _staff(self, count: int) -> None:
        r, rng = self.router, self.rng
        for i in range(count):
            held = rng.sample(self.skills, rng.randint(2, 5))
            r.login(f"agent{i:04d}", f"PJSIP/{2000 + i}", {s: rng.randint(1, 10) for s in held},
                    self.now - 3600)
            if rng.random() < 0.6:
                r.ready(f"agent{i:04d}", self.now - rng.uniform(0, 900))
        self.ready_ids = [a.agent_id for a in r.agents() if a.state is AgentState.READY]
        self.not_ready_ids = [a.agent_id for a in r.agents() if a.state is AgentState.NOT_READY]

    def covered(self, combo: tuple[str, ...]) -> bool:
        """True when a READY agent holds every skill of the combination."""
        return bool(self.router._candidates(frozenset(combo)))

    def new_call(self, combo: tuple[str, ...], arrived_at: float) -> WaitingCall:
        self.calls += 1
        rng = self.rng
        return WaitingCall(call_id=f"{arrived_at:.3f}.{self.calls}",
                           queue=rng.choice(self.queues).name, skills=combo,
                           arrived_at=arrived_at, queued_at=arrived_at,
                           priority=rng.choice((0, 0, 0, 1, 2)), vip=rng.random() < 0.1,
                           last_agent=rng.choice(self.ready_ids), caller="+12025550143")

    def _fill_line(self, count: int) -> None:
        """Calls nobody ready can take: half from NOT_READY agents' skills (so a
        ready sample has something to find), half of any 2-3 skills."""
        rng = self.rng
        while len(self.router.waiting()) < count:
            if rng.random() < 0.5:
                held = list(self.router.agent(rng.choice(self.not_ready_ids)).skills)
                combo = tuple(rng.sample(held, 2))
            else:
                combo = tuple(rng.sample(self.skills, rng.randint(2, 3)))
            if self.covered(combo):
                continue
            decisions = self.router.enqueue(self.new_call(combo, self.now - rng.uniform(0, 600)),
                                            self.now)
            assert not decisions

    def arrival_combo(self) -> tuple[str, ...]:
        """Two skills of a READY agent: at least that agent qualifies."""
        held = list(self.router.agent(self.rng.choice(self.ready_ids)).skills)
        return tuple(self.rng.sample(held, 2))

    def deep_agents(self) -> list[str]:
        """NOT_READY agents whose first call in line is at least DEEP down it."""
        r, line = self.router, self.router.waiting()
        place = {c.call_id: i for i, c in enumerate(line)}
        out = []
        for agent_id in self.not_ready_ids:
            self.now += 0.001
            decisions = r.ready(agent_id, self.now)
            if decisions:
                if place[decisions[0].call_id] >= DEEP * len(line):
                    out.append(agent_id)
                r.offer_failed(decisions[0].call_id, self.now, reason="bench")
            else:
                r.not_ready(agent_id, "bench", self.now)
        return out


def time_arrivals(centre: Centre, samples: int) -> tuple[list[float], float]:
    """Latency (ms) of enqueue -> decision; also the mean number of candidates."""
    r, lat, candidates = centre.router, [], 0
    for _ in range(samples):
        centre.now += 0.01
        call = centre.new_call(centre.arrival_combo(), centre.now)
        t0 = time.perf_counter_ns()
        decisions = r.enqueue(call, centre.now)
        lat.append((time.perf_counter_ns() - t0) / 1e6)
        assert len(decisions) == 1
        candidates += decisions[0].candidates
        _, again = r.abandon(call.call_id, centre.now)
        assert not again
    return lat, candidates / samples


def time_ready(centre: Centre, agents: list[str], samples: int) -> tuple[list[float], float]:
    """Latency (ms) of ready -> decision; also the mean line position of the call taken."""
    r, lat, depth = centre.router, [], 0
    for i in range(samples):
        agent_id = agents[i % len(agents)]
        centre.now += 0.01
        t0 = time.perf_counter_ns()
        decisions = r.ready(agent_id, centre.now)
        lat.append((time.perf_counter_ns() - t0) / 1e6)
        assert len(decisions) == 1
        if i < 200:  # place in the whole line, 1-based
            depth += 1 + [c.call_id for c in r.waiting()].index(decisions[0].call_id)
        r.offer_failed(decisions[0].call_id, centre.now, reason="bench")
    return lat, depth / min(samples, 200)


def report(kind: str, lat: list[float], extra: str) -> float:
    quarter = len(lat) // 4
    quarters = [pct(sorted(lat[i * quarter:(i + 1) * quarter]), 99) for i in range(4)]
    lat = sorted(lat)
    p50, p99 = pct(lat, 50), pct(lat, 99)
    print(f"{kind}: {len(lat):,} decisions  p50 {p50:.3f} ms   p99 {p99:.3f} ms   "
          f"max {lat[-1]:.3f} ms   mean {sum(lat) / len(lat):.3f} ms   ({extra})")
    # bursts of load from other processes on the machine show up as one bad quarter
    print("  p99 of each quarter of the run: " + "  ".join(f"{q:.3f}" for q in quarters) + " ms")
    return p99


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--skills", type=int, default=50)
    ap.add_argument("--waiting", type=int, default=500)
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="cProfile the measured decisions")
    args = ap.parse_args()

    t0 = time.perf_counter()
    centre = Centre(random.Random(args.seed), args.agents, args.skills, args.waiting)
    deep = centre.deep_agents()
    line = len(centre.router.waiting())
    print(f"setup {time.perf_counter() - t0:.2f} s: {args.agents} agents over {args.skills} skills "
          f"({len(centre.ready_ids)} ready), {line} calls waiting, "
          f"{len(deep)} not-ready agents whose first call is in the back half of the line")
    if not deep:
        print("no agent qualifies deep in the line: change --seed")
        return 1

    prof = cProfile.Profile() if args.profile else None
    if prof:
        prof.enable()
    gc.collect()
    arrival, candidates = time_arrivals(centre, args.samples)
    gc.collect()
    ready, depth = time_ready(centre, deep, args.samples)
    if prof:
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(20)
        print(s.getvalue())
    assert len(centre.router.waiting()) == line  # the undo kept the line as it was

    p99s = {"arrival": report("arrival (enqueue -> decision)", arrival,
                              f"{candidates:.1f} candidates on average"),
            "ready": report("ready (agent ready -> decision)", ready,
                            f"call at line position {depth:.0f} of {line} on average")}
    worst = max(p99s.values())
    print(f"goal p99 < {GOAL_P99_MS} ms: {'met' if worst < GOAL_P99_MS else 'MISSED'}")
    print(f"acd_decision_p99: {worst:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
