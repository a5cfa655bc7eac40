"""The ACD on the lab: an engine with the real IVR (the menus of acd_menus/, which
only hand callers to the queues of acd_queues.yaml) and the real ACD built by
callcenter.acd_setup, the world's desk phones 1001/1002 as agents' seats, and
helpers to read what the calls left behind."""
from __future__ import annotations

import asyncio
import functools
import shutil
import uuid
from pathlib import Path

from callcenter import acd_setup
from callcenter.engine import AmiAddress, Engine
from callcenter.history import CallHistory
from callcenter.settings import Settings
from callcenter.world import CallerScript
from crm_core import agent_skills, interactions, users
from cti.ami import AmiSession
from acd.model import AcdError
from cti.bus import InProcessBus
from ivr.checks import CHECKS
from ivr.loader import MenuRegistry
from ivr.runtime import IvrRuntime

from .conftest import world_of
from .helpers import AmiEvents
from .ivr_support import INSIDE, BusEvents, prompts_for

HERE = Path(__file__).parent
QUEUES = HERE / "acd_queues.yaml"
MENUS = HERE / "acd_menus"
SALES, SUPPORT, RUSH, LATE = "8005550301", "8005550302", "8005550303", "8005550304"
CARE = "8005550305"  # the call-control tests' queue: a 2 s wrap-up
OUTBOUND_CLI = "+18005550300"  # the caller ID of calls the ACD places
PASSWORD = "lab-password-1234"


@functools.cache
def registry() -> MenuRegistry:
    reg = MenuRegistry(MENUS, prompt_exists=lambda sound, language: True, checks=CHECKS)
    problems = reg.reload()
    assert not problems, problems
    return reg


async def originate_waiting_caller(lab, number: str, variables: dict[str, str]) -> str:
    """A "caller" put straight into [acd-wait] by an Originate on the pbx (no IVR):
    the pbx calls ``number`` at the world's carrier, which answers and stays on
    the line (talk/carrier), and the answered channel runs acd-wait with
    ``variables`` (CC_QUEUE ...). Returns the Originate's ActionID."""
    spec = lab.pbx.spec
    ami = AmiSession(spec.bind_address, spec.ami_port, spec.ami_username, spec.ami_secret,
                     start_timeout=10)
    await ami.start()
    try:
        response = await ami.action(
            "Originate", Channel=f"PJSIP/{number}@carrier", Context="acd-wait", Exten="s",
            Priority="1", CallerID=number, Timeout="10000", Async="true",
            Variable=[f"{k}={v}" for k, v in variables.items()])
        return response.get("ActionID")
    finally:
        await ami.stop()


def add_agent(sessions, username: str, skills: dict[str, int], role: str = "agent") -> int:
    """A CRM user with skills; returns the user id."""
    with sessions.begin() as s:
        user = users.create_user(s, username, PASSWORD, role, display_name=username.title())
        agent_skills.set_skills(s, username, skills)
        return user.id


