"""The discrete-event simulator drives the real router: it must reproduce Erlang C on
an M/M/c centre (the issue's check), and model abandonment, skills, ring time,
wrap-up and overflow, deterministically for a seed.

The Erlang C comparison derives its tolerance from the sample: each figure's
batch-means standard error (SE) must be small enough that 4 SE fits in the
tolerance, and the simulated figure must lie within 4 SE of Erlang's.  With
fixed seeds the outcome is reproducible; at 4 SE it is no matter of luck (a
correct router fails one of the 15 checks with probability ~1e-3 per seed).

The figures checked against the tolerance are the simulator's control-variate
estimates (`SimulationReport.controlled`: the batch figures corrected for the
batches' luck in inter-arrival and handling times, whose means are known;
same expectation, smaller SE).  The raw figures are checked too, within 4 of
their own SE.  Each staffing level runs as two independent replications of
half the calls (one per worker process), pooled.

Sample sizes.  The variance of an estimate falls like s2 / N; pilot runs
(2-4 seeds x 1,000,000 calls per level, then the runs below) gave these s2:

    agents                    11       12       13       14       15
    raw  P(wait), SL (max)    26       14      7.6      4.6      2.4
    c.v. P(wait), SL (max)   3.2      4.2      3.8      2.3      1.4
    raw  ASA s2 / ASA^2      900      480      445      525      660
    c.v. ASA s2 / ASA^2  380-670  150-310  170-420  260-500  430-650

The issue's tolerances at 4 SE (0.01 absolute, 5% of ASA) need
N >= 160,000 s2 and N >= 6,400 s2 / ASA^2.  With raw figures that is ~20M
calls for ASA and 8.4M for P(wait) and SL (4.1M at 11 agents alone: rho = 0.91,
waits correlated over hundreds of calls); with control variates ~15M (with a
margin for the spread of s2) and 2.4M.  The simulator does 45-60k calls per CPU
second, two thirds of that time inside the router, so the issue's 5% on ASA
costs about 3 minutes on two cores.

By default (and in CI) the test runs 16.8M calls (about 3 minutes on two
cores) and holds every figure to the issue's tolerances (4 SE came to
3.9-4.5% of ASA).  ACD_SIM_QUICK=1 runs 6.7M calls (about 70 s): P(wait) and SL
still to 0.01, ASA to 8% only.
"""
from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

import acd.router
import acd.simulator
from acd.erlang import erlang_c
from acd.model import AcdError, AgentState, Overflow, QueueConfig
from acd.simulator import CallerStream, Scenario, SimAgent, SimulationReport, simulate

AHT = 180.0
ARRIVAL_RATE = 100 / 1800  # 100 calls per 30 minutes: A = 10 Erlangs
TRAFFIC = ARRIVAL_RATE * AHT
SL_SECONDS = 20.0
WARM_UP = 5000 / ARRIVAL_RATE  # 5,000 calls: >10 relaxation times even at 11 agents
# The tolerances are the default (what CI runs); ACD_SIM_QUICK=1 is for a quick
# local run with ASA held to 8% only.
FULL = os.environ.get("ACD_SIM_QUICK", "") in ("", "0")

PROBABILITY_TOLERANCE = 0.01  # absolute, P(wait) and SL (the issue's)
ASA_TOLERANCE = 0.05 if FULL else 0.08  # relative (the is 5%)
CALLS_DEFAULT = {11: 1_600_000, 12: 1_000_000, 13: 1_000_000, 14: 1_300_000, 15: 1_800_000}
CALLS_FULL = {11: 5_000_000, 12: 2_400_000, 13: 2_400_000, 14: 3_000_000, 15: 4_000_000}
CALLS = CALLS_FULL if FULL else CALLS_DEFAULT
REPLICATIONS = 2
SEED = 20260500


def erlang_run(agents: int, replication: int) -> SimulationReport:
    """One replication of one staffing level of the issue's centre (in a worker process)."""
    return simulate(Scenario.mmc(agents, ARRIVAL_RATE, AHT), CALLS[agents] // REPLICATIONS,
                    warm_up=WARM_UP, seed=SEED + 100 * agents + replication,
                    sl_seconds=SL_SECONDS)


