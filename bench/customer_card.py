"""Customer card benchmark: crm_core.card.customer_card for a customer with a long history.

The data set is the caller-ID benchmark's (--customers customers, --phones
numbers; cached SQLite file, reused PostgreSQL schema bench_crm) plus, unless
--no-history, a background history (one interaction per customer over five
years, a ticket per 10 customers, a callback per 20, a do-not-call entry per
50) so that the card's queries meet big tables, plus one card customer (a
person in a company) with --interactions interactions over three years,
--tickets tickets (40% open) and --callbacks callbacks (60% pending), one of
its two numbers on the do-not-call list. Both are added once and kept.

Each of --calls calls gets a fresh session, as a web request would (a reused
session would serve the customer and its company from its identity map);
only the customer_card call is timed. The card of the card customer's company
(which lists its contacts) is timed too, for information (--company-calls).

Usage: .venv/bin/python bench/customer_card.py [--customers N --phones N]
           [--backend sqlite|postgresql|both] [--explain] [--profile]
The last line is `customer_card_p99: <ms> ms` (the worse backend).
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import crm_data as cd  # noqa: E402
from caller_id_lookup import SqlRecorder, cpu_reference, explain, pct  # noqa: E402

from sqlalchemy import select  # noqa: E402

from crm_core import db  # noqa: E402
from crm_core.models import Customer  # noqa: E402

GOAL_P99_MS = 20.0


def _len(value) -> str:
    return "-" if value is None else str(len(value)) if isinstance(value, (list, tuple)) else "yes"


def check_card(card, args, card_phones) -> str:
    """What the card holds against what the card customer has."""
    want = {"interactions": min(args.interactions, 50),
            "open_tickets": sum(1 for i in range(args.tickets) if i % 10 in (0, 1, 2, 3)),
            "pending_callbacks": sum(1 for i in range(args.callbacks) if i % 5 in (0, 1, 3))}
    parts = []
    for name, value in vars(card).items() if hasattr(card, "__dict__") else []:
        text = f"{name} {_len(value)}"
        if name in want and isinstance(value, list) and len(value) != want[name]:
            text += f" (EXPECTED {want[name]})"
        parts.append(text)
    inter = getattr(card, "interactions", None)
    if inter and isinstance(inter[0], dict) and "started_at" in inter[0]:
        times = [i["started_at"] for i in inter]
        parts.append("newest first" if times == sorted(times, reverse=True) else "NOT NEWEST FIRST")
    dnc = getattr(card, "do_not_call", None)
    if isinstance(dnc, list) and dnc != [card_phones[1]]:
        parts.append(f"do_not_call EXPECTED [{card_phones[1]}]")
    return ", ".join(parts)


def measure(engine, customer_card, cid: int, calls: int, warmup: int, profile: bool):
    """Warm up, then time ``calls`` cards of customer ``cid``, each in a fresh session."""
    Session = db.session_factory(engine)
    lat: list[float] = []
    cpu: list[float] = []

    def one(timed: bool):
        session = Session()
        try:
            c = time.thread_time()
            t = time.perf_counter()
            card = customer_card(session, cid)
            if timed:
                lat.append(time.perf_counter() - t)
                cpu.append(time.thread_time() - c)
            return card
        finally:
            session.close()

    card = None
    with SqlRecorder(engine) as rec:  # warm-up: caches, pool, plans; count statements
        t1 = time.perf_counter()
        for _ in range(warmup):
            card = one(False)
        warm_s = time.perf_counter() - t1
    load, ref = os.getloadavg()[0], cpu_reference()
    prof = cProfile.Profile() if profile else None
    gc.collect()
    if prof:
        prof.enable()
    for _ in range(calls):
        one(True)
    if prof:
        prof.disable()
    return {"lat": lat, "cpu": cpu, "card": card, "rec": rec, "load": load, "ref": ref,
            "prof": prof,
            "stmts": rec.count / max(warmup, 1),
            "db_share": rec.db_time / warm_s if warm_s else 0.0}


def report(m: dict, indent: str = "  ") -> float:
    lat, cpu = m["lat"], m["cpu"]
    ms = sorted(x * 1000 for x in lat)
    total = sum(lat)
    p50, p99, mx = pct(ms, 50), pct(ms, 99), ms[-1]
    print(f"{indent}p50 {p50:.3f} ms   p99 {p99:.3f} ms   max {mx:.3f} ms   "
          f"mean {total / len(lat) * 1000:.3f} ms   {len(lat) / total:,.0f} cards/s")
    quarters = [sorted(lat[i * len(lat) // 4:(i + 1) * len(lat) // 4]) for i in range(4)]
    print(f"{indent}p99 of each quarter of the run (bursts of load from other processes show "
          "here): " + ", ".join(f"{pct(q, 99) * 1000:.3f}" for q in quarters) + " ms")
    print(f"{indent}{m['stmts']:.2f} SQL statements per card; {m['db_share']:.0%} of warm-up time "
          f"in cursor.execute; this process's CPU per card: p50 {pct(sorted(cpu), 50) * 1000:.3f}"
          f" ms, p99 {pct(sorted(cpu), 99) * 1000:.3f} ms, total {sum(cpu) / total:.0%} of the "
          "timed wall time")
    return p99


def run_backend(backend: str, ds: cd.Dataset, args) -> float:
    t0 = time.perf_counter()
    engine = cd.open_engine(backend, ds)
    if not args.no_history:
        cd.populate_history(engine, ds.customers, ds.seed)
    cid = cd.populate_card_customer(engine, args.interactions, args.tickets, args.callbacks)
    print(f"{backend}: data ready in {time.perf_counter() - t0:.1f} s; card customer id {cid}")
    from crm_core.card import customer_card

    m = measure(engine, customer_card, cid, args.calls, args.warmup, args.profile)
    print(f"  card: {check_card(m['card'], args, ('+12025550143', '+12025550199'))}")
    print(f"{backend}: {len(m['lat']):,} customer_card() calls ({args.warmup} warm-up), fresh "
          f"session per call; load average {m['load']:.2f} on {os.cpu_count()} cores, reference loop "
          f"{m['ref']:.1f} ms")
    p99 = report(m)
    if args.explain or p99 > GOAL_P99_MS:
        print(f"  query plans{' (p99 over the goal)' if p99 > GOAL_P99_MS else ''}:")
        explain(engine, m["rec"].seen)
    if m["prof"]:
        s = io.StringIO()
        pstats.Stats(m["prof"], stream=s).sort_stats("cumulative").print_stats(30)
        print(s.getvalue())

    if args.company_calls:  # informational: a company's card lists its contacts instead
        with engine.connect() as conn:
            company = conn.scalar(select(Customer.company_id).where(Customer.id == cid))
        if company is not None:
            c = measure(engine, customer_card, company, args.company_calls,
                        max(args.company_calls // 10, 1), False)
            print(f"  for information (not in the last line): the company's card (customer {company},"
                  f" {_len(getattr(c['card'], 'contacts', None))} contacts), {args.company_calls} calls:")
            report(c, "    ")
    engine.dispose()
    return p99


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--phones", type=int, default=2_000_000)
    ap.add_argument("--calls", type=int, default=2_000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--interactions", type=int, default=1000)
    ap.add_argument("--tickets", type=int, default=10)
    ap.add_argument("--callbacks", type=int, default=5)
    ap.add_argument("--company-calls", type=int, default=500,
                    help="also time the card of the customer's company (0: skip)")
    ap.add_argument("--no-history", action="store_true",
                    help="no background interactions/tickets/callbacks for other customers")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--explain", action="store_true", help="print the query plans")
    ap.add_argument("--profile", action="store_true", help="cProfile the measured calls")
    args = ap.parse_args(argv)

    ds = cd.Dataset(args.customers, args.phones, args.seed)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends:
        why = cd.pg_reachable()
        if why:
            print(f"postgresql: not reachable at {cd.PG_URL} ({why}): measuring SQLite only")
            backends = ["sqlite"]
    p99s = {b: run_backend(b, ds, args) for b in backends}
    worst = max(p99s, key=p99s.get)
    print(f"goal p99 < {GOAL_P99_MS:g} ms: " + ", ".join(
        f"{b} {'met' if v < GOAL_P99_MS else 'MISSED'} ({v:.3f} ms)" for b, v in p99s.items()))
    print(f"customer_card_p99: {p99s[worst]:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
