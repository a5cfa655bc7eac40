"""The demo of `callcenter run`: the demo agents take seats at the world's desk
phones, a few scripted callers show the IVR and the ACD at work and their calls
are printed as they land in the history; then a caller every DEMO_GAP seconds
keeps the agent console and the wallboard alive for whoever watches them (sign
in as agent, agent2 or supervisor)."""
from __future__ import annotations

import asyncio
import itertools
import logging

from acd.model import AcdError
from asterisk_conf.lab import Lab, wait_registered
from crm_core import interactions
from cti.ami import AmiSession

from .engine import Engine
from .world import CallerScript, World

log = logging.getLogger(__name__)

DEMO_CALLS = (  # (DID, caller, name, keys; w = half a second's pause)
    ("8005550100", "+15551230001", "Ada Lovelace", ""),  # VIP: straight to the VIP queue
    ("8005550100", "+15551230002", "Alan Turing", ""),  # open ticket: to support
    ("8005550100", "+442079460958", "Bletchley Park", "1"),  # shared line: menu, sales
    ("8005550199", "+4930123456", "", "3ww100004#"),  # unknown: types a customer code
)
# Afterwards, in turn: callers who stay on the line long enough to be put on hold,
# transferred or listened to.
TRICKLE = DEMO_CALLS[:3] + (("8005550100", "+8613800138000", "", "2"),
                            ("8005550100", "+4930123456", "", "2"))
DEMO_GAP = 30.0  # seconds between two trickle callers
TRICKLE_HOLD = 40.0  # seconds a trickle caller stays on the line
DEMO_AGENTS = (("agent", "1001"), ("agent2", "1002"))  # demo users (demo_data) at the desk phones


class Demo:
    def __init__(self, lab: Lab, engine: Engine, sessions):
        self.lab, self.engine, self.sessions = lab, engine, sessions
        self._trickle: asyncio.Task | None = None
        self._ami: AmiSession | None = None

    async def start(self) -> None:
        """The scripted calls, printed; then the trickle in the background."""
        await asyncio.to_thread(wait_registered, self.lab)
        w = self.lab.world.spec
        self._ami = AmiSession(w.bind_address, w.ami_port, w.ami_username, w.ami_secret)
        await self._ami.start()
        world = World(self._ami)
        quick = await demo_agents(self.engine) if self.engine.acd is not None else []
        try:
            await scripted_calls(world, self.engine, self.sessions)
        finally:
            for sub in quick:  # from now on the queues' own wrap-up times apply
                sub.cancel()
        self._trickle = asyncio.get_running_loop().create_task(trickle(world), name="demo")
        print(f"demo: a caller every {DEMO_GAP:.0f} s from now on; seat 1003 is a free phone "
              "for a supervisor to listen in", flush=True)

    async def stop(self) -> None:
        if self._trickle is not None:
            self._trickle.cancel()
            await asyncio.gather(self._trickle, return_exceptions=True)
        if self._ami is not None:
            await self._ami.stop()


async def scripted_calls(world: World, engine: Engine, sessions) -> None:
    ended = asyncio.Queue()
    sub = engine.bus.subscribe("call.ended", lambda topic, payload: ended.put_nowait(payload))
    try:
        for did, number, name, keys in DEMO_CALLS:
            print(f"demo: {number} dials {did}" + (f" and presses {keys}" if keys else ""),
                  flush=True)
            await world.place_call(did, number, name, CallerScript(keys=keys, delay=2.0, hold=14.0))
            await asyncio.wait_for(ended.get(), 60)
    finally:
        sub.cancel()
    await engine.history.flush()
    print_history(sessions, len(DEMO_CALLS))


async def trickle(world: World) -> None:
    for did, number, name, keys in itertools.cycle(TRICKLE):
        await asyncio.sleep(DEMO_GAP)
        try:
            world.place_call(did, number, name, CallerScript(keys=keys, delay=2.0,
                                                             hold=TRICKLE_HOLD))
        except Exception as exc:  # the world's AMI went away: the demo simply stops calling
            log.warning("demo: cannot place a call (%s)", exc)
            return


def print_history(sessions, count: int) -> None:
    with sessions() as session:
        for row, customer in reversed(interactions.recent_with_customers(session, count)):
            who = customer or "not linked: unknown or shared number"
            print(f"history: {row.caller_number} ({who}) -> {row.dialled_number} "
                  f"keys={row.keys_pressed!r} answered={row.answered_at:%H:%M:%S} "
                  f"cause={row.hangup_cause} {row.hangup_cause_text} [{row.status}] "
                  f"linkedid={row.linkedid}", flush=True)
            for segment in interactions.segments_of(session, row.id):
                print(f"    {describe_segment(segment)}", flush=True)


async def demo_agents(engine: Engine) -> list:
    """Log the demo agents in at the desk phones and make them ready; during the
    scripted calls they finish their after-call work a second after each call,
    so the demo does not wait (the returned subscriptions stop that)."""
    acd = engine.acd
    for username, seat in DEMO_AGENTS:
        for attempt in range(50):  # the phone's registration may still be on its way
            try:
                await acd.login(username, seat)
                break
            except AcdError as exc:
                if attempt == 49 or "not registered" not in str(exc):
                    print(f"demo: agent {username} cannot log in: {exc}", flush=True)
                    break
                await asyncio.sleep(0.2)
        else:
            continue
        await acd.ready(username)
        print(f"demo: agent {username} logged in at seat {seat} and is ready", flush=True)

    async def end_wrap_up(topic: str, payload: dict) -> None:
        if payload["state"] == "wrap_up":
            await asyncio.sleep(1.0)
            try:
                await acd.end_wrap_up(payload["agent"])
            except AcdError:
                pass  # ended meanwhile
    return [engine.bus.subscribe("acd.agent", end_wrap_up)]


def describe_segment(segment) -> str:
    """One line for a history segment: the IVR path, a queue stay, a talk with an agent."""
    d = segment.detail
    if segment.kind == "queue":
        who = f" by {d['agent']}" if d.get("agent") else ""
        more = f" to {d['to']}" if d.get("to") else ""
        return f"queue {d.get('queue')}: {d.get('outcome')}{more}{who} after {d.get('waited')} s"
    if segment.kind == "agent":
        kind = "called back" if d.get("callback") else "talked with"
        return (f"agent: {d.get('agent')} (user {segment.agent_id}, seat {d.get('seat')}) "
                f"{kind} the caller for {d.get('talk')} s")
    if segment.kind == "transfer":
        how = "attended" if d.get("attended") else "blind"
        return (f"transfer ({how}) by {d.get('agent') or d.get('from')} to {d.get('kind')} "
                f"{d.get('target')}: {d.get('outcome')}")
    path = " > ".join(step["node"] for step in d.get("path", []))
    return f"{segment.kind}: {path} ({d.get('outcome')})"