@pytest.fixture(scope="module")
def erlang_reports() -> dict[int, list[SimulationReport]]:
    """Every replication of every staffing level on two worker processes."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = {(agents, n): pool.submit(erlang_run, agents, n)
                   for agents in CALLS for n in range(REPLICATIONS)}
        reports: dict[int, list[SimulationReport]] = {agents: [] for agents in CALLS}
        for (agents, _), future in futures.items():
            reports[agents].append(future.result())
        return reports


def pooled(estimates: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean of equal-sized independent replications, and its standard error."""
    count = len(estimates)
    return (math.fsum(v for v, _ in estimates) / count,
            math.sqrt(math.fsum(se * se for _, se in estimates)) / count)


def check(name: str, estimate: tuple[float, float], expected: float,
          tolerance: float | None) -> None:
    """The sample is big enough (4 SE within the tolerance) and the figure agrees (4 SE)."""
    value, se = estimate
    if tolerance is not None:
        assert 4 * se <= tolerance, (f"{name}: sample too small, 4 SE = {4 * se:.4g} > "
                                     f"tolerance {tolerance:.4g}")
    assert abs(value - expected) <= 4 * se, (
        f"{name}: simulated {value:.5g} vs Erlang C {expected:.5g}: "
        f"{abs(value - expected) / se:.1f} SE apart (SE {se:.3g})")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("agents", sorted(CALLS))
def test_the_simulated_router_reproduces_erlang_c(agents, erlang_reports):
    reports = erlang_reports[agents]
    erlang = erlang_c(agents, TRAFFIC, AHT, SL_SECONDS)
    assert sum(r.calls for r in reports) == sum(r.answered for r in reports) == CALLS[agents]
    assert all(r.abandoned == r.overflowed == 0 for r in reports)
    controlled = [r.controlled for r in reports]
    assert all(c is not None and c.controls == ("handling", "interarrival") for c in controlled)

    check("P(wait)", pooled([(c.wait_probability, c.wait_probability_se) for c in controlled]),
          erlang.wait_probability, PROBABILITY_TOLERANCE)
    check("SL(20s)", pooled([(c.service_level, c.service_level_se) for c in controlled]),
          erlang.service_level, PROBABILITY_TOLERANCE)
    check("ASA", pooled([(c.asa, c.asa_se) for c in controlled]), erlang.asa,
          ASA_TOLERANCE * erlang.asa)
    # the uncorrected figures agree too, within their own (wider) 4 SE
    check("raw P(wait)", pooled([(r.wait_probability, r.wait_probability_se) for r in reports]),
          erlang.wait_probability, None)
    check("raw SL(20s)", pooled([(r.service_level, r.service_level_se) for r in reports]),
          erlang.service_level, None)
    check("raw ASA", pooled([(r.asa, r.asa_se) for r in reports]), erlang.asa, None)
    occupancy = math.fsum(r.occupancy for r in reports) / len(reports)
    assert occupancy == pytest.approx(erlang.occupancy, abs=0.005)


# -- behaviour on small samples --------------------------------------------------------

def small(scenario: Scenario, calls: int = 20_000, seed: int = 7, **options) -> SimulationReport:
    return simulate(scenario, calls, warm_up=options.pop("warm_up", 20_000.0), seed=seed,
                    **options)


def test_impatient_callers_abandon_and_spare_the_others_a_wait():
    patient = small(Scenario.mmc(11, ARRIVAL_RATE, AHT))
    impatient = small(Scenario.mmc(11, ARRIVAL_RATE, AHT, patience=60.0))
    assert patient.abandoned == 0 and patient.abandon_rate == 0.0
    assert impatient.abandoned > 0
    assert impatient.abandon_rate == impatient.abandoned / impatient.calls
    assert impatient.answered + impatient.abandoned == impatient.calls
    assert impatient.wait_probability < patient.wait_probability
    assert impatient.asa < patient.asa
    assert impatient.occupancy < patient.occupancy  # abandoned calls are not handled


