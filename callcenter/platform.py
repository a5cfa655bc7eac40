"""`callcenter run`: the sandboxed Asterisk (or yours), the engine and the web,
in one process with one event loop, and a demo that makes calls flow."""
from __future__ import annotations

import asyncio
import gc
import logging
import signal
from pathlib import Path

from agent_console.app import create_app
from agent_console.desk import Desk
from agent_console.feeds import Feeds
from agent_console.push import Hub
from agent_console.server import WebServer
from agent_console.web_auth import load_secret_key
from asterisk_conf import sandbox
from asterisk_conf.lab import Lab, LabPorts, RTP_PORTS
from asterisk_conf import ports
from crm_core import db, migrate
from cti.bus import InProcessBus

from . import acd_setup, ivr_setup, recording_setup, voicemail_setup
from .engine import AmiAddress, Engine
from .history import CallHistory
from .settings import Settings
from .demo import Demo

log = logging.getLogger("callcenter")

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


class Platform:
    """Everything `callcenter run` starts, as one object: the database, the
    IVR and ACD (menus and queues validated before Asterisk starts), Asterisk
    (the sandbox's, unless ``lab`` is a running one or the configuration names
    yours), the engine and the web with its push feeds. Tests and benchmarks
    start exactly this."""

    def __init__(self, settings: Settings, *, lab: Lab | None = None):
        self.settings = settings
        self.lab = lab
        self._own_lab = lab is None and settings.asterisk.mode == "sandbox"
        if lab is not None:  # the FastAGI server must be where that lab's dialplan calls
            settings.agi.host, settings.agi.port = lab.host, lab.agi_port
        self.sessions = open_database(settings)
        self.engine: Engine | None = None
        self.web: WebServer | None = None
        self.feeds: Feeds | None = None
        self.recording = self.recorder = self.voicemail = None
        self._lab_started = False

    async def start(self) -> None:
        settings = self.settings
        if self._own_lab:
            self.lab = sandbox_lab(settings)
        # The folder where Asterisk's "/" is, as we see it: files we share are named from it.
        files_root = self.lab.root if self.lab else (
            Path(settings.asterisk.files_root) if settings.asterisk.files_root else None)
        bus = InProcessBus()
        history = CallHistory(self.sessions, region=settings.crm.default_region)
        # Every file (menus, queues, mailboxes, recording policy) is validated, and
        # the prompts synthesised, before Asterisk starts: a broken file stops us here.
        await asyncio.to_thread(self._prepare, bus, history, files_root)
        if self._own_lab:
            await asyncio.to_thread(self.lab.start)
            self._lab_started = True
        self.engine = Engine(self._ami_address(), self.sessions, agi_host=settings.agi.host,
                             agi_port=settings.agi.port, ivr_handler=self.ivr.runtime.handle,
                             history=history, bus=bus,
                             inbound_contexts=(settings.asterisk.inbound_context,),
                             region=settings.crm.default_region, acd=self._acd)
        await self._start_engine(bus)
        self.web.start()

    def _prepare(self, bus, history, files_root: Path | None) -> None:
        """The IVR, the ACD, voicemail and recording from their files (blocking)."""
        settings = self.settings
        mailboxes = voicemail_setup.mailboxes_of(settings)
        prompts = ivr_setup.build_prompts(settings, files_root)
        greeting_for = voicemail_setup.make_greetings(mailboxes, prompts)
        self.ivr = ivr_setup.build_ivr(settings, sessions=self.sessions, history=history,
                                       bus=bus, sandbox_root=files_root, prompts=prompts,
                                       greeting_for=greeting_for)
        # Every queue the menus name must be in the queue file.
        self._acd = acd_setup.build_acd(settings, self.sessions, registry=self.ivr.registry,
                                        sandbox_root=files_root, prompts=prompts,
                                        greeting_for=greeting_for)
        queues = acd_setup.load(settings)
        voicemail_setup.check_mailboxes(mailboxes, self.ivr.registry, queues,
                                        settings.recording.policy_file)
        self.recording = recording_setup.build_recorder(
            settings, self.sessions, sandbox_root=files_root, prompts=prompts,
            queue_names=list(queues) if queues else None)
        if self.recording is not None:
            self.ivr.runtime.consent_for = self.recording.consent
        self.voicemail = voicemail_setup.build_voicemail(
            settings, self.sessions, mailboxes=mailboxes, registry=self.ivr.registry,
            sandbox_root=files_root)

    async def _start_engine(self, bus) -> None:
        """Everything that listens to the engine subscribes before it starts, so
        no event is missed; then the engine, the recorder and voicemail start."""
        self.recorder = self.recording(self.engine) if self.recording is not None else None
        if self.recorder is not None:
            self.recorder.attach()
        self.voicemail.service.dialled_of = self.engine.dialled_number
        self.voicemail.attach(bus)
        self.web, self.feeds = build_web(self.settings, self.sessions, self.engine,
                                         recorder=self.recorder)
        self.feeds.attach(bus)
        await self.engine.start()
        if self.recorder is not None:
            await self.recorder.open()
        await self.voicemail.start()

    def reload(self) -> None:
        """SIGHUP: the menus and the recording policy again; a broken file leaves
        the last good one active."""
        ivr_setup.reload_menus(self.ivr)
        if self.recording is not None:
            queues = acd_setup.load(self.settings)
            self.recording.reload(list(queues) if queues else None)

    def _ami_address(self) -> AmiAddress:
        if self.lab is not None:
            spec = self.lab.pbx.spec
            return AmiAddress(spec.bind_address, spec.ami_port, spec.ami_username, spec.ami_secret)
        a = self.settings.asterisk
        return AmiAddress(a.ami_host, a.ami_port, a.ami_username, a.ami_secret)

    @property
    def url(self) -> str:
        return self.web.url if self.web else ""

    async def stop(self) -> None:
        """Whatever was started, in reverse; safe after a failed start."""
        try:
            if self.feeds is not None:
                self.feeds.close()  # ends the browsers' event streams: the web stops at once
            if self.web is not None:
                await asyncio.to_thread(self.web.stop)
            if self.voicemail is not None:
                await self.voicemail.stop()
            if self.recorder is not None:
                await self.recorder.close()
            if self.engine is not None:
                await self.engine.stop()
        finally:
            if self._lab_started:
                await asyncio.to_thread(self._stop_lab)

    def _stop_lab(self) -> None:
        """Our own sandbox: its calls are the demo's, so they end now rather than
        Asterisk's graceful stop waiting for them."""
        for instance in (self.lab.world, self.lab.pbx):
            if instance.running:
                instance.rx("channel request hangup all", check=False)
        self.lab.stop()


