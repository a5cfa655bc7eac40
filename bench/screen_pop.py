"""Screen-pop latency and wallboard staleness, with 100 agents connected.

The platform runs as `callcenter run` builds it (callcenter.platform.Platform:
the IVR, the ACD, the history writer, the web with its push feeds) on the lab:
the sandboxed "pbx" Asterisk and a "world" Asterisk whose 100 desk phones
(1001-1100) register to it over SIP and answer every call. 100 agents are
logged in at those seats and ready, and every one has the console open:
- 10 of them ("pop" skill, the measured ones) in headless Chromium pages;
- 90 ("load" skill) as event-stream clients in a separate process that sign in
  and hold GET /events exactly like the console page does;
- one supervisor has the wallboard open in Chromium.
The CRM (SQLite, or --database-url) holds 2,000 customers, each with 20 past
interactions and an open ticket, so every pop carries a real card.

Load: callers who are customers dial the "pop" DID every --gap seconds (talk
about 4 s), while "load" callers arrive at --load-rate per second (talk about
10 s) for the other 90 agents; every caller goes through an IVR lookup.

Measured, on one clock (the machine's: Asterisk's event timestamps, the
browser's performance.timeOrigin + now()):
- ring -> card: the pbx's DialBegin (the ACD rings the agent's seat) to the
  agent's page having the customer's name in the pop (a MutationObserver);
  the pop is built on the ACD's decision, so it may even precede the ring;
- answer -> card: the pbx's DialEnd ANSWER to the page showing the card and the
  call as talking (the issue's figure: what the agent sees when they answer);
- the same ring -> pop for the 90 stream clients (the pop event received);
- wallboard staleness: DialEnd ANSWER of an agent's call to the supervisor's
  wallboard showing that agent "on call".

Usage: .venv/bin/python bench/screen_pop.py [--calls 100] [--gap 1.5] [--load-rate 1.5]
The last line is `screen_pop_answer_p99: <ms> ms`.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import math
import multiprocessing
import os
import random
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from asterisk_conf import sandbox  # noqa: E402
from asterisk_conf.lab import Lab, LabPorts, wait_registered  # noqa: E402
from asterisk_conf import ports  # noqa: E402
from callcenter.platform import Platform  # noqa: E402
from callcenter.settings import Settings  # noqa: E402
from callcenter.world import CallerScript, World  # noqa: E402
from crm_core import agent_skills, dispositions, tickets, users  # noqa: E402
from crm_core.models import Customer, Interaction, Phone  # noqa: E402
from cti.ami import AmiSession  # noqa: E402

import console_clients  # noqa: E402

N_AGENTS, N_BROWSER = 100, 10
CUSTOMERS, HISTORY = 2000, 20
PASSWORD = "bench-password-1234"
POP_DID, LOAD_DID = "8005550901", "8005550902"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"]
MENUS = {"pop.yaml": POP_DID, "load.yaml": LOAD_DID}
MENU = """flow: bench-{name}
dids: ["{did}"]
start: identify
nodes:
  identify: {{kind: lookup, vip: queue, open_ticket: queue, known: queue, many: queue,
             unknown: queue, on_error: queue}}
  queue: {{kind: queue, queue: {name}, skills: [{name}], priority: 5}}
"""
QUEUES = """queues:
  pop: {skills: [pop], ring_timeout: 15, wrap_up: 1, announce: {position: false}}
  load: {skills: [load], ring_timeout: 15, wrap_up: 1, announce: {position: false}}