def test_calls_needing_a_skill_go_only_to_agents_holding_it():
    scenario = Scenario(
        queues=(QueueConfig("sales", skills=("sales",)),
                QueueConfig("support", skills=("support",))),
        streams=(CallerStream("sales", rate=1 / 60, handling=120.0),
                 CallerStream("support", rate=1 / 60, handling=120.0),
                 CallerStream("support", rate=1 / 300, handling=120.0,
                              skills=("support", "french"))),
        agents=(SimAgent("sam", {"sales": 5}), SimAgent("sue", {"sales": 7}),
                SimAgent("tom", {"support": 5}), SimAgent("tina", {"support": 5}),
                SimAgent("bea", {"sales": 3, "support": 3}),
                SimAgent("fred", {"support": 4, "french": 6})))
    report = small(scenario, calls=10_000)
    assert report.answered == report.calls
    assert sum(report.handled.values()) == report.answered
    takers = {queue: {agent for (q, agent) in report.handled if q == queue}
              for queue in ("sales", "support")}
    assert takers["sales"] == {"sam", "sue", "bea"}
    assert takers["support"] == {"tom", "tina", "bea", "fred"}


def test_french_support_calls_wait_for_the_french_speaker():
    scenario = Scenario(
        queues=(QueueConfig("support", skills=("support",)),),
        streams=(CallerStream("support", rate=1 / 600, handling=60.0,
                              skills=("support", "french")),),
        agents=(SimAgent("tom", {"support": 9}), SimAgent("fred", {"support": 4, "french": 6})))
    report = small(scenario, calls=2_000)
    assert set(report.handled) == {("support", "fred")}


def test_same_seed_same_report_other_seed_other_report():
    scenario = Scenario.mmc(12, ARRIVAL_RATE, AHT, patience=120.0)
    first, again = small(scenario, seed=3), small(scenario, seed=3)
    other = small(scenario, seed=4)
    assert dataclasses.replace(first, cpu_seconds=0) == dataclasses.replace(again, cpu_seconds=0)
    assert (other.asa, other.abandoned) != (first.asa, first.abandoned)


def test_occupancy_counts_ring_time_and_wrap_up():
    plain = small(Scenario.mmc(15, ARRIVAL_RATE, AHT))
    busy = small(dataclasses.replace(Scenario.mmc(15, ARRIVAL_RATE, AHT), ring_time=5.0,
                                     wrap_up=15.0))
    assert plain.occupancy == pytest.approx(TRAFFIC / 15, abs=0.02)
    assert busy.occupancy == pytest.approx(ARRIVAL_RATE * (5 + AHT + 15) / 15, abs=0.02)
    assert busy.asa >= 5.0  # every caller hears the agent's phone ring
    assert busy.service_level < plain.service_level


def test_queue_wrap_up_is_kept_when_the_scenario_says_none():
    queue = QueueConfig("q", wrap_up=60.0)
    scenario = Scenario((queue,), (CallerStream("q", ARRIVAL_RATE, AHT),),
                        tuple(SimAgent(f"a{n}") for n in range(15)), wrap_up=None)
    assert scenario.queue_configs() == [queue]
    assert small(scenario).occupancy == pytest.approx(ARRIVAL_RATE * (AHT + 60) / 15, abs=0.02)


def test_a_handling_time_sampler_replaces_the_exponential():
    scenario = Scenario((QueueConfig("q"),), (CallerStream("q", ARRIVAL_RATE, lambda rng: 90.0),),
                        tuple(SimAgent(f"a{n}") for n in range(6)))
    report = small(scenario)
    assert report.occupancy == pytest.approx(ARRIVAL_RATE * 90 / 6, abs=0.01)
    assert report.controlled.controls == ("interarrival",)  # a sampler's mean is unknown


def test_voicemail_overflow_caps_the_wait():
    queue = QueueConfig("q", max_wait=30.0, overflow=Overflow("voicemail", target="q"))
    scenario = Scenario((queue,), (CallerStream("q", ARRIVAL_RATE, AHT),),
                        tuple(SimAgent(f"a{n}") for n in range(11)))
    report = small(scenario)
    assert report.overflowed > 0
    assert report.answered + report.overflowed == report.calls
    assert report.asa < 30.0


def test_callback_overflow_is_called_back_later():
    queue = QueueConfig("q", max_wait=30.0, overflow=Overflow("callback"))
    scenario = Scenario((queue,), (CallerStream("q", ARRIVAL_RATE, AHT, patience=600.0),),
                        tuple(SimAgent(f"a{n}") for n in range(11)))
    report = small(scenario)
    assert report.overflowed > 0
    assert report.answered + report.overflowed + report.abandoned == report.calls


