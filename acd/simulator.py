"""A discrete-event simulation of a call centre that drives the real ACD router.

Why: Erlang C (acd/erlang.py) is the planner's model; the router
(acd/router.Router) is the code that really picks agents.  Running the real
router on virtual time, with random callers and agents, checks that the router
behaves like the queue the planners believe in (M/M/c: same waiting
probability, speed of answer and service level), and answers what-if
questions Erlang cannot (abandonment, skills, priorities, wrap-up, overflow).

The model:

- Callers arrive as Poisson streams (`CallerStream.rate` calls per second),
  each to one queue with the skills it needs, its own handling-time
  distribution (exponential by default) and, optionally, a patience: a caller
  whose patience runs out before an agent answers hangs up
  (`Router.abandon`).
- Agents (`SimAgent`) log in with their skills at time 0 and go ready; they
  never take breaks.
- Every router decision is answered by the chosen agent `ring_time` seconds
  later (`Router.answered`); the call then lasts its handling time
  (`Router.call_ended`); wrap-up (0 s by default) and overflow timers run
  through `Router.tick` at `Router.next_deadline()`.
- Virtual time in seconds, an event list on a heap; one seeded
  `random.Random` draws everything in a fixed order, so a seed gives the same
  report every time.

Statistics skip calls that arrive during the warm-up period (the centre
starts empty, which is not its steady state) and, after the last measured
call arrived, more callers keep arriving until every measured call is
settled, so the last measured calls wait behind the same traffic as the
others.  Figures (all over the measured "offered" calls):

- P(wait): share of calls not offered to an agent the moment they arrived.
- ASA: mean time from arrival to answer over answered calls, zeros included.
- SL(t): calls answered within t seconds over ALL offered calls (Erlang's
  P(wait <= t)); abandoned calls count as missed even if they hung up within
  t.  Without abandonment this is exactly Erlang's service level.
- Abandon rate: abandoned calls over offered calls.
- Occupancy: busy agent-seconds (phone ringing, talking, wrap-up: from the
  router's decision until the agent is READY again) over staffed agent-seconds
  (every agent, all the time), from the first to the last measured arrival.
  The simulator counts it from its own events rather than through the
  router's on_agent listener, which hands out a copy of the agent per change
  and would cost a third of the speed; a test checks both agree.
- Standard errors by batch means: the measured calls are cut into `batches`
  equal batches in arrival order; the spread of the batch figures gives the
  standard error of each figure even though successive waits are strongly
  correlated (a test derives its tolerance from it).
- Control-variate estimates (`SimulationReport.controlled`): the same three
  figures corrected for each batch's luck in the drawn inter-arrival and
  handling times, whose means are known; same expectation, much smaller
  standard errors (see `ControlledFigures`).

The wait of a call is the time from its arrival to the agent's answer (ring
time included); "waited" for P(wait) means it was not offered to an agent on
arrival.  Patience counts the same way: a caller whose phone is still ringing
at an agent when patience runs out hangs up, and the agent is free again.
Every agent answers every offer (no ring-no-answer).
"""
from __future__ import annotations

import bisect
import dataclasses
import heapq
import itertools
import math
import random
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from acd.model import Decision, OverflowAction, QueueConfig, WaitingCall
from acd.router import Router

__all__ = ["CallerStream", "SimAgent", "Scenario", "SimulationReport", "ControlledFigures",
           "simulate"]

Sampler = Callable[[random.Random], float]

_END, _ABANDON, _ANSWER, _TICK, _FREE = 0, 1, 2, 3, 4
_INF = math.inf


@dataclass(frozen=True)
class CallerStream:
    """One kind of caller: who calls which queue how often, for how long, how patiently."""
    queue: str
    rate: float  # Poisson arrivals, calls per second
    handling: float | Sampler = 180.0  # mean of an exponential handling time, or a sampler
    patience: float | Sampler | None = None  # mean of an exponential patience; None: waits forever
    skills: tuple[str, ...] | None = None  # required skills; None: the queue's skills
    priority: int = 0  # the call's own priority (added to the queue's)