"""
# Runs in every page before its own scripts: when the pop shows a call's card,
# and when it shows the call answered; when the wallboard's agent rows change.
OBSERVER = """
window.__pops = {}; window.__board = []; const last = {};
const stamp = () => performance.timeOrigin + performance.now();
new MutationObserver(() => {
  const pop = document.getElementById("pop");
  if (pop && !pop.classList.contains("hidden") && pop.dataset.linkedid) {
    const rec = window.__pops[pop.dataset.linkedid] ||= {};
    if (!rec.card && document.getElementById("pop-customer-name")) rec.card = stamp();
    const phase = document.getElementById("pop-phase");
    if (!rec.talking && phase && phase.textContent.startsWith("talking")) rec.talking = stamp();
  }
  for (const row of document.querySelectorAll("tr[data-agent]")) {
    const state = row.querySelector("td.state")?.textContent || "";
    if (last[row.dataset.agent] !== state) {
      last[row.dataset.agent] = state;
      window.__board.push([row.dataset.agent, state, stamp()]);
    }
  }
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def describe(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no samples"
    return (f"{name}: n={len(values)} p50 {pct(values, 50):.1f} ms, p90 {pct(values, 90):.1f} ms,"
            f" p99 {pct(values, 99):.1f} ms, max {max(values):.1f} ms")


def seed(sessions) -> list[str]:
    """Agents, a supervisor and customers with history; the callers' numbers."""
    with sessions.begin() as s:
        dispositions.seed_defaults(s)
        users.create_user(s, "boss", PASSWORD, "supervisor")
        for n in range(N_AGENTS):
            name = f"agent{n:03d}"
            users.create_user(s, name, PASSWORD, "agent", display_name=name)
            agent_skills.set_skills(s, name, {"pop" if n < N_BROWSER else "load": 5})
        numbers = [f"+1555300{n:04d}" for n in range(CUSTOMERS)]
        ids = s.execute(insert(Customer).returning(Customer.id), [
            {"name": f"Customer {n:04d}", "code": f"B{n:05d}", "level": "gold" if n % 7 else "vip",
             "custom_fields": {}} for n in range(CUSTOMERS)]).scalars().all()
        s.execute(insert(Phone), [{"customer_id": cid, "e164": number, "label": "mobile",
                                   "raw": number} for cid, number in zip(ids, numbers)])
        start = datetime.now(timezone.utc) - timedelta(days=400)
        s.execute(insert(Interaction), [
            {"customer_id": cid, "channel": "call", "direction": "inbound",
             "caller_number": numbers[i], "started_at": start + timedelta(days=k * 19, minutes=i),
             "status": "completed", "notes": "earlier call about the order " * 3}
            for i, cid in enumerate(ids) for k in range(HISTORY)])
        for cid in ids:
            tickets.create_ticket(s, cid, "Order not delivered")
    return numbers


class Bench:
    def __init__(self, args, work: Path):
        self.args = args
        root = sandbox.ensure()
        seats = tuple(str(1001 + n) for n in range(N_AGENTS))
        self.lab = Lab(root, agi_port=ports.free_port(), ports=LabPorts.free(), phones=seats,
                       prefix="benchpop")
        settings = Settings()
        settings.data_dir = str(work / "data")
        if args.database_url:
            settings.database.url = args.database_url
        settings.web.port = ports.free_port()
        (work / "menus").mkdir()
        for file, did in MENUS.items():
            (work / "menus" / file).write_text(MENU.format(name=file[:-5], did=did))
        (work / "queues.yaml").write_text(QUEUES)
        settings.ivr.menus_dir = str(work / "menus")
        settings.acd.queues_file = str(work / "queues.yaml")
        self.settings = settings
        self.rings: dict[str, float] = {}  # linkedid -> DialBegin timestamp
        self.answers: dict[str, tuple[float, str]] = {}  # linkedid -> (DialEnd ANSWER, seat)
        self.queue_of: dict[str, str] = {}  # linkedid -> DID's queue
        self.rng = random.Random(7)

    async def start(self) -> None:
        await asyncio.to_thread(self.lab.start)
        await asyncio.to_thread(wait_registered, self.lab, 120)
        self.platform = Platform(self.settings, lab=self.lab)
        print("seeding the CRM ...", flush=True)
        self.numbers = await asyncio.to_thread(seed, self.platform.sessions)
        await self.platform.start()
        acd = self.platform.engine.acd
        for n in range(N_AGENTS):
            await acd.login(f"agent{n:03d}", str(1001 + n))
            await acd.ready(f"agent{n:03d}")
        ami = self.platform.engine.ami
        ami.on("DialBegin", self._dial_begin)
        ami.on("DialEnd", self._dial_end)
        w = self.lab.world.spec
        self.world_ami = AmiSession(w.bind_address, w.ami_port, w.ami_username, w.ami_secret)
        await self.world_ami.start()
        self.world = World(self.world_ami)

    def _dial_begin(self, event) -> None:
        if event.context == "acd-connect" and event.linkedid:
            self.rings.setdefault(event.linkedid, event.timestamp)

    def _dial_end(self, event) -> None:
        if event.context == "acd-connect" and event.dial_status == "ANSWER":
            seat = (event.dest_channel or "").removeprefix("PJSIP/").split("-")[0]
            self.answers.setdefault(event.linkedid, (event.timestamp, seat))

    async def open_consoles(self) -> None:
        from playwright.async_api import async_playwright
        host, port = self.settings.web.host, self.settings.web.port
        ctx = multiprocessing.get_context("spawn")
        self.results, self.control = ctx.Queue(), ctx.Queue()
        names = [f"agent{n:03d}" for n in range(N_BROWSER, N_AGENTS)]
        self.clients = ctx.Process(target=console_clients.run, daemon=True,
                                   args=(host, port, names, PASSWORD, self.results, self.control))
        self.clients.start()
        self._pw = await async_playwright().start()
        self.browser = await self._pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS, headless=True)
        self.pages = [await self._page(f"agent{n:03d}") for n in range(N_BROWSER)]
        self.board = await self._page("boss")
        kind, connected = await asyncio.to_thread(self.results.get, True, 300)
        print(f"consoles: {N_BROWSER} agents in Chromium, {connected} as stream clients, "
              f"1 supervisor's wallboard; hub streams: {self.platform.feeds.hub.connected()}",
              flush=True)

    async def _page(self, username: str):
        context = await self.browser.new_context()
        await context.add_init_script(OBSERVER)
        page = await context.new_page()
        url = f"http://{self.settings.web.host}:{self.settings.web.port}"
        await page.goto(f"{url}/login")
        await page.fill("input[name=username]", username)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(lambda u: "/login" not in u)
        return page

    async def load(self) -> None:
        """Callers for the 90 stream-client agents, until told to stop."""
        while True:
            await asyncio.sleep(self.rng.expovariate(self.args.load_rate))
            number = self.rng.choice(self.numbers)
            self.world.place_call(LOAD_DID, number, script=CallerScript(delay=0, hold=12))

    async def measured_calls(self) -> None:
        for n in range(self.args.calls):
            number = self.rng.choice(self.numbers)
            self.world.place_call(POP_DID, number, script=CallerScript(delay=0, hold=6))
            await asyncio.sleep(self.args.gap)
            if (n + 1) % 20 == 0:
                print(f"  {n + 1} measured calls placed", flush=True)

    async def run(self) -> None:
        await self.open_consoles()
        load = asyncio.ensure_future(self.load())
        await self.measured_calls()
        load.cancel()
        await asyncio.sleep(15)  # the last calls are answered and end
        await self.report()

    async def report(self) -> None:
        pops = {}
        for page in self.pages:
            pops.update(await page.evaluate("window.__pops"))
        board = await self.board.evaluate("window.__board")
        self.control.put("stop")
        kind, streamed = await asyncio.to_thread(self.results.get, True, 60)
        ring_card, answer_card, missing = [], [], 0
        for linkedid, rec in pops.items():
            if linkedid in self.rings and rec.get("card"):
                ring_card.append(rec["card"] - self.rings[linkedid] * 1000)
            if linkedid in self.answers and rec.get("card") and rec.get("talking"):
                answer_card.append(max(rec["card"], rec["talking"]) - self.answers[linkedid][0] * 1000)
            elif linkedid in self.answers:
                missing += 1
        stream_ring = [at * 1000 - self.rings[lid] * 1000 for lid, at in streamed
                       if lid in self.rings]
        staleness = self._staleness(board)
        load = os.getloadavg()
        print(f"answered calls: {len(self.answers)}; measured pops in Chromium: {len(pops)} "
              f"({missing} answered without card+talking shown); pops to stream clients: "
              f"{len(streamed)}; load average {load[0]:.2f}", flush=True)
        print(describe("ring -> card in the page (Chromium)", ring_card))
        print(describe("answer -> card and 'talking' in the page (Chromium)", answer_card))
        print(describe("ring -> pop received (90 stream clients)", stream_ring))
        print(describe("wallboard staleness: answer -> agent 'on call' on the wallboard",
                       staleness))
        print(f"screen_pop_answer_p99: {pct(answer_card, 99) if answer_card else float('nan'):.1f} ms")

    def _staleness(self, board: list) -> list[float]:
        by_agent: dict[str, list] = {}
        for agent, state, at in board:
            by_agent.setdefault(agent, []).append((at, state))
        seat_agent = {str(1001 + n): f"agent{n:03d}" for n in range(N_AGENTS)}
        out = []
        for answered_at, seat in self.answers.values():
            changes = by_agent.get(seat_agent.get(seat, ""), [])
            shown = [at for at, state in changes if at >= answered_at * 1000 - 1
                     and state.startswith("on call")]
            if shown:
                out.append(min(shown) - answered_at * 1000)
        return out

    async def stop(self) -> None:
        try:
            await self.browser.close()
            await self._pw.stop()
        except Exception:
            pass
        if getattr(self, "clients", None) is not None:
            self.clients.terminate()
        self.lab.world.rx("channel request hangup all", check=False)
        await self.world_ami.stop()
        await self.platform.stop()
        await asyncio.to_thread(self.lab.stop)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="measured calls (default 100)")
    parser.add_argument("--gap", type=float, default=1.5, help="seconds between measured calls")
    parser.add_argument("--load-rate", type=float, default=1.5,
                        help="background callers per second for the 90 other agents")
    parser.add_argument("--database-url", default="", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="screen-pop-") as work:
        bench = Bench(args, Path(work))
        try:
            await bench.start()
            await bench.run()
        finally:
            await bench.stop()


if __name__ == "__main__":
    asyncio.run(main())
