"""Call recording on the lab: the ACD lab (IVR, ACD, the world's desk phones)
plus the recording service exactly as callcenter.recording_setup builds it, a
policy file of the test's own, tones for each side of a call (the caller plays
440 Hz, a desk phone 1000 Hz: tone/<phone> in the world's AstDB), and helpers
to read what a recorded call left behind."""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
from pathlib import Path

import yaml

from callcenter import recording_setup
from callcenter.settings import Settings
from callcenter.world import CallerScript
from crm_core import interactions, recordings
from recording.audio import goertzel, read_wav, rms
from recording.policy import parse_policy

from .acd_support import QUEUES, AcdLab
from .ivr_support import INSIDE, BusEvents

CALLER_HZ, AGENT_HZ = 440, 1000
SOUND = re.compile(r"/[A-Za-z0-9_/-]{1,128}")  # what the world's dialplan will play


def make_tone(root: Path, freq: int, seconds: float) -> str:
    """A sine as 8 kHz mono WAV in the shared folder; the sound name to play."""
    folder = root / INSIDE.lstrip("/") / "lab-sounds"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"tone-{freq}-{seconds:g}s".replace(".", "_")
    final = folder / f"{name}.wav"
    if not final.exists():
        aside = folder / f".{name}.wav"
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(aside), "synth",
                        str(seconds), "sine", str(freq), "vol", "0.5"], check=True)
        aside.rename(final)
    return f"{INSIDE}/lab-sounds/{name}"


def set_phone_tone(lab, phone: str, sound: str | None) -> None:
    """The world's desk phone plays ``sound`` when it answers, then hangs up."""
    if not re.fullmatch(r"[0-9]{3,8}", phone):
        raise ValueError(f"not a desk phone: {phone!r}")
    if sound is None:
        lab.world.rx(f"database del tone {phone}", check=False)
        return
    if not SOUND.fullmatch(sound):
        raise ValueError(f"not a sound name: {sound!r}")
    lab.world.rx(f"database put tone {phone} {sound}")


@contextlib.contextmanager
def tiny_disk(folder: Path, size: str = "64k"):
    """A tmpfs of ``size`` mounted over ``folder`` (as root), unmounted after."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                    str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Write zeros into ``folder`` until its file system is full."""
    with open(folder / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            pass


class FixedDraw:
    """An rng whose every draw is ``value`` (a percent policy's forced coin)."""

    def __init__(self, value: float):
        self.value = value

    def random(self) -> float:
        return self.value


class RecLab:
    """AcdLab with the recording service on the same engine."""

    def __init__(self, lab, sessions, work: Path, policy: dict):
        self.lab = lab
        self.sessions = sessions
        self.acd_lab = AcdLab(lab, sessions)
        root = lab.pbx.root
        settings = Settings()
        settings.data_dir = str(work)
        settings.ivr.recordings_dir = "/" + str(self.acd_lab.recordings.relative_to(root))
        settings.recording.policy_file = str(work / "recording.yaml")
        settings.recording.store_dir = str(work / "store")
        Path(settings.recording.policy_file).write_text(yaml.safe_dump(policy))
        self.factory = recording_setup.build_recorder(
            settings, sessions, sandbox_root=root, prompts=self.acd_lab.prompts,
            queue_names=yaml.safe_load(QUEUES.read_text())["queues"])
        self.acd_lab.runtime.consent_for = self.factory.consent
        self.service = self.factory(self.acd_lab.engine)
        self.service.jobs = ()  # the tests run retention and compression themselves
        self.store = self.factory.store
        self.caller_tone = make_tone(root, CALLER_HZ, 20)

    async def __aenter__(self) -> "RecLab":
        self.service.attach()
        self.recording_events = BusEvents(self.acd_lab.bus, "recording.*")
        await self.acd_lab.__aenter__()
        await self.service.open()
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            await self.service.close()
        finally:
            await self.acd_lab.__aexit__(*exc)

    # -- shortcuts -----------------------------------------------------------------
    @property
    def acd(self):
        return self.acd_lab.acd

    def use_policy(self, policy: dict) -> None:
        self.factory.policy = parse_policy(policy)
        self.service.use_policy(self.factory.policy)

    def forget(self) -> None:
        self.acd_lab.forget_events()
        self.recording_events.seen.clear()

    async def talk(self, did: str, caller: str, agent_tone: float = 6) -> str:
        """A caller playing 440 Hz answered by alice at 1001, whose phone plays
        1000 Hz for ``agent_tone`` seconds and then hangs up; the linkedid."""
        set_phone_tone(self.lab, "1001", make_tone(self.lab.pbx.root, AGENT_HZ, agent_tone))
        await self.acd_lab.on_duty("alice", "1001")
        await self.acd_lab.world.place_call(did, caller, "", CallerScript(
            audio=self.caller_tone, delay=0.2, hold=1))
        linkedid = await self.acd_lab.queued(caller)
        await self.acd_lab.wait_bus("acd.call", event="answered", linkedid=linkedid)
        return linkedid

    async def event(self, topic: str, timeout: float = 20.0, **fields) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for seen_topic, payload in self.recording_events.seen:
                if seen_topic == topic and all(payload.get(k) == v for k, v in fields.items()):
                    return payload
            if loop.time() > deadline:
                raise AssertionError(f"no {topic} {fields} within {timeout} s; seen "
                                     f"{self.recording_events.seen[-10:]}")
            await asyncio.sleep(0.05)

    def events(self, topic: str, **fields) -> list[dict]:
        return [p for t, p in self.recording_events.seen
                if t == topic and all(p.get(k) == v for k, v in fields.items())]

    async def ended(self, linkedid: str) -> None:
        """The call is over and every recording of it finished."""
        await self.acd_lab.wait_bus("acd.call", event="ended", linkedid=linkedid, timeout=30)
        await self.service.idle()

    def rows(self, linkedid: str) -> list:
        with self.sessions() as s:
            row = interactions.by_linkedid(s, linkedid)
            return recordings.recordings_of(s, row.id) if row else []

    def store_files(self) -> list[Path]:
        return sorted(p for p in self.store.root.rglob("*") if p.is_file())

    def incoming_files(self) -> list[Path]:
        return sorted(p for p in self.service.incoming[0].iterdir() if p.is_file())


def energies(samples, rate: int = 8000) -> dict:
    """RMS and the amplitudes at the caller's and the agent's tones."""
    return {"rms": rms(samples), "caller": goertzel(samples, rate, CALLER_HZ),
            "agent": goertzel(samples, rate, AGENT_HZ)}


def window(channel, start: float, end: float, rate: int = 8000):
    return channel[int(start * rate):int(end * rate)]


def channels_of(path: Path):
    rate, chans = read_wav(path)
    assert rate == 8000
    return chans