class AcdLab:
    """An engine with the IVR and the ACD on the lab, and the world to call it."""

    def __init__(self, lab, sessions, *, queues_file: Path = QUEUES, crm_timeout: float = 1.0,
                 outbound_cli: str = OUTBOUND_CLI, greeting_for=None):
        self.lab = lab
        self.sessions = sessions
        root = lab.pbx.root
        tag = f"acd-lab/{uuid.uuid4().hex[:10]}"
        self.recordings = root / INSIDE.lstrip("/") / tag
        self.recordings.mkdir(parents=True, exist_ok=True)
        settings = Settings()
        settings.acd.queues_file = str(queues_file)
        settings.ivr.recordings_dir = f"{INSIDE}/{tag}"
        # (settings keys once the lead adds them to callcenter/settings.py)
        settings.acd.outbound_caller_id = outbound_cli
        settings.acd.dial_wrap_up = 2.0
        self.bus = InProcessBus()
        self.history = CallHistory(sessions)
        self.runtime = IvrRuntime(registry(), prompts_for(root), sessions=sessions,
                                  history=self.history, bus=self.bus,
                                  recordings=(self.recordings, f"{INSIDE}/{tag}"),
                                  crm_timeout=crm_timeout)
        self.prompts = prompts_for(root)
        factory = acd_setup.build_acd(settings, sessions, registry=registry(), sandbox_root=root,
                                      prompts=self.prompts, greeting_for=greeting_for)
        spec = lab.pbx.spec
        self.engine = Engine(AmiAddress(spec.bind_address, spec.ami_port, spec.ami_username,
                                        spec.ami_secret), sessions, agi_host=lab.host,
                             agi_port=lab.agi_port, ivr_handler=self.runtime.handle,
                             history=self.history, bus=self.bus, start_timeout=10, acd=factory)
        self.acd = self.engine.acd

    async def __aenter__(self) -> "AcdLab":
        self.events = BusEvents(self.bus, "acd.*")
        await self.engine.start()
        self.pbx = AmiEvents(self.engine.ami)
        self.world = await world_of(self.lab)
        self.phones = AmiEvents(self.world.ami, "UserEvent")
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            self.lab.world.rx("channel request hangup all", check=False)
            for phone in self.lab.phones:
                self.lab.world.rx(f"database del noanswer {phone}", check=False)
            await self.world.ami.stop()
        finally:
            await self.engine.stop()
            shutil.rmtree(self.recordings, ignore_errors=True)

    async def until(self, check, timeout: float = 15.0, what: str = "") -> None:
        """Wait until ``check()`` is true (polled; never a fixed sleep)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not check():
            if loop.time() > deadline:
                raise AssertionError(f"not within {timeout} s: {what or check}")
            await asyncio.sleep(0.05)

    async def in_state(self, username: str, state: str, timeout: float = 15.0) -> None:
        await self.until(lambda: self.agent_state(username)[0] == state, timeout,
                         f"{username} {state} (is {self.agent_state(username)})")

    async def on_duty(self, username: str, seat: str) -> None:
        """The agent logged in at ``seat`` and ready, whatever they were before."""
        acd = self.acd
        try:
            state = acd.router.agent(username).state.value
        except AcdError:
            state = "logged_out"
        if state == "logged_out":
            await acd.login(username, seat)
        elif state not in ("not_ready", "wrap_up", "ready"):
            await self.until(lambda: self.agent_state(username)[0] in
                             ("not_ready", "wrap_up", "ready"), what=f"{username} free")
        if self.agent_state(username)[0] != "ready":
            await acd.ready(username)

    async def off_duty(self, username: str, seat: str) -> None:
        """The agent logged in at ``seat`` and not ready (taking no call)."""
        if self.agent_state(username)[0] == "logged_out":
            await self.acd.login(username, seat)
        if self.agent_state(username)[0] in ("ready", "wrap_up"):
            await self.acd.not_ready(username, "break")

    def forget_events(self) -> None:
        """Start afresh: what earlier tests of a shared lab saw is dropped."""
        self.events.seen.clear()
        self.pbx.seen.clear()
        self.phones.seen.clear()

    # -- agents --------------------------------------------------------------
    async def agent_ready(self, username: str, seat: str, skills: dict[str, int]) -> int:
        user_id = add_agent(self.sessions, username, skills)
        await self.acd.login(username, seat)
        await self.acd.ready(username)
        return user_id

    def agent_state(self, username: str) -> tuple[str, str]:
        try:
            agent = self.acd.router.agent(username)
        except AcdError:  # never logged in
            return "logged_out", ""
        return agent.state.value, agent.reason

    async def agent_becomes(self, username: str, state: str, timeout: float = 15.0,
                            **fields) -> dict:
        return await self.wait_bus("acd.agent", timeout, agent=username, state=state, **fields)

    # -- calls ---------------------------------------------------------------
    async def call(self, did: str, number: str, hold: float = 20.0, keys: str = "",
                   delay: float = 0.5, name: str = "") -> None:
        await self.world.place_call(did, number, name, CallerScript(keys=keys, delay=delay,
                                                                    hold=hold))

    async def queued(self, caller: str, timeout: float = 15.0) -> str:
        """The linkedid of the caller's call once the ACD has queued it."""
        event = await self.wait_bus("acd.call", timeout, event="queued", caller=caller)
        return event["linkedid"]

    async def wait_bus(self, topic: str, timeout: float = 15.0, **fields) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for seen_topic, payload in self.events.seen:
                if seen_topic == topic and all(payload.get(k) == v for k, v in fields.items()):
                    return payload
            if loop.time() > deadline:
                raise AssertionError(f"no {topic} {fields} within {timeout} s; seen "
                                     f"{[(t, p.get('event') or p.get('state')) for t, p in self.events.seen][-30:]}")
            await asyncio.sleep(0.05)

    async def next_bus(self, topic: str, timeout: float = 5.0) -> dict:
        """The next ``topic`` event published from now on."""
        seen = len(self.events.seen)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for seen_topic, payload in self.events.seen[seen:]:
                if seen_topic == topic:
                    return payload
            await asyncio.sleep(0.05)
        raise AssertionError(f"no new {topic} within {timeout} s")

    def bus_events(self, topic: str, **fields) -> list[dict]:
        return [p for t, p in self.events.seen
                if t == topic and all(p.get(k) == v for k, v in fields.items())]

    async def phone_rang(self, phone: str, timeout: float = 15.0, **headers):
        """The world's PhoneRang user event: the pbx rang this desk phone."""
        return await self._phone_event("PhoneRang", timeout, Phone=phone, **headers)

    async def carrier_call(self, number: str, timeout: float = 20.0):
        return await self._phone_event("CarrierCall", timeout, Number=number)

    async def _phone_event(self, kind: str, timeout: float, **headers):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for event in self.phones.seen:
                if event.user_event == kind and all(event.get(k) == v for k, v in headers.items()):
                    return event
            if loop.time() > deadline:
                seen = [(e.user_event, e.get("Phone") or e.get("Number"), e.get("CallId"))
                        for e in self.phones.seen][-10:]
                dials = [(e.name, e.get("Channel"), e.get("DestChannel"), e.get("DialStatus"))
                         for e in self.pbx.seen if e.name in ("DialBegin", "DialEnd")][-10:]
                raise AssertionError(f"no world {kind} {headers} within {timeout} s; the world "
                                     f"saw {seen}; the pbx dialled {dials}")
            await asyncio.sleep(0.05)

    async def pbx_event(self, name: str, timeout: float = 10.0, **headers):
        """A pbx AMI event by its raw headers (for events without a typed class)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for event in self.pbx.seen:
                if event.name == name and all(event.get(k) == v for k, v in headers.items()):
                    return event
            if loop.time() > deadline:
                raise AssertionError(f"no pbx {name} {headers} within {timeout} s")
            await asyncio.sleep(0.05)

    def rang(self, phone: str) -> list:
        return [e for e in self.phones.seen if e.user_event == "PhoneRang"
                and e.get("Phone") == phone]

    # -- history ---------------------------------------------------------------
    async def segments(self, linkedid: str, kinds=("queue", "agent"), count: int = 1,
                       timeout: float = 15.0) -> list:
        """The call's segments of these kinds once at least ``count`` are written."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with self.sessions() as s:
                row = interactions.by_linkedid(s, linkedid)
                found = [seg for seg in (interactions.segments_of(s, row.id) if row else [])
                         if seg.kind in kinds]
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                raise AssertionError(f"only {len(found)} of {count} {kinds} segments of "
                                     f"{linkedid} within {timeout} s")
            await asyncio.sleep(0.2)

    def links(self, linkedid: str) -> list:
        with self.sessions() as s:
            row = interactions.by_linkedid(s, linkedid)
            return interactions.links_of(s, row.id) if row else []
