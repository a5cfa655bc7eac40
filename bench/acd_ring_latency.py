"""ACD ring latency: from "an agent becomes ready while a caller waits" to "the
agent's phone rings", for our ACD and for Asterisk's own app_queue on the same lab.

The lab (started here, like the lab tests do): the sandboxed "pbx" Asterisk with
the platform's dialplan and a "world" Asterisk whose desk phone 1001 is the
agent's seat, registered over SIP on loopback.  The engine runs in this process
(one asyncio loop) with the real ACD (acd.asterisk.AcdService); callers come
from the world's carrier side into the pbx, where a minimal FastAGI "ivr" route
(not the IVR under test) hands them to [ivr-queue] (our ACD) or [acd-baseline]
(app_queue's Queue(baseline)).

One trial, ours: agent "alice" is logged in at seat 1001, not ready; a caller
waits in the ACD; start = time.time() just before ``AcdService.ready("alice")``;
end = the Timestamp header of the world's Newchannel for the INVITE that reaches
desk phone 1001 (Asterisk's clock: the same machine's clock).  The same for
app_queue: member PJSIP/1001 added paused with QueueAdd; start = time.time()
just before the ``QueuePause Paused=false`` action.  The phone is told not to
answer (AstDB noanswer/1001), so every trial ends with the caller hanging up
while it rings; the next trial starts once both Asterisks have no channel left.
Trials alternate ours / app_queue so a drift of the machine hits both alike.
Before the start the caller waits 0.5-1.5 s (random): app_queue looks at its
members once a second (RECHECK in wait_our_turn), so its latency depends on
where in that second the member is unpaused; a fixed wait would always hit the
same phase.

Usage: .venv/bin/python bench/acd_ring_latency.py [--trials 30]
The last line is `acd_ring_latency_delta_p50: <ours minus app_queue> ms`.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import math
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acd.asterisk import AcdService  # noqa: E402
from acd.model import QueueConfig  # noqa: E402
from asterisk_conf import ports, sandbox  # noqa: E402
from asterisk_conf.lab import Lab, LabPorts, wait_registered  # noqa: E402
from callcenter.engine import AmiAddress, Engine  # noqa: E402
from callcenter.world import CallerScript, World  # noqa: E402
from crm_core import agent_skills, db, migrate, users  # noqa: E402
from cti.ami import AmiSession  # noqa: E402

OURS, BASELINE = "8005550401", "8005550402"  # DIDs: the ACD, app_queue
SEAT = "1001"
QUEUE = QueueConfig("bench", skills=(), ring_timeout=30, wrap_up=0, announce_position=False,
                    announce_every=600)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


async def hand_off(call) -> None:
    """The bench's "ivr": straight to our ACD or to app_queue, by the dialled number."""
    did = call.env.get("extension", "")
    if did == OURS:
        for name, value in (("CC_QUEUE", "bench"), ("CC_SKILLS", ""), ("CC_PRIORITY", "0"),
                            ("CC_CUSTOMER", "0")):
            await call.set_variable(name, value)
    context = "ivr-queue" if did == OURS else "acd-baseline"
    for line in (f"SET CONTEXT {context}", "SET EXTENSION s", "SET PRIORITY 1"):
        await call.command(line)