def test_queue_overflow_moves_calls_to_the_backup_team():
    main = QueueConfig("main", skills=("main",), max_wait=20.0,
                       overflow=Overflow("queue", target="backup"))
    backup = QueueConfig("backup", skills=("backup",))
    scenario = Scenario((main, backup), (CallerStream("main", ARRIVAL_RATE, AHT),),
                        tuple(SimAgent(f"m{n}", {"main": 5}) for n in range(10))
                        + (SimAgent("b1", {"backup": 5}), SimAgent("b2", {"backup": 5})))
    report = small(scenario)
    assert report.answered == report.calls
    assert {agent for (queue, agent) in report.handled if queue == "backup"} == {"b1", "b2"}


def test_the_simulator_drives_the_real_router():
    assert acd.simulator.Router is acd.router.Router


BUSY = (AgentState.RESERVED, AgentState.ON_CALL, AgentState.ON_HOLD, AgentState.WRAP_UP)


def test_occupancy_agrees_with_the_routers_agent_states(monkeypatch):
    """The simulator counts busy time from its own events; the router's on_agent
    listener (every state change, with its time) must give the same figure, with
    ring time, wrap-up and callers hanging up while the phone rings."""
    spells: list[list[float]] = []  # [start, end] of each agent's busy spells
    open_spell: dict[str, list[float]] = {}

    def watch(agent, previous):
        if agent.state in BUSY and previous not in BUSY:
            open_spell[agent.agent_id] = [agent.since, math.inf]
            spells.append(open_spell[agent.agent_id])
        elif previous in BUSY and agent.state not in BUSY:
            open_spell.pop(agent.agent_id)[1] = agent.since

    def watched_router(queues):
        return acd.router.Router(queues, on_agent=watch)

    monkeypatch.setattr(acd.simulator, "Router", watched_router)
    scenario = dataclasses.replace(Scenario.mmc(11, ARRIVAL_RATE, AHT, patience=30.0),
                                   ring_time=8.0, wrap_up=20.0)
    report = small(scenario, calls=5_000)
    start, end = report.measured_from, report.measured_from + report.measured_seconds
    busy = math.fsum(max(0.0, min(b, end) - max(a, start)) for a, b in spells)
    assert report.abandoned > 0
    assert report.occupancy == pytest.approx(busy / (11 * (end - start)), rel=1e-9)


def test_warm_up_calls_are_not_counted():
    report = simulate(Scenario.mmc(15, ARRIVAL_RATE, AHT), 1_000, warm_up=10_000 * 18.0, seed=1)
    assert report.calls == 1_000
    assert report.simulated_calls > 10_000
    assert report.measured_seconds > 0 and report.calls_per_second > 0


@pytest.mark.parametrize("make, message", [
    (lambda: Scenario((), (), ()), "at least one queue"),
    (lambda: Scenario.mmc(0, 0.1, AHT), "agents must be a whole number"),
    (lambda: Scenario.mmc(3, -0.1, AHT), r"streams\[0\].rate"),
    (lambda: Scenario.mmc(3, 0.1, 0.0), r"streams\[0\].handling"),
    (lambda: Scenario.mmc(3, 0.1, AHT, patience=-5.0), r"streams\[0\].patience"),
    (lambda: Scenario.mmc(3, math.inf, AHT), r"streams\[0\].rate"),
    (lambda: Scenario((QueueConfig("q"),), (CallerStream("x", 0.1),), (SimAgent("a"),)),
     "unknown queue 'x'"),
    (lambda: Scenario((QueueConfig("q"),), (CallerStream("q", 0.1, skills="sales"),),
                      (SimAgent("a", {"sales": 5}),)), "not the string 'sales'"),
    (lambda: Scenario((QueueConfig("q"), QueueConfig("q")), (CallerStream("q", 0.1),),
                      (SimAgent("a"),)), "queue names must be unique"),
    (lambda: Scenario((QueueConfig("q"),), (CallerStream("q", 0.1),),
                      (SimAgent("a"), SimAgent("a"))), "agent ids must be unique"),
    (lambda: Scenario((QueueConfig("q", skills=("x",)),), (CallerStream("q", 0.1),),
                      (SimAgent("a", {"y": 5}),)), "would wait forever"),
    (lambda: dataclasses.replace(Scenario.mmc(3, 0.01, AHT), ring_time=-1.0), "ring_time"),
    (lambda: dataclasses.replace(Scenario.mmc(3, 0.01, AHT), wrap_up=math.nan), "wrap_up"),
])
def test_bad_scenarios_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("options, message", [
    ({"calls": 10}, "calls must be a whole number >= batches"),
    ({"calls": 1000.0}, "calls must be a whole number"),
    ({"batches": 1}, "batches must be a whole number >= 2"),
    ({"warm_up": -1.0}, "warm_up"),
    ({"seed": "x"}, "seed must be an int"),
    ({"sl_seconds": -20.0}, "sl_seconds"),
])
def test_bad_run_parameters_are_refused(options, message):
    arguments = {"calls": 1000, **options}
    with pytest.raises(ValueError, match=message):
        simulate(Scenario.mmc(3, 0.01, AHT), **arguments)