async def run(settings: Settings, demo: bool = True) -> None:
    platform = Platform(settings)
    show = None
    if demo:
        from . import demo_data
        for line in demo_data.seed(platform.sessions, settings.crm.default_region):
            print(f"demo data: {line}", flush=True)
    try:
        await platform.start()
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, platform.reload)
        settle_memory()
        print(f"callcenter: engine linked to Asterisk; agent console and wallboard at "
              f"{platform.url} (sign in as agent, agent2 or supervisor)", flush=True)
        if demo and platform.lab is not None:
            show = Demo(platform.lab, platform.engine, platform.sessions)
            await show.start()
        print("callcenter: running; Ctrl-C stops everything", flush=True)
        await _until_signalled()
    finally:
        if show is not None:
            await show.stop()
        await platform.stop()
        print("callcenter: stopped", flush=True)


def build_web(settings: Settings, sessions, engine: Engine,
              recorder=None) -> tuple[WebServer, Feeds]:
    """The web app on a thread of this process, linked to the engine: commands
    go through the Desk (onto this loop), the engine's bus feeds the pages."""
    hub = Hub()
    feeds = Feeds(hub, sessions, region=settings.crm.default_region, acd=engine.acd)
    app = create_app(sessions, region=settings.crm.default_region,
                     secret_key=load_secret_key(settings.web.secret_key, settings.data_dir),
                     secure_cookies=settings.web.cookies_secure,
                     desk=Desk(asyncio.get_running_loop(), engine.acd, recorder=recorder),
                     hub=hub, feeds=feeds, not_ready_reasons=settings.web.reasons,
                     recordings_dir=recording_setup.store_dir(settings))
    return WebServer(app, settings.web.host, settings.web.port), feeds


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
