"""The IVR runtime on the lab: an engine whose FastAGI route is IvrRuntime.handle,
the menus of tests/lab/menus, and helpers to read what a call left behind."""
from __future__ import annotations

import asyncio
import functools
import shutil
import subprocess
import uuid
from pathlib import Path

from callcenter.engine import AmiAddress, Engine
from callcenter.history import CallHistory
from callcenter.world import CallerScript
from crm_core import interactions
from cti.bus import InProcessBus
from ivr.checks import CHECKS
from ivr.loader import MenuRegistry
from ivr.prompts import Prompts
from ivr.runtime import IvrRuntime

from .conftest import world_of
from .helpers import AmiEvents, CallEvents

MENUS = Path(__file__).parent / "menus"
INSIDE = "/var/lib/callcenter"  # the shared folder as both Asterisks see it
SOUNDS = "usr/share/asterisk/sounds"  # Asterisk's sounds inside the sandbox


def prompts_for(root: Path, cache: str = "tts", **kwargs) -> Prompts:
    return Prompts(cache_dir=root / INSIDE.lstrip("/") / cache, asterisk_dir=f"{INSIDE}/{cache}",
                   sounds_dir=root / SOUNDS, root=root, **kwargs)


@functools.cache
def registry_for(root: Path) -> MenuRegistry:
    """The lab menus, checked against the sandbox's sounds, text prompts made ahead."""
    prompts = prompts_for(root)
    registry = MenuRegistry(MENUS, prompt_exists=prompts.sound_exists, checks=CHECKS)
    problems = registry.reload()
    assert not problems, problems
    prompts.warm((prompt.for_language(lang), lang) for flow in registry.flows.values()
                 if flow.name != "lab-fault" for node in flow.nodes.values()
                 for prompt in node.prompts()
                 for lang in (flow.language, *prompt.by_language))
    return registry


def make_sound(root: Path, name: str, text: str, voice: str = "en-us") -> str:
    """A caller's utterance: espeak-ng text as 8 kHz mono WAV in the shared
    folder; returns the name CALLER_AUDIO plays."""
    folder = root / INSIDE.lstrip("/") / "lab-sounds"
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{name}.wav"
    if not final.exists():
        spoken = folder / f".{name}.espeak.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(spoken), "--", text], check=True)
        subprocess.run(["sox", str(spoken), "-r", "8000", "-c", "1", "-b", "16", str(final)],
                       check=True)
        spoken.unlink()
    return f"{INSIDE}/lab-sounds/{name}"


class BusEvents(CallEvents):
    """CallEvents for any topic pattern (the IVR's ivr.*)."""

    def __init__(self, bus, pattern: str):  # noqa: super().__init__ subscribes call.* only
        self.seen = []
        self._changed = asyncio.Condition()
        self._sub = bus.subscribe(pattern, self._on)


class IvrLab:
    """An engine running IvrRuntime on the lab, and the world to call it.

    ``crm_sessions`` is what the runtime asks the CRM through (default: the same
    database the history writes); the history always writes ``sessions``."""

    def __init__(self, lab, sessions, *, crm_sessions=None, recognizer=None,
                 crm_timeout: float = 1.0, prompts: Prompts | None = None, greeting_for=None):
        self.lab = lab
        self.sessions = sessions
        root = lab.pbx.root
        tag = f"ivr-lab/{uuid.uuid4().hex[:10]}"
        self.recordings = root / INSIDE.lstrip("/") / tag
        self.bus = InProcessBus()
        self.history = CallHistory(sessions)
        self.runtime = IvrRuntime(
            registry_for(root), prompts or prompts_for(root), sessions=crm_sessions or sessions,
            recognizer=recognizer, history=self.history, bus=self.bus,
            recordings=(self.recordings, f"{INSIDE}/{tag}"), crm_timeout=crm_timeout,
            greeting_for=greeting_for)
        spec = lab.pbx.spec
        self.engine = Engine(AmiAddress(spec.bind_address, spec.ami_port, spec.ami_username,
                                        spec.ami_secret), sessions, agi_host=lab.host,
                             agi_port=lab.agi_port, ivr_handler=self.runtime.handle,
                             history=self.history, bus=self.bus, start_timeout=10)

    async def __aenter__(self) -> "IvrLab":
        self.calls = CallEvents(self.bus)
        self.ivr = BusEvents(self.bus, "ivr.*")
        await self.engine.start()
        self.ami = AmiEvents(self.engine.ami)
        self.world = await world_of(self.lab)
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            self.hang_up_all()
            await self.world.ami.stop()
        finally:
            await self.engine.stop()
            shutil.rmtree(self.recordings, ignore_errors=True)

    # -- calls -------------------------------------------------------------
    async def call(self, did: str, number: str, script: CallerScript, name: str = ""):
        return await self.world.place_call(did, number, name, script)

    async def ended(self, count: int = 1, timeout: float = 40.0) -> list[dict]:
        return await self.calls.wait("call.ended", count=count, timeout=timeout)

    def hang_up_all(self) -> None:
        """Callers parked in ivr-queue (music) wait for an ACD that is not here."""
        self.lab.world.rx("channel request hangup all", check=False)

    async def in_queue_context(self, linkedid: str, timeout: float = 10.0) -> dict:
        """Wait until the call's channel runs in [ivr-queue]; its CC_* variables."""
        await self.channel_in("ivr-queue", linkedid, timeout)
        varsets = self.ami.matching("VarSet", linkedid=linkedid)
        return {v.variable: v.value for v in varsets if (v.variable or "").startswith("CC_")}

    async def channel_in(self, context: str, linkedid: str, timeout: float = 10.0):
        """The call's channel (CoreShowChannel) once it runs in ``context``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for channel in await self.engine.ami.action_list("CoreShowChannels"):
                if channel.linkedid == linkedid and channel.context == context:
                    return channel
            await asyncio.sleep(0.2)
        raise AssertionError(f"call {linkedid} never reached [{context}]")

    # -- what the call left ----------------------------------------------------
    async def ivr_segment(self, linkedid: str, timeout: float = 15.0) -> dict:
        """The detail of the call's IVR segment, once the history has it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with self.sessions() as s:
                row = interactions.by_linkedid(s, linkedid)
                segments = interactions.segments_of(s, row.id) if row else []
            ivr = [seg for seg in segments if seg.kind == "ivr"]
            if ivr:
                assert len(ivr) == 1, [seg.detail for seg in ivr]
                return ivr[0].detail
            if loop.time() > deadline:
                raise AssertionError(f"no IVR segment for {linkedid} in {timeout} s")
            await asyncio.sleep(0.2)

    def interaction(self, linkedid: str):
        with self.sessions() as s:
            return interactions.by_linkedid(s, linkedid)

    def links(self, linkedid: str) -> list:
        with self.sessions() as s:
            row = interactions.by_linkedid(s, linkedid)
            return interactions.links_of(s, row.id) if row else []


def steps(detail: dict) -> list[tuple[str, str]]:
    """The path as (node, kind) pairs."""
    return [(step["node"], step["kind"]) for step in detail["path"]]


def step_of(detail: dict, node: str) -> dict:
    found = [step for step in detail["path"] if step["node"] == node]
    assert len(found) == 1, detail["path"]
    return found[0]
