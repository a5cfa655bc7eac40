"""ACD simulator benchmark: the real router on the issue's M/M/c centre, against Erlang C.

The centre: 100 calls per 30 minutes (Poisson), exponential handling with an
AHT of 180 s (A = 10 Erlangs), no abandonment, ring time and wrap-up 0, service
level threshold 20 s.  For 11..15 agents the simulator (acd/simulator.py, which
drives acd.router.Router on virtual time) runs --calls measured calls after a
warm-up of 5,000 calls, one staffing level after the other in this process;
each row shows Erlang C's figure, the simulated one and its batch-means
standard error (30 batches), the occupancy, and the simulation speed in
simulated calls (warm-up included) per CPU second; a second block shows the
control-variate estimates of the same runs (SimulationReport.controlled).

Differences of up to 2-3 SE are expected; at 11 agents (91% occupancy) waits
are correlated over hundreds of calls and the SE stays large unless --calls is
in the millions (tests/unit/test_acd_simulator.py sizes its runs from that).

Usage: .venv/bin/python bench/acd_simulate.py [--calls 200000] [--seed 1] [--profile]
The last line is `acd_simulator_speed: <calls per second> calls/s` (all rows together).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acd.erlang import ErlangFigures, erlang_c  # noqa: E402
from acd.simulator import Scenario, SimulationReport, simulate  # noqa: E402

AHT = 180.0
ARRIVAL_RATE = 100 / 1800
SL_SECONDS = 20.0
WARM_UP_CALLS = 5000
STAFFING = range(11, 16)


def run_level(agents: int, calls: int, seed: int) -> SimulationReport:
    """One staffing level of the issue's centre."""
    return simulate(Scenario.mmc(agents, ARRIVAL_RATE, AHT), calls,
                    warm_up=WARM_UP_CALLS / ARRIVAL_RATE, seed=seed + agents,
                    sl_seconds=SL_SECONDS)


def header() -> str:
    return (f"{'agents':>6} | {'P(wait) erlang':>14} {'simulated':>16} | {'ASA erlang':>10} "
            f"{'simulated':>15} | {'SL20 erlang':>11} {'simulated':>16} | {'occ erlang':>10} "
            f"{'sim':>6} | {'calls/s':>8}")


def row(agents: int, erlang: ErlangFigures, report: SimulationReport) -> str:
    return (f"{agents:>6} | {erlang.wait_probability:>14.4f} "
            f"{report.wait_probability:>7.4f} ±{report.wait_probability_se:.4f} | "
            f"{erlang.asa:>9.2f}s {report.asa:>7.2f} ±{report.asa_se:>5.2f} | "
            f"{erlang.service_level:>11.4f} {report.service_level:>7.4f} "
            f"±{report.service_level_se:.4f} | {erlang.occupancy:>10.4f} "
            f"{report.occupancy:>6.4f} | {report.calls_per_second:>8.0f}")


def controlled_row(agents: int, erlang: ErlangFigures, report: SimulationReport) -> str:
    """The control-variate estimates of the same run (what the unit test checks)."""
    c = report.controlled
    if c is None:
        return f"{agents:>6} | (no control-variate estimate)"
    return (f"{agents:>6} | P(wait) {c.wait_probability:.4f} ±{c.wait_probability_se:.4f} "
            f"(erlang {erlang.wait_probability:.4f}) | ASA {c.asa:7.2f} ±{c.asa_se:5.2f} "
            f"(erlang {erlang.asa:.2f}) | SL20 {c.service_level:.4f} ±{c.service_level_se:.4f} "
            f"(erlang {erlang.service_level:.4f})")


def profile_level(agents: int, calls: int, seed: int) -> None:
    """Where the time goes (simulator versus router), for one staffing level."""
    profiler = cProfile.Profile()
    profiler.runcall(run_level, agents, calls, seed)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200_000, help="measured calls per level")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="profile the 15-agent run")
    args = parser.parse_args()

    print(f"M/M/c: {ARRIVAL_RATE * 1800:.0f} calls per 30 min, AHT {AHT:.0f}s, "
          f"A = {ARRIVAL_RATE * AHT:.1f} Erlangs, SL {SL_SECONDS:.0f}s; "
          f"{args.calls:,} measured calls per level after {WARM_UP_CALLS:,} warm-up calls; "
          f"± = batch-means standard error")
    print(header())
    simulated, cpu = 0, 0.0
    controlled = []
    for agents in STAFFING:
        report = run_level(agents, args.calls, args.seed)
        erlang = erlang_c(agents, ARRIVAL_RATE * AHT, AHT, SL_SECONDS)
        print(row(agents, erlang, report), flush=True)
        controlled.append(controlled_row(agents, erlang, report))
        simulated += report.simulated_calls
        cpu += report.cpu_seconds
    print("control-variate estimates (corrected for the drawn inter-arrival and handling times):")
    print("\n".join(controlled))
    if args.profile:
        profile_level(15, min(args.calls, 100_000), args.seed)
    print(f"acd_simulator_speed: {simulated / cpu:.0f} calls/s")


if __name__ == "__main__":
    main()