def test_the_router_refuses_bad_agent_skills():
    scenario = Scenario((QueueConfig("q"),), (CallerStream("q", 0.01),),
                        (SimAgent("a", {"sales": 11}),))
    with pytest.raises(AcdError, match="proficiency"):
        simulate(scenario, 100)


def test_calls_nobody_can_take_stop_the_run_instead_of_hanging():
    queue = QueueConfig("q", skills=("x",), max_wait=5.0, overflow=Overflow("relax", skills=("y",)))
    scenario = Scenario((queue,), (CallerStream("q", 1.0, 10.0),), (SimAgent("a", {"z": 5}),))
    with pytest.raises(RuntimeError, match="still waiting"):
        simulate(scenario, 100)


def test_queues_overflowing_into_each_other_at_once_stop_the_run():
    ping = QueueConfig("ping", skills=("x",), max_wait=0.0,
                       overflow=Overflow("queue", target="pong"))
    pong = QueueConfig("pong", skills=("x",), max_wait=0.0,
                       overflow=Overflow("queue", target="ping"))
    scenario = Scenario((ping, pong), (CallerStream("ping", 1.0, 10.0),),
                        (SimAgent("a", {"z": 5}),))
    with pytest.raises(RuntimeError, match="same time"):
        simulate(scenario, 100)


def test_control_variates_remove_what_the_controls_explain():
    """Batch figures that are a line in the control plus noise: the estimate is the
    intercept (the figure at the control's known mean, 0), with the regression's SE."""
    controls = [[x] for x in (-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4)]
    noise = (0.01, -0.02, 0.0, 0.02, -0.01, 0.01, -0.01, 0.0)
    values = [5.0 + 2.0 * row[0] + e for row, e in zip(controls, noise)]
    value, se = acd.simulator._control_variate(values, controls)
    # least squares by hand: slope = Sxy / Sxx, intercept = ybar - slope * xbar
    xbar = sum(r[0] for r in controls) / 8
    ybar = sum(values) / 8
    sxx = sum((r[0] - xbar) ** 2 for r in controls)
    slope = sum((r[0] - xbar) * (v - ybar) for r, v in zip(controls, values)) / sxx
    residual = sum((v - ybar - slope * (r[0] - xbar)) ** 2 for r, v in zip(controls, values))
    assert value == pytest.approx(ybar - slope * xbar, rel=1e-12)
    assert se == pytest.approx(math.sqrt(residual / 6 * (1 / 8 + xbar ** 2 / sxx)), rel=1e-12)
    assert abs(value - 5.0) < 0.02
    assert acd.simulator._control_variate(values, [[0.0]] * 8) is None  # a constant control


@pytest.mark.parametrize("draw", [lambda rng: -1.0, lambda rng: math.nan, lambda rng: "60"])
def test_a_sampler_may_not_turn_the_clock_back(draw):
    scenario = Scenario((QueueConfig("q"),), (CallerStream("q", 0.01, handling=draw),),
                        (SimAgent("a"),))
    with pytest.raises(ValueError, match="handling sampler returned"):
        simulate(scenario, 100)
    impatient = Scenario((QueueConfig("q"),), (CallerStream("q", 0.01, patience=draw),),
                         (SimAgent("a"),))
    with pytest.raises(ValueError, match="patience sampler returned"):
        simulate(impatient, 100)
