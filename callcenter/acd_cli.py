"""`callcenter acd-plan`: how many agents for a service level, by Erlang C and,
with --simulate, by the simulator driving the real router (with caller
patience, which Erlang C leaves out)."""
from __future__ import annotations

import logging
from typing import Callable

from acd import erlang
from acd.simulator import Scenario, simulate


def add_commands(subparsers) -> dict[str, Callable]:
    plan = subparsers.add_parser(
        "acd-plan", help="agents needed for a service level (Erlang C, optionally simulated)")
    plan.add_argument("--calls", type=float, required=True,
                      help="calls offered per interval (e.g. 100)")
    plan.add_argument("--interval", type=float, default=1800,
                      help="interval length in seconds (default 1800: half an hour)")
    plan.add_argument("--aht", type=float, required=True, help="average handling time, seconds")
    plan.add_argument("--sl-seconds", type=float, default=20.0,
                      help="answer within this many seconds (default 20)")
    plan.add_argument("--target", type=float, default=0.8,
                      help="share of calls to answer within --sl-seconds (default 0.8)")
    plan.add_argument("--agents", metavar="FROM-TO",
                      help="staffing levels to show (default: the answer and 2 around it)")
    plan.add_argument("--simulate", type=int, metavar="CALLS", default=0,
                      help="also simulate this many calls per staffing level")
    plan.add_argument("--patience", type=float, metavar="SECONDS",
                      help="callers' mean patience in the simulation (default: endless)")
    plan.add_argument("--seed", type=int, default=1)
    return {"acd-plan": plan_command}


def plan_command(settings, args) -> int:
    try:
        rows = plan_rows(args)
    except ValueError as exc:
        print(f"acd-plan: {exc}")
        return 2
    for line in rows:
        print(line)
    return 0


def staffing_range(text: str | None, needed: int, traffic: float) -> range:
    """Levels to print: the user's FROM-TO, or the answer and two either side."""
    if text is None:
        low = max(int(traffic) + 1, needed - 2)
        return range(low, needed + 3)
    first, sep, last = text.partition("-")
    if not sep or not first.isdigit() or not last.isdigit() or int(first) > int(last):
        raise ValueError(f"--agents must look like 11-15, not {text!r}")
    if int(first) <= traffic:
        raise ValueError(f"{first} agents cannot carry {traffic:.2f} Erlangs: the line would "
                         f"grow without end; start above {int(traffic)}")
    return range(int(first), int(last) + 1)


def plan_rows(args) -> list[str]:
    if not 0 < args.target < 1:
        raise ValueError("--target must be between 0 and 1, e.g. 0.8")
    if args.calls <= 0 or args.interval <= 0:
        raise ValueError("--calls and --interval must be above 0")
    rate = args.calls / args.interval
    traffic = erlang.traffic_intensity(rate, args.aht)
    needed = erlang.agents_for(args.target, args.sl_seconds, traffic, args.aht)
    t = f"{args.sl_seconds:g}"
    rows = [f"offered load: {traffic:.2f} Erlangs ({args.calls:g} calls per {args.interval:g} s, "
            f"AHT {args.aht:g} s)",
            f"agents  P(wait)   ASA s  SL({t}s)  occupancy" +
            (f" | simulated: P(wait)   ASA s  SL({t}s)  abandoned" if args.simulate else "")]
    for agents in staffing_range(args.agents, needed, traffic):
        f = erlang.erlang_c(agents, traffic, args.aht, args.sl_seconds)
        row = (f"{agents:6d}  {f.wait_probability:7.4f} {f.asa:7.1f}  {f.service_level:7.4f}"
               f"  {f.occupancy:9.3f}")
        if args.simulate:
            row += simulated_columns(agents, rate, args)
        rows.append(row + ("   <- needed" if agents == needed else ""))
    rows.append(f"acd_plan_agents: {needed} agents for {args.target:.0%} within {t} s")
    return rows


def simulated_columns(agents: int, rate: float, args) -> str:
    # The router explains every decision at INFO: right for live calls, noise for 20,000.
    logging.getLogger("acd.router").setLevel(logging.WARNING)
    scenario = Scenario.mmc(agents, rate, args.aht, patience=args.patience)
    report = simulate(scenario, args.simulate, warm_up=1000 / rate, seed=args.seed,
                      sl_seconds=args.sl_seconds)
    return (f" |            {report.wait_probability:7.4f} {report.asa:7.1f}  "
            f"{report.service_level:7.4f}  {report.abandon_rate:9.3f}")