@dataclass(frozen=True)
class SimAgent:
    """An agent of the simulated centre: logged in and ready from time 0."""
    agent_id: str
    skills: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """The centre to simulate: its queues, callers and agents.

    `wrap_up` replaces every queue's wrap-up time (0 by default, as in Erlang
    C); None keeps each queue's own `QueueConfig.wrap_up`.
    """
    queues: tuple[QueueConfig, ...]
    streams: tuple[CallerStream, ...]
    agents: tuple[SimAgent, ...]
    ring_time: float = 0.0
    wrap_up: float | None = 0.0

    @classmethod
    def mmc(cls, agents: int, arrival_rate: float, aht: float, *,
            patience: float | None = None, queue: str = "erlang") -> Scenario:
        """Erlang C's M/M/c centre: one queue, one Poisson stream, `agents` equal agents."""
        if isinstance(agents, bool) or not isinstance(agents, int) or agents < 1:
            raise ValueError(f"agents must be a whole number >= 1, not {agents!r}")
        return cls(queues=(QueueConfig(name=queue),),
                   streams=(CallerStream(queue=queue, rate=arrival_rate, handling=aht,
                                         patience=patience),),
                   agents=tuple(SimAgent(f"agent{n:04d}") for n in range(1, agents + 1)))

    def __post_init__(self) -> None:
        object.__setattr__(self, "queues", tuple(self.queues))
        object.__setattr__(self, "streams", tuple(self.streams))
        object.__setattr__(self, "agents", tuple(self.agents))
        _check_scenario(self)

    def queue_configs(self) -> list[QueueConfig]:
        """The queues as the router gets them (with the scenario's wrap-up applied)."""
        if self.wrap_up is None:
            return list(self.queues)
        return [dataclasses.replace(q, wrap_up=self.wrap_up) for q in self.queues]


@dataclass(frozen=True)
class ControlledFigures:
    """P(wait), ASA and SL corrected with control variates, and their standard errors.

    Why: a batch whose callers happened to arrive faster, or to talk longer,
    than the scenario says waits longer for that reason alone.  The drawn
    inter-arrival and handling times have known means, so their batch averages
    (`controls`) are regressed out of the batch figures (Lavenberg & Welch,
    linear control variates over batch means).  Same expectation as the raw
    figures, smaller standard errors: at 91% occupancy P(wait) and SL need ~6x
    fewer calls for the same precision, ASA ~2x.  "handling" is left out when a
    stream draws its handling times from a sampler of unknown mean.
    """
    wait_probability: float
    wait_probability_se: float
    asa: float
    asa_se: float
    service_level: float
    service_level_se: float
    controls: tuple[str, ...]


@dataclass(frozen=True)
class SimulationReport:
    """What the simulated centre did with the measured calls (see the module docstring)."""
    calls: int  # offered (measured) calls
    answered: int
    abandoned: int
    overflowed: int  # left the line by a voicemail or callback overflow
    queued: int  # not offered to an agent on arrival
    wait_probability: float
    asa: float  # seconds
    service_level: float
    sl_seconds: float
    abandon_rate: float
    occupancy: float
    wait_probability_se: float  # batch-means standard errors
    asa_se: float
    service_level_se: float
    batches: int
    measured_from: float  # virtual time of the first measured arrival
    measured_seconds: float  # virtual time from the first to the last measured arrival
    handled: dict[tuple[str, str], int]  # (queue, agent_id) -> measured calls answered
    simulated_calls: int  # every arrival, warm-up and cool-down included
    cpu_seconds: float
    controlled: ControlledFigures | None = None  # control-variate estimates

    @property
    def calls_per_second(self) -> float:
        """Simulation speed: simulated calls per CPU second."""
        return self.simulated_calls / self.cpu_seconds if self.cpu_seconds > 0 else math.inf


def simulate(scenario: Scenario, calls: int, *, warm_up: float = 0.0, seed: int = 0,
             sl_seconds: float = 20.0, batches: int = 30) -> SimulationReport:
    """Run `scenario` until `calls` calls arrived after `warm_up` seconds and all were settled."""
    _check_run(calls, warm_up, seed, sl_seconds, batches)
    run = _Run(scenario, calls, warm_up, seed, sl_seconds, batches)
    started = time.process_time()
    run.run()
    return run.report(time.process_time() - started)


# -- validation ---------------------------------------------------------------------------

def _positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, not {value!r}")