class Bench:
    def __init__(self, lab: Lab, work: Path):
        self.lab = lab
        engine = db.make_engine(db.sqlite_url(work / "crm.db"))
        migrate.upgrade(engine)
        self.sessions = db.session_factory(engine)
        with self.sessions.begin() as s:
            users.create_user(s, "alice", "bench-password-1234", "agent")
            agent_skills.set_skills(s, "alice", {"bench": 5})
        spec = lab.pbx.spec

        def acd(engine: Engine) -> AcdService:
            return AcdService(engine.ami, {"bench": QUEUE}, sessions=self.sessions,
                              endpoints=engine.endpoints, bus=engine.bus, history=engine.history)
        self.engine = Engine(AmiAddress(spec.bind_address, spec.ami_port, spec.ami_username,
                                        spec.ami_secret), self.sessions, agi_host=lab.host,
                             agi_port=lab.agi_port, ivr_handler=hand_off, start_timeout=10, acd=acd)
        self.rang: asyncio.Queue = asyncio.Queue()
        self.joined: asyncio.Queue = asyncio.Queue()
        self.queued: asyncio.Queue = asyncio.Queue()
        self.rng = random.Random(1)

    async def start(self) -> None:
        await self.engine.start()
        w = self.lab.world.spec
        self.world_ami = AmiSession(w.bind_address, w.ami_port, w.ami_username, w.ami_secret)
        await self.world_ami.start()
        self.world = World(self.world_ami)
        self.world_ami.on("Newchannel", self._world_channel)
        self.engine.ami.on("QueueCallerJoin", lambda e: self.joined.put_nowait(e))
        self.engine.bus.subscribe("acd.call", self._acd_call)
        self.lab.world.rx(f"database put noanswer {SEAT} 1")
        await self.engine.acd.login("alice", SEAT)
        await self.engine.ami.action("QueueAdd", Queue="baseline", Interface=f"PJSIP/{SEAT}",
                                     Paused="true", MemberName="alice")

    async def stop(self) -> None:
        self.lab.world.rx(f"database del noanswer {SEAT}", check=False)
        await self.world_ami.stop()
        await self.engine.stop()

    def _world_channel(self, event) -> None:
        if event.context == "from-pbx" and event.exten == SEAT:
            self.rang.put_nowait(event.timestamp)

    def _acd_call(self, topic: str, payload: dict) -> None:
        if payload["event"] == "queued":
            self.queued.put_nowait(payload)

    async def trial(self, ours: bool) -> float:
        for q in (self.rang, self.joined, self.queued):
            while not q.empty():
                q.get_nowait()
        await self.world.place_call(OURS if ours else BASELINE, "+15554000001",
                                    script=CallerScript(delay=0, hold=120))
        entered = await asyncio.wait_for((self.queued if ours else self.joined).get(), 15)
        caller = self.engine.acd.book.get(entered["linkedid"]).channel if ours \
            else entered.get("Channel")
        # The caller settles into its wait; a random extra delay so the start falls
        # anywhere in app_queue's once-a-second recheck of its members.
        await asyncio.sleep(0.5 + self.rng.random())
        if ours:
            start = time.time()
            await self.engine.acd.ready("alice")
        else:
            start = time.time()
            await self.engine.ami.action("QueuePause", Queue="baseline",
                                         Interface=f"PJSIP/{SEAT}", Paused="false")
        rang_at = await asyncio.wait_for(self.rang.get(), 15)
        # The caller hangs up while the phone rings; the seat is made unavailable again.
        await self.engine.ami.action("Hangup", Channel=caller)
        if ours:
            await self._until_agent("ready")
            await self.engine.acd.not_ready("alice", "bench")
        else:
            await self.engine.ami.action("QueuePause", Queue="baseline",
                                         Interface=f"PJSIP/{SEAT}", Paused="true")
        await self._until_no_channels()
        return (rang_at - start) * 1000.0

    async def _until_agent(self, state: str) -> None:
        for _ in range(200):
            if self.engine.acd.router.agent("alice").state.value == state:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError(f"alice never became {state}")

    async def _until_no_channels(self) -> None:
        for _ in range(300):
            left = [await asyncio.to_thread(_channels, i) for i in (self.lab.pbx, self.lab.world)]
            if not any(left):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("channels left behind after a trial")


def _channels(instance) -> int:
    out = instance.rx("core show channels count", check=False)
    for line in out.splitlines():
        if "active channel" in line:
            return int(line.split()[0])
    return 0


async def amain(args) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    root = sandbox.ensure()
    lab = Lab(root, agi_port=ports.free_port(), ports=LabPorts.free(), prefix="bench")
    work = Path(tempfile.mkdtemp(prefix="acd_ring_"))
    await asyncio.to_thread(lab.start)
    try:
        await asyncio.to_thread(wait_registered, lab)
        bench = Bench(lab, work)
        await bench.start()
        try:
            print(f"lab: {lab.pbx.spec.name} + {lab.world.spec.name} ({sandbox.asterisk_version(root)}); "
                  f"{args.trials} trials each, alternating; warm-up {args.warmup} each", flush=True)
            ours, base = [], []
            for i in range(args.warmup + args.trials):
                a = await bench.trial(True)
                b = await bench.trial(False)
                if i >= args.warmup:
                    ours.append(a)
                    base.append(b)
        finally:
            await bench.stop()
    finally:
        await asyncio.to_thread(lab.stop)
        shutil.rmtree(work, ignore_errors=True)
    for name, values in (("ours (ACD: ready -> Redirect -> Dial)", ours),
                         ("app_queue (QueuePause off -> ring)", base)):
        print(f"{name}: p50 {pct(values, 50):.1f} ms  p99 {pct(values, 99):.1f} ms  "
              f"min {min(values):.1f}  max {max(values):.1f}  (n={len(values)})")
    print(f"acd_ring_latency_delta_p99: {pct(ours, 99) - pct(base, 99):.1f} ms")
    print(f"acd_ring_latency_delta_p50: {pct(ours, 50) - pct(base, 50):.1f} ms")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=2)
    return asyncio.run(amain(ap.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
