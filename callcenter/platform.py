"""`callcenter run`: the sandboxed Asterisk (or yours), the engine and the web,
in one process with one event loop, and a demo that makes calls flow."""
from __future__ import annotations

import asyncio
import gc
import logging
import signal
from pathlib import Path

from agent_console.app import create_app
from agent_console.server import WebServer
from agent_console.web_auth import load_secret_key
from asterisk_conf import sandbox
from asterisk_conf.lab import Lab, LabPorts, RTP_PORTS, wait_registered
from asterisk_conf import ports
from crm_core import db, interactions, migrate
from acd.model import AcdError
from cti.ami import AmiSession

from cti.bus import InProcessBus

from . import acd_setup, ivr_setup
from .engine import AmiAddress, Engine
from .history import CallHistory
from .settings import Settings
from .world import CallerScript, World

log = logging.getLogger("callcenter")

DEMO_CALLS = (  # (DID, caller, name, keys; w = half a second's pause)
    ("8005550100", "+15551230001", "Ada Lovelace", ""),  # VIP: straight to the VIP queue
    ("8005550100", "+15551230002", "Alan Turing", ""),  # open ticket: to support
    ("8005550100", "+442079460958", "Bletchley Park", "1"),  # shared line: menu, sales
    ("8005550199", "+4930123456", "", "3ww100004#"),  # unknown: types a customer code
)


def open_database(settings: Settings):
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database_url)
    migrate.upgrade(engine)
    return db.session_factory(engine)


def sandbox_lab(settings: Settings) -> Lab:
    root = sandbox.ensure(Path(settings.asterisk.sandbox_root) if settings.asterisk.sandbox_root
                          else None)
    a = settings.asterisk
    lab_ports = LabPorts(pbx_sip=a.sip_port, pbx_ami=a.ami_port, pbx_rtp=a.rtp_start,
                         world_sip=ports.free_port(a.ami_host), world_ami=ports.free_port(a.ami_host),
                         world_rtp=ports.free_udp_range(a.ami_host, RTP_PORTS))
    return Lab(root, agi_port=settings.agi.port, ports=lab_ports, prefix="run", host=a.ami_host)


async def run(settings: Settings, demo: bool = True) -> None:
    sessions = open_database(settings)
    if demo:
        from . import demo_data
        for line in demo_data.seed(sessions, settings.crm.default_region):
            print(f"demo data: {line}", flush=True)
    lab = sandbox_lab(settings) if settings.asterisk.mode == "sandbox" else None
    # The folder where Asterisk's "/" is, as we see it: files we share are named from it.
    files_root = lab.root if lab else (Path(settings.asterisk.files_root)
                                       if settings.asterisk.files_root else None)
    bus = InProcessBus()
    history = CallHistory(sessions, region=settings.crm.default_region)
    # Menus are validated before Asterisk starts: a broken file stops us here.
    ivr = ivr_setup.build_ivr(settings, sessions=sessions, history=history, bus=bus,
                              sandbox_root=files_root)
    # So is the queue file, and every queue the menus name must be in it.
    acd = acd_setup.build_acd(settings, sessions, registry=ivr.registry,
                              sandbox_root=files_root)
    if lab is not None:
        await asyncio.to_thread(lab.start)
        spec = lab.pbx.spec
        ami = AmiAddress(settings.asterisk.ami_host, spec.ami_port, spec.ami_username, spec.ami_secret)
    else:
        a = settings.asterisk
        ami = AmiAddress(a.ami_host, a.ami_port, a.ami_username, a.ami_secret)
    engine = Engine(ami, sessions, agi_host=settings.agi.host, agi_port=settings.agi.port,
                    ivr_handler=ivr.runtime.handle, history=history, bus=bus,
                    inbound_contexts=(settings.asterisk.inbound_context,),
                    region=settings.crm.default_region, acd=acd)
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, ivr_setup.reload_menus, ivr)
    web = WebServer(create_app(sessions, region=settings.crm.default_region,
                               secret_key=load_secret_key(settings.web.secret_key,
                                                          settings.data_dir),
                               secure_cookies=settings.web.cookies_secure),
                    settings.web.host, settings.web.port)
    try:
        await engine.start()
        web.start()
        settle_memory()
        print(f"callcenter: engine linked to Asterisk; call history at {web.url}", flush=True)
        if demo and lab is not None:
            await run_demo(lab, engine, sessions)
        print("callcenter: running; Ctrl-C stops everything", flush=True)
        await _until_signalled()
    finally:
        web.stop()
        await engine.stop()
        if lab is not None:
            await asyncio.to_thread(lab.stop)
        print("callcenter: stopped", flush=True)


DEMO_AGENTS = (("agent", "1001"), ("agent2", "1002"))  # demo users (demo_data) at the desk phones


async def run_demo(lab: Lab, engine: Engine, sessions) -> None:
    """Place a few callers from the world and show their calls landing in the history:
    the demo agents sit at the world's desk phones, which answer, so the ACD routes
    each caller to an agent."""
    await asyncio.to_thread(wait_registered, lab)
    w = lab.world.spec
    world_ami = AmiSession(w.bind_address, w.ami_port, w.ami_username, w.ami_secret)
    await world_ami.start()
    ended = asyncio.Queue()
    subs = [engine.bus.subscribe("call.ended", lambda topic, payload: ended.put_nowait(payload))]
    try:
        if engine.acd is not None:
            subs += await demo_agents(engine)
        world = World(world_ami)
        for did, number, name, keys in DEMO_CALLS:
            print(f"demo: {number} dials {did}" + (f" and presses {keys}" if keys else ""), flush=True)
            await world.place_call(did, number, name, CallerScript(keys=keys, delay=2.0, hold=8.0))
            await asyncio.wait_for(ended.get(), 60)
        await engine.history.flush()
        with sessions() as session:
            for row, customer in reversed(interactions.recent_with_customers(session, len(DEMO_CALLS))):
                who = customer or "not linked: unknown or shared number"
                print(f"history: {row.caller_number} ({who}) -> {row.dialled_number} keys={row.keys_pressed!r} "
                      f"answered={row.answered_at:%H:%M:%S} cause={row.hangup_cause} "
                      f"{row.hangup_cause_text} [{row.status}] linkedid={row.linkedid}", flush=True)
                for segment in interactions.segments_of(session, row.id):
                    print(f"    {describe_segment(segment)}", flush=True)
    finally:
        for sub in subs:
            sub.cancel()
        await world_ami.stop()


async def demo_agents(engine: Engine) -> list:
    """Log the demo agents in at the desk phones and make them ready; they finish
    their after-call work a second after each call, so the demo does not wait."""
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
    path = " > ".join(step["node"] for step in d.get("path", []))
    return f"{segment.kind}: {path} ({d.get('outcome')})"


def settle_memory() -> None:
    """Move everything built at start-up (modules, menus, SQLAlchemy metadata) out of
    the garbage collector's sight: full collections then scan only what calls
    create, instead of pausing the event loop for 70-150 ms each under load."""
    gc.collect()
    gc.freeze()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