def _not_negative(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")


def _check_stream(index: int, stream: CallerStream, queues: Mapping[str, QueueConfig],
                  agents: Sequence[SimAgent]) -> None:
    name = f"streams[{index}]"
    if stream.queue not in queues:
        raise ValueError(f"{name}.queue: unknown queue {stream.queue!r}")
    _positive(f"{name}.rate", stream.rate)
    if isinstance(stream.skills, str):
        raise ValueError(f"{name}.skills: a list of skill names, not the string {stream.skills!r}")
    if not callable(stream.handling):
        _positive(f"{name}.handling", stream.handling)
    if stream.patience is not None and not callable(stream.patience):
        _positive(f"{name}.patience", stream.patience)
    skills = _stream_skills(stream, queues)
    served = any(all(s in agent.skills for s in skills) for agent in agents)
    if not served and stream.patience is None and queues[stream.queue].max_wait is None:
        raise ValueError(f"{name}: no agent has the skills {list(skills)} and the callers never "
                         f"give up or overflow: they would wait forever")


def _check_scenario(scenario: Scenario) -> None:
    if not scenario.queues or not scenario.streams or not scenario.agents:
        raise ValueError("a scenario needs at least one queue, one caller stream and one agent")
    queues = {q.name: q for q in scenario.queues}
    if len(queues) != len(scenario.queues):
        raise ValueError("queue names must be unique")
    ids = [a.agent_id for a in scenario.agents]
    if len(set(ids)) != len(ids):
        raise ValueError("agent ids must be unique")
    _not_negative("ring_time", scenario.ring_time)
    if scenario.wrap_up is not None:
        _not_negative("wrap_up", scenario.wrap_up)
    for index, stream in enumerate(scenario.streams):
        _check_stream(index, stream, queues, scenario.agents)


def _check_run(calls: int, warm_up: float, seed: int, sl_seconds: float, batches: int) -> None:
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 2:
        raise ValueError(f"batches must be a whole number >= 2, not {batches!r}")
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < batches:
        raise ValueError(f"calls must be a whole number >= batches ({batches}), not {calls!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, not {seed!r}")
    _not_negative("warm_up", warm_up)
    _not_negative("sl_seconds", sl_seconds)


def _stream_skills(stream: CallerStream, queues: Mapping[str, QueueConfig]) -> tuple[str, ...]:
    return tuple(stream.skills) if stream.skills is not None else queues[stream.queue].skills


# -- the run ------------------------------------------------------------------------------

def _drawn(name: str, value: float) -> float:
    """A sampler's draw, refused when it would send the clock backwards."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < math.inf:
        raise ValueError(f"the {name} sampler returned {value!r}; expected seconds >= 0")
    return float(value)


class _Caller:
    """The simulator's side of one call: what the router does not need to know."""
    __slots__ = ("call_id", "arrived", "handling", "batch", "decided", "answered", "agent_id",
                 "queue", "callback")

    def __init__(self, call_id: str, arrived: float, handling: float, batch: int) -> None:
        self.call_id = call_id
        self.arrived = arrived
        self.handling = handling
        self.batch = batch  # batch of a measured call, -1 for warm-up and cool-down calls
        self.decided = -1.0  # when an agent was first chosen
        self.answered = False
        self.agent_id = ""
        self.queue = ""
        self.callback = False  # turned into a callback by overflow: the caller has hung up


class _Batches:
    """Per-batch tallies of the measured calls, for the figures and their standard errors."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.offered = [0] * count
        self.immediate = [0] * count  # offered to an agent the moment they arrived
        self.answered = [0] * count
        self.wait_sum = [0.0] * count
        self.within = [0] * count  # answered within sl_seconds
        self.abandoned = [0] * count
        self.overflowed = [0] * count
        # control variates: sums of (drawn - expected) over the batch's calls
        self.handling_excess = [0.0] * count  # handling time minus its stream's mean
        self.gap_excess = [0.0] * count  # time since the previous arrival minus 1 / rate

    def figures(self, b: int) -> tuple[float, float, float]:
        """P(wait), ASA and SL of batch b."""
        offered = self.offered[b]
        asa = self.wait_sum[b] / self.answered[b] if self.answered[b] else math.nan
        return 1 - self.immediate[b] / offered, asa, self.within[b] / offered

    def standard_errors(self) -> tuple[float, float, float]:
        rows = [self.figures(b) for b in range(self.count)]
        return tuple(_standard_error([row[i] for row in rows]) for i in range(3))  # type: ignore

    def controlled(self, with_handling: bool) -> ControlledFigures | None:
        """The figures corrected by the batches' luck in arrivals and handling times."""
        names = ("handling", "interarrival") if with_handling else ("interarrival",)
        sums = (self.handling_excess, self.gap_excess) if with_handling else (self.gap_excess,)
        controls = [[total[b] / self.offered[b] for total in sums] for b in range(self.count)]
        rows = [self.figures(b) for b in range(self.count)]
        estimates = [_control_variate([row[i] for row in rows], controls) for i in range(3)]
        if any(e is None for e in estimates):
            return None
        (wait, wait_se), (asa, asa_se), (sl, sl_se) = estimates  # type: ignore[misc]
        return ControlledFigures(wait_probability=wait, wait_probability_se=wait_se, asa=asa,
                                 asa_se=asa_se, service_level=sl, service_level_se=sl_se,
                                 controls=names)


def _standard_error(values: list[float]) -> float:
    if any(math.isnan(v) for v in values):
        return math.nan
    return statistics.stdev(values) / math.sqrt(len(values))


def _control_variate(values: list[float], controls: list[list[float]]
                     ) -> tuple[float, float] | None:
    """Lavenberg-Welch control-variate estimate over batch means, and its standard error.

    `values` are the batch figures Y_b, `controls` the batch means X_b of
    variables whose expectation is known to be 0.  Regressing Y on X over the
    batches, the estimate is Ybar - beta . Xbar (Y corrected for the batches'
    luck in X) and its variance s2 (1/B + Xbar' Sxx^-1 Xbar) with s2 the
    residual variance on B - q - 1 degrees of freedom.  None when there are too
    few batches or the controls do not vary.
    """
    count, q = len(values), len(controls[0])
    if count <= q + 2 or any(math.isnan(v) for v in values):
        return None if count <= q + 2 else (math.nan, math.nan)
    y_mean = math.fsum(values) / count
    x_mean = [math.fsum(row[j] for row in controls) / count for j in range(q)]
    dx = [[row[j] - x_mean[j] for j in range(q)] for row in controls]
    dy = [v - y_mean for v in values]
    sxx = [[math.fsum(r[i] * r[j] for r in dx) for j in range(q)] for i in range(q)]
    sxy = [math.fsum(r[i] * d for r, d in zip(dx, dy)) for i in range(q)]
    beta = _solve(sxx, sxy)
    shift = _solve(sxx, x_mean)
    if beta is None or shift is None:
        return None
    residual = math.fsum((d - sum(b * x for b, x in zip(beta, r))) ** 2 for r, d in zip(dx, dy))
    s2 = residual / (count - q - 1)
    variance = s2 * (1 / count + sum(x * z for x, z in zip(x_mean, shift)))
    return y_mean - sum(b * x for b, x in zip(beta, x_mean)), math.sqrt(variance)


def _solve(matrix: list[list[float]], right: list[float]) -> list[float] | None:
    """Gauss-Jordan with partial pivoting for the tiny normal equations; None if singular."""
    size = len(right)
    rows = [list(matrix[i]) + [right[i]] for i in range(size)]
    scale = max((abs(v) for row in matrix for v in row), default=0.0)
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(rows[r][col]))
        if abs(rows[pivot][col]) <= 1e-12 * scale or scale == 0.0:
            return None
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(size):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    return [rows[i][size] / rows[i][i] for i in range(size)]


class _StreamPlan:
    """A caller stream prepared for the hot loop (rates instead of means)."""
    __slots__ = ("queue", "skills", "priority", "handling_rate", "handling_draw",
                 "handling_mean", "patience_rate", "patience_draw")

    def __init__(self, stream: CallerStream, queues: Mapping[str, QueueConfig]) -> None:
        self.queue = stream.queue
        self.skills = _stream_skills(stream, queues)
        self.priority = stream.priority
        self.handling_draw = stream.handling if callable(stream.handling) else None
        self.handling_rate = 0.0 if callable(stream.handling) else 1.0 / stream.handling
        self.handling_mean = 0.0 if callable(stream.handling) else float(stream.handling)
        patience = stream.patience
        self.patience_draw = patience if callable(patience) else None
        self.patience_rate = 1.0 / patience if patience is not None and not callable(patience) \
            else 0.0


class _Run:
    """One simulation: the event list, the router and the tallies."""

    def __init__(self, scenario: Scenario, calls: int, warm_up: float, seed: int,
                 sl_seconds: float, batches: int) -> None:
        self.scenario = scenario
        self.calls = calls
        self.warm_up = float(warm_up)
        self.sl_seconds = float(sl_seconds)
        self.rng = random.Random(seed)
        queues = scenario.queue_configs()
        self.router = Router(queues)
        self.wrap_up = {q.name: q.wrap_up for q in queues}
        self.needs_ticks = any(q.wrap_up > 0 or q.max_wait is not None for q in queues)
        by_name = {q.name: q for q in queues}
        self.plans = [_StreamPlan(s, by_name) for s in scenario.streams]
        total = sum(s.rate for s in scenario.streams)
        self.arrival_rate = total
        self.mean_gap = 1.0 / total
        self.last_arrival = 0.0
        self.cumulative = list(itertools.accumulate(s.rate / total for s in scenario.streams))
        self.cumulative[-1] = _INF  # rounding must not leave a gap below 1.0
        self.events: list[tuple] = []
        self.sequence = itertools.count()
        self.now = 0.0
        self.tick_at = _INF
        self.last_tick, self.ticks_now = -1.0, 0  # a guard against endless ticks at one time
        self.callers: dict[str, _Caller] = {}
        self.batches = _Batches(batches)
        self.handled: dict[tuple[str, str], int] = {}
        self.arrivals = 0  # every arrival
        self.measured = 0  # arrivals after the warm-up, up to `calls`
        self.unsettled = 0  # measured calls not yet answered, abandoned or overflowed out
        self.arrival_limit = _INF  # set when the last measured call arrives (cool-down bound)
        # Busy agent-seconds up to time t = busy_clock + busy * t: busy_clock sums the
        # end times of busy spells minus their start times (two additions per spell).
        self.busy = 0  # agents ringing, talking or in wrap-up
        self.busy_clock = 0.0
        self.window: list[tuple[float, float]] = []  # (time, busy_area) at first/last measured
        self._staff()

    # -- agents --------------------------------------------------------------------------

    def _staff(self) -> None:
        """Log every agent in and make them ready at time 0, before any caller."""
        for number, agent in enumerate(self.scenario.agents):
            self.router.login(agent.agent_id, f"SIM/{number + 1}", dict(agent.skills), 0.0)
            self.router.ready(agent.agent_id, 0.0)

    def _busy_until(self, now: float) -> None:
        """An agent's busy spell ends (occupancy)."""
        self.busy_clock += now
        self.busy -= 1

    def _mark_window(self) -> None:
        now = self.now
        self.window.append((now, self.busy_clock + self.busy * now))

    # -- the event loop ------------------------------------------------------------------

    def run(self) -> None:
        """Process arrivals and events in time order until every measured call is settled.

        Arrivals are not on the heap: the merged Poisson stream has one next
        arrival at a time, compared with the heap's head; this halves the heap work.
        """
        events, pop = self.events, heapq.heappop
        expovariate, total_rate = self.rng.expovariate, self.arrival_rate
        next_arrival = expovariate(total_rate)
        while self.unsettled or self.measured < self.calls:
            if events and events[0][0] < next_arrival:
                when, _, kind, caller = pop(events)
                self.now = when
                if kind == _END:
                    self._call_ended(caller)
                elif kind == _ABANDON:
                    self._patience_over(caller)
                elif kind == _ANSWER:
                    self._ring_over(caller)
                elif kind == _TICK:
                    self._tick()
                else:
                    self._busy_until(when)  # wrap-up over (the router's tick frees them)
            else:
                self.now = next_arrival
                self._arrive()
                next_arrival += expovariate(total_rate)

    def _push(self, when: float, kind: int, caller: _Caller | None) -> None:
        heapq.heappush(self.events, (when, next(self.sequence), kind, caller))

    def _arrive(self) -> None:
        """A caller enters the ACD: draw who they are, hand them to the router."""
        now, rng = self.now, self.rng
        plans = self.plans
        plan = plans[0] if len(plans) == 1 else plans[bisect.bisect(self.cumulative, rng.random())]
        handling = rng.expovariate(plan.handling_rate) if plan.handling_draw is None \
            else _drawn("handling", plan.handling_draw(rng))
        patience = None
        if plan.patience_rate:
            patience = rng.expovariate(plan.patience_rate)
        elif plan.patience_draw is not None:
            patience = _drawn("patience", plan.patience_draw(rng))
        self.arrivals += 1
        if self.arrivals > self.arrival_limit:
            self._stuck()
        batch = -1 if now < self.warm_up or self.measured >= self.calls \
            else self._measure(now, handling - plan.handling_mean)
        self.last_arrival = now
        call_id = str(self.arrivals)
        caller = _Caller(call_id, now, handling, batch)
        self.callers[call_id] = caller
        if patience is not None:
            self._push(now + patience, _ABANDON, caller)
        decisions = self.router.enqueue(
            WaitingCall(call_id=call_id, queue=plan.queue, skills=plan.skills, arrived_at=now,
                        queued_at=now, priority=plan.priority), now)
        if decisions:
            self._dispatch(decisions)
        if self.needs_ticks:
            self._schedule_tick()

    def _measure(self, now: float, handling_excess: float) -> int:
        """Count a call arriving in the measured period; its batch."""
        index = self.measured
        self.measured += 1
        self.unsettled += 1
        if index == 0 or self.measured == self.calls:
            self._mark_window()
        if self.measured == self.calls:
            # Draining even a 10x overload takes fewer arrivals than the backlog, which is
            # fewer than the arrivals so far: more means some calls are never taken.
            self.arrival_limit = 11 * self.arrivals + 10_000
        batches = self.batches
        batch = index * batches.count // self.calls
        batches.offered[batch] += 1
        batches.handling_excess[batch] += handling_excess
        batches.gap_excess[batch] += now - self.last_arrival - self.mean_gap
        return batch

    def _stuck(self) -> None:
        """Measured calls that no agent ever takes would keep the simulation running."""
        raise RuntimeError(
            f"{self.unsettled} measured calls are still waiting after {self.arrivals:,} arrivals: "
            f"no agent can take them (skills, overflow) or lower-priority calls starve in an "
            f"overloaded centre")

    def _dispatch(self, decisions: Iterable[Decision]) -> None:
        """Each chosen agent answers after the ring time."""
        callers, ring_time = self.callers, self.scenario.ring_time
        for decision in decisions:
            caller = callers[decision.call_id]
            if caller.decided < 0:
                caller.decided = self.now
                if self.now == caller.arrived and caller.batch >= 0:
                    self.batches.immediate[caller.batch] += 1
            self.busy_clock -= self.now  # a busy spell starts
            self.busy += 1
            caller.agent_id = decision.agent_id
            caller.queue = decision.queue
            if ring_time:
                self._push(self.now + ring_time, _ANSWER, caller)
            else:
                self._answer(caller)

    def _ring_over(self, caller: _Caller) -> None:
        """The agent picks up, unless the caller hung up while it rang."""
        if self.callers.get(caller.call_id) is caller and not caller.answered:
            self._answer(caller)

    def _answer(self, caller: _Caller) -> None:
        """The agent picks up: the call leaves the line and talks for its handling time."""
        now = self.now
        self.router.answered(caller.call_id, now)
        caller.answered = True
        heapq.heappush(self.events, (now + caller.handling, next(self.sequence), _END, caller))
        b = caller.batch
        if b >= 0 and not caller.callback:
            self._count_answer(caller, b, now - caller.arrived)

    def _count_answer(self, caller: _Caller, b: int, wait: float) -> None:
        batches = self.batches
        batches.answered[b] += 1
        batches.wait_sum[b] += wait
        if wait <= self.sl_seconds:
            batches.within[b] += 1
        key = (caller.queue, caller.agent_id)
        self.handled[key] = self.handled.get(key, 0) + 1
        self.unsettled -= 1

    def _call_ended(self, caller: _Caller) -> None:
        """The caller hangs up; the agent wraps up, or takes the next call at once."""
        del self.callers[caller.call_id]
        wrap_up = self.wrap_up[caller.queue]
        if wrap_up > 0:
            self._push(self.now + wrap_up, _FREE, None)
        else:
            self._busy_until(self.now)
        decisions = self.router.call_ended(caller.agent_id, self.now)
        if decisions:
            self._dispatch(decisions)
        if self.needs_ticks:
            self._schedule_tick()

    def _patience_over(self, caller: _Caller) -> None:
        """The caller hangs up if no agent has answered yet (ringing counts as waiting)."""
        if caller.answered or caller.callback or self.callers.get(caller.call_id) is not caller:
            return
        gone, decisions = self.router.abandon(caller.call_id, self.now)
        if gone is None:
            raise RuntimeError(f"router.abandon({caller.call_id!r}) did not know a waiting call")
        del self.callers[caller.call_id]
        if caller.decided >= 0:  # the agent's phone was ringing: they are free again
            self._busy_until(self.now)
        if caller.batch >= 0:
            self.batches.abandoned[caller.batch] += 1
            self.unsettled -= 1
        if decisions:
            self._dispatch(decisions)
        if self.needs_ticks:
            self._schedule_tick()

    # -- timers (wrap-up, overflow) ----------------------------------------------------------

    def _schedule_tick(self) -> None:
        deadline = self.router.next_deadline()
        if deadline is not None and deadline < self.tick_at:
            self.tick_at = max(deadline, self.now)
            self._push(self.tick_at, _TICK, None)

    def _tick(self) -> None:
        """Wrap-ups end and calls overflow at the router's deadlines."""
        now = self.now
        if now >= self.tick_at:
            self.tick_at = _INF
        self.ticks_now = self.ticks_now + 1 if now == self.last_tick else 0
        self.last_tick = now
        if self.ticks_now > 1000:  # e.g. queues overflowing into each other with max_wait 0
            raise RuntimeError(f"router.tick({now}) keeps finding work at the same time")
        decisions, overflows = self.router.tick(now)
        if decisions:
            self._dispatch(decisions)
        for action in overflows:
            self._overflowed(action)
        self._schedule_tick()

    def _overflowed(self, action: OverflowAction) -> None:
        """Voicemail and callback overflows settle the call; queue and relax keep it waiting."""
        kind = action.overflow.action
        if kind not in ("voicemail", "callback"):
            return
        caller = self.callers[action.call.call_id]
        if kind == "voicemail":
            del self.callers[caller.call_id]
        elif action.call.offered_to is not None:
            return  # an agent freed in the same tick took the call before it became a callback
        else:
            caller.callback = True
            decisions = self.router.to_callback(caller.call_id, "+15550100", self.now)
            if decisions:
                self._dispatch(decisions)
        if caller.batch >= 0:
            self.batches.overflowed[caller.batch] += 1
            self.unsettled -= 1

    # -- the report ------------------------------------------------------------------------

    def report(self, cpu_seconds: float) -> SimulationReport:
        b = self.batches
        offered, answered = sum(b.offered), sum(b.answered)
        (start, area_start), (end, area_end) = self.window[0], self.window[-1]
        staffed = len(self.scenario.agents) * (end - start)
        se_wait, se_asa, se_sl = b.standard_errors()
        return SimulationReport(
            calls=offered, answered=answered, abandoned=sum(b.abandoned),
            overflowed=sum(b.overflowed), queued=offered - sum(b.immediate),
            wait_probability=1 - sum(b.immediate) / offered,
            asa=sum(b.wait_sum) / answered if answered else math.nan,
            service_level=sum(b.within) / offered, sl_seconds=self.sl_seconds,
            abandon_rate=sum(b.abandoned) / offered,
            occupancy=(area_end - area_start) / staffed if staffed > 0 else math.nan,
            wait_probability_se=se_wait, asa_se=se_asa, service_level_se=se_sl,
            batches=b.count, measured_from=start, measured_seconds=end - start,
            handled=dict(self.handled), simulated_calls=self.arrivals, cpu_seconds=cpu_seconds,
            controlled=b.controlled(all(p.handling_draw is None for p in self.plans)))
