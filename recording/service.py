"""Call recording on Asterisk, by policy, following what Asterisk reports.

The recorder learns about calls from the ACD's ``acd.call`` events on the bus:
"answered" (an inbound ACD call, or a click-to-dial call once the customer
answered) names the caller's and the agent leg's uniqueids, and the policy
(recording.policy.decide) says whether the call is recorded now.  Recording is
AMI MixMonitor on the customer's channel (so it follows the caller through hold
and transfers: one recording per call), into Asterisk's incoming folder: stereo
is MixMonitor's r() and t() files (what the caller says, what they hear),
merged at the end into one stereo WAV, left the caller, right the agent; mixed
is MixMonitor's one file.  A callback has no caller channel when its agent
answers: its agent leg is recorded, the two sides swapped at the merge.

It follows Asterisk: MixMonitorStart makes a recording live, MixMonitorMute
(pause and resume from the console, PCI) records where the file holds silence,
MixMonitorStop (an on-demand stop) or the recorded channel's Hangup ends it
(Asterisk 22 raises no MixMonitorStop when the channel hangs up).  Then the
finishing step (recording.finish) waits until Asterisk has closed the files,
publishes them whole into the store and writes the ``recordings`` row and the
interaction's link.  Storage faults never touch the call: the recording is
given up, ``recording.alert`` is published and logged.

Bus events: ``recording.state`` {agent, linkedid, recording, paused, mode} on
every change an agent should see, ``recording.alert`` {level, message,
linkedid?}, ``recording.published`` {recording_id, linkedid, path, format,
channels, duration, paused} once a row exists.

The service is one object; its parts are mixins: recording.commands (the
console's start, stop, pause, resume, state), recording.finish (closing,
publishing, the CRM row).  Retention and compression run as periodic jobs.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from cti.ami_errors import AmiActionError, AmiError

from .commands import Commands
from .finish import Finishing
from .leftovers import Leftovers
from .live import CHANNEL_ID, RECORDING, USERNAME, LiveRecording, Talk
from .names import check_inside, file_id, incoming_files
from .policy import NAME as QUEUE_NAME, Policy, Rule, decide
from .store import Store, writable

__all__ = ["RecordingService"]

log = logging.getLogger("recording")

CONSENT_HEARD = "CC_CONSENT_HEARD"  # set to 1 by [acd-wait] once the announcement played
TALK_EVENTS = ("answered", "transferred", "ended")
MIN_FREE = 1 << 20  # bytes the incoming folder needs to start a recording


class RecordingService(Commands, Finishing, Leftovers):
    def __init__(self, ami, bus, sessions, policy: Policy, *, store: Store,
                 incoming: tuple[Path, str], rng: random.Random | None = None,
                 clock: Callable[[], float] = time.time, jobs=(), command_wait: float = 2.0,
                 close_wait: float = 10.0, db_attempts: int = 40):
        """``ami``: the engine's AmiSession; ``bus``: its event bus; ``sessions``: the
        CRM's sessionmaker; ``store``: where recordings are published; ``incoming``:
        (the folder Asterisk writes as we see it, the same folder as Asterisk sees
        it); ``rng``: draws the percent policy; ``jobs``: (seconds, job) pairs run
        periodically in a thread (retention, compression); ``close_wait``: seconds
        Asterisk gets to close a file once the call ends; ``db_attempts``: tries to
        write a row while the call's interaction is not written yet or the
        database hiccups (backing off to 5 s)."""
        host, inside = incoming
        self.ami = ami
        self.bus = bus
        self.sessions = sessions
        self.policy = policy
        self.store = store
        self.incoming = (Path(host), check_inside(inside.rstrip("/")))
        self.rng = rng or random.Random()
        self.clock = clock
        self.jobs = tuple(jobs)
        self.command_wait = command_wait
        self.close_wait = close_wait
        self.db_attempts = db_attempts
        self.talks: dict[str, Talk] = {}  # linkedid -> what the ACD said
        self.by_agent: dict[str, str] = {}  # agent -> linkedid of their talk
        self.by_channel: dict[str, LiveRecording] = {}  # uniqueid -> recording on it
        self._waiters: dict[tuple[str, str], list[asyncio.Future]] = {}
        self._subscriptions: list = []
        self._tasks: set[asyncio.Task] = set()
        self._loops: list[asyncio.Task] = []
        self._io = ThreadPoolExecutor(max_workers=2, thread_name_prefix="recording-io")
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording-db")
        self._finishing: set[str] = set()  # fids being finished now
        self._left_alerted: set[str] = set()  # leftovers already reported as stuck
        self.published = 0  # recordings finished and in the CRM (tests, the log)
        self.failed = 0  # recordings given up (storage faults)

    # -- wiring and lifecycle --------------------------------------------------------
    def attach(self) -> None:
        """Subscribe to the bus and the AMI events (before the engine starts, so no
        event is missed)."""
        self._subscriptions.append(self.bus.subscribe("acd.call", self._on_acd_call))
        for name, handler in (("MixMonitorStart", self._on_mixmonitor_start),
                              ("MixMonitorMute", self._on_mixmonitor_mute),
                              ("MixMonitorStop", self._on_mixmonitor_stop),
                              ("Hangup", self._on_hangup)):
            self._subscriptions.append(self.ami.on(name, self._guard(handler)))
        self._subscriptions.append(self.ami.on_connected(self._resync))

    async def open(self) -> None:
        """Start the periodic jobs (after the engine started).  Not ``start``: that
        is the console's command (start recording the agent's call)."""
        self.incoming[0].mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._loops = [loop.create_task(self._every(seconds, job), name=f"recording-{i}")
                       for i, (seconds, job) in enumerate(self.jobs)]
        # what an earlier run left recording when it stopped (recording.leftovers)
        self._loops.append(loop.create_task(self._sweep_loop(), name="recording-leftovers"))
        log.info("recording: on; store %s, Asterisk writes into %s", self.store.root,
                 self.incoming[1])

    async def close(self, timeout: float = 30.0) -> None:
        """Stop following calls (before the engine stops); recordings already
        finishing are given ``timeout``."""
        for sub in self._subscriptions:
            sub.cancel()
        self._subscriptions = []
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # a thread still in sox or the database finishes on its own; the loop goes on
        self._io.shutdown(wait=False, cancel_futures=True)
        self._db.shutdown(wait=False, cancel_futures=True)

    def use_policy(self, policy: Policy) -> None:
        """A reloaded policy: calls answered from now on follow it."""
        self.policy = policy

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until every recording under way has finished (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks or self.by_channel:
            if loop.time() > deadline:
                raise TimeoutError(f"recordings still under way after {timeout} s")
            await asyncio.sleep(0.05)

    # -- what the ACD says -----------------------------------------------------------
    def _on_acd_call(self, topic: str, payload: dict) -> None:
        event = payload.get("event")
        if event not in TALK_EVENTS:
            return
        linkedid = payload.get("linkedid")
        if not isinstance(linkedid, str) or not CHANNEL_ID.fullmatch(linkedid):
            log.warning("recording: acd.call %s without a usable linkedid: %r", event, linkedid)
            return
        try:
            if event == "answered":
                self._answered(linkedid, payload)
            elif event == "transferred":
                self._handed_on(linkedid, _name(payload.get("agent")))
            else:
                self._talk_over(linkedid)
        except Exception:  # one bad event must not stop the others
            log.exception("recording: acd.call %s of %s failed", event, linkedid)

    def _answered(self, linkedid: str, payload: dict) -> None:
        agent = _name(payload.get("agent"))
        direction = "outbound" if payload.get("direction") == "outbound" else "inbound"
        queue = payload.get("queue")
        queue = queue if isinstance(queue, str) and QUEUE_NAME.fullmatch(queue) else ""
        talk = self.talks.get(linkedid)
        if talk is None:
            talk = self.talks[linkedid] = Talk(linkedid, queue, direction)
        talk.channel = _channel(payload.get("channel"))
        talk.agent_channel = _channel(payload.get("agent_channel"))
        fresh = talk.recording is None  # else a transfer: the recording goes on with the caller
        if fresh:
            talk.queue = queue
            talk.decision = decide(self.policy, talk.queue or None, direction, self.rng)
            log.info("recording: call %s: %s", linkedid, talk.decision.why)
        self._handed_on(linkedid, agent)
        if fresh and talk.decision.record:
            self._spawn(self._begin(talk, talk.decision.rule, "policy"))

    def _handed_on(self, linkedid: str, agent: str | None) -> None:
        """The call's agent is now ``agent`` (None: no agent of ours any more)."""
        talk = self.talks.get(linkedid)
        if talk is None:
            return
        if talk.agent and self.by_agent.get(talk.agent) == linkedid and talk.agent != agent:
            del self.by_agent[talk.agent]
            self._publish(talk.agent, {"linkedid": linkedid, "recording": False,
                                       "paused": False, "mode": talk.mode})
        talk.agent = agent
        if agent is not None:
            self.by_agent[agent] = linkedid
            if talk.recording is not None and agent not in talk.recording.agents:
                talk.recording.agents.append(agent)
            self._publish_state(talk)

    def _talk_over(self, linkedid: str) -> None:
        self._handed_on(linkedid, None)
        talk = self.talks.get(linkedid)
        if talk is not None and talk.recording is None:
            del self.talks[linkedid]

    # -- starting a recording --------------------------------------------------------
    async def _begin(self, talk: Talk, rule: Rule, trigger: str) -> LiveRecording | None:
        """MixMonitor on the call's customer leg (the agent's, swapped, when there is
        none); None when it could not start (the call goes on, unrecorded)."""
        channel, swap = (talk.channel, False) if talk.channel else (talk.agent_channel, True)
        if channel is None or talk.recording is not None:
            return None
        problem = await self._in_io(writable, self.incoming[0], MIN_FREE)
        if problem:
            self._alert("error", f"call {talk.linkedid} is not recorded: {problem}", talk.linkedid)
            return None
        if rule.consent and talk.direction == "inbound" and not await self._heard(channel):
            self._alert("warning", f"call {talk.linkedid} is not recorded: the caller did not "
                        "hear the consent announcement", talk.linkedid)
            return None
        if talk.recording is not None or self.talks.get(talk.linkedid) is not talk:
            return None  # started meanwhile, or the call is over
        talk.seq += 1
        fid = file_id(talk.linkedid, talk.seq)
        files = incoming_files(self.incoming[0], self.incoming[1], fid, rule.channels == "stereo")
        rec = LiveRecording(talk.linkedid, fid, channel, swap, files, rule, talk.queue,
                            talk.direction, trigger, self.clock(),
                            agents=[talk.agent] if talk.agent else [])
        talk.recording = self.by_channel[channel] = rec  # before: its events may come first
        try:
            await self.ami.action("MixMonitor", Channel=channel, **files.mixmonitor())
        except AmiActionError as exc:  # the channel is gone: the call ended meanwhile
            log.info("recording: call %s not recorded: %s", talk.linkedid, exc.message)
            self._drop(rec)
            return None
        except (AmiError, ValueError) as exc:
            self._drop(rec)
            self._alert("error", f"call {talk.linkedid} is not recorded: MixMonitor could "
                        f"not be sent ({exc})", talk.linkedid)
            return None
        log.info("recording: call %s: MixMonitor on %s (%s%s) into %s", talk.linkedid, channel,
                 rule.channels, ", agent leg" if swap else "", ", ".join(files.inside))
        await self._started(rec)
        return rec

    async def _started(self, rec: LiveRecording) -> None:
        """Wait (briefly) for MixMonitorStart; an Asterisk that accepted MixMonitor
        but raises no such event (older than 16.17 / 18.3) is taken at its word."""
        if rec.started_at is not None or await self._reported(
                self._expect(rec.channel, "start"), rec.channel, "start"):
            return
        if self.by_channel.get(rec.channel) is rec and rec.started_at is None:
            log.warning("recording: call %s: no MixMonitorStart within %.1f s; recording from "
                        "the time MixMonitor was accepted", rec.linkedid, self.command_wait)
            rec.started_at, rec.phase = rec.requested_at, RECORDING
            talk = self.talks.get(rec.linkedid)
            if talk is not None:
                self._publish_state(talk)

    async def _heard(self, channel: str) -> bool:
        try:
            answer = await self.ami.action("Getvar", Channel=channel, Variable=CONSENT_HEARD)
        except (AmiError, ValueError):
            return False
        return answer.get("Value") == "1"

    def _drop(self, rec: LiveRecording) -> None:
        """A recording that never started."""
        if self.by_channel.get(rec.channel) is rec:
            del self.by_channel[rec.channel]
        talk = self.talks.get(rec.linkedid)
        if talk is not None and talk.recording is rec:
            talk.recording = None
            if talk.agent is None:
                del self.talks[rec.linkedid]

    # -- what Asterisk reports -----------------------------------------------------
    def _on_mixmonitor_start(self, event) -> None:
        rec = self.by_channel.get(_uniqueid(event))
        if rec is None or rec.started_at is not None:
            return  # someone else's MixMonitor
        rec.started_at, rec.phase = event.timestamp or self.clock(), RECORDING
        self._wake(rec.channel, "start")
        talk = self.talks.get(rec.linkedid)
        if talk is not None:
            self._publish_state(talk)

    def _on_mixmonitor_mute(self, event) -> None:
        rec = self.by_channel.get(_uniqueid(event))
        state = event.get("State")
        if rec is None or state not in ("0", "1"):
            return
        self._muted(rec, state == "1", event.timestamp or self.clock())

    def _on_mixmonitor_stop(self, event) -> None:
        rec = self.by_channel.get(_uniqueid(event))
        if rec is not None:
            self._ended(rec, event.timestamp or self.clock())

    def _on_hangup(self, event) -> None:
        rec = self.by_channel.get(_uniqueid(event))
        if rec is not None:
            self._ended(rec, event.timestamp or self.clock())

    def _ended(self, rec: LiveRecording, at: float) -> None:
        """MixMonitor is over on that channel: finish the files."""
        del self.by_channel[rec.channel]
        rec.ended_at, rec.phase = at, "finishing"
        self._wake(rec.channel, "stop")
        talk = self.talks.get(rec.linkedid)
        if talk is not None and talk.recording is rec:
            talk.recording = None
            if talk.agent is None:
                del self.talks[rec.linkedid]
            else:
                self._publish_state(talk)
        self._spawn(self._finish(rec))

    async def _resync(self) -> None:
        """After an AMI reconnect: a recorded channel Asterisk no longer has hung up
        while we could not hear it; finish its recording now."""
        if not self.by_channel:
            return
        try:
            channels = await self.ami.action_list("CoreShowChannels")
        except AmiError as exc:
            log.warning("recording: cannot list channels after reconnecting: %s", exc)
            return
        live = {ch.uniqueid for ch in channels}
        for rec in list(self.by_channel.values()):
            if rec.channel not in live:
                log.info("recording: call %s ended while the AMI link was down", rec.linkedid)
                self._ended(rec, self.clock())

    # -- waiting for Asterisk --------------------------------------------------------
    def _expect(self, channel: str, kind: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault((channel, kind), []).append(future)
        return future

    def _wake(self, channel: str, kind: str) -> None:
        for future in self._waiters.pop((channel, kind), []):
            if not future.done():
                future.set_result(True)

    async def _reported(self, future: asyncio.Future, channel: str, kind: str) -> bool:
        """True when Asterisk reported it within command_wait."""
        try:
            await asyncio.wait_for(asyncio.shield(future), self.command_wait)
            return True
        except asyncio.TimeoutError:
            waiting = self._waiters.get((channel, kind), [])
            if future in waiting:
                waiting.remove(future)
            return False

    # -- publishing ------------------------------------------------------------------
    def _publish_state(self, talk: Talk) -> None:
        if talk.agent is not None:
            self._publish(talk.agent, talk.view())

    def _publish(self, agent: str, view: dict) -> None:
        self._bus("recording.state", {"agent": agent, **view})

    def _bus(self, topic: str, payload: dict) -> None:
        try:
            self.bus.publish_nowait(topic, payload)
        except Exception:
            log.exception("recording: cannot publish %s", topic)

    def _alert(self, level: str, message: str, linkedid: str | None = None) -> None:
        log.log(logging.ERROR if level == "error" else logging.WARNING, "recording: %s", message)
        payload = {"level": level, "message": message}
        if linkedid:
            payload["linkedid"] = linkedid
        self._bus("recording.alert", payload)

    # -- tasks and threads -----------------------------------------------------------
    def _guard(self, handler):
        def run(event):
            try:
                handler(event)
            except Exception:
                log.exception("recording: %s handling failed", getattr(event, "name", "event"))
        return run

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("recording: background task failed", exc_info=task.exception())

    async def _in_io(self, work, *args):
        return await asyncio.get_running_loop().run_in_executor(self._io, work, *args)

    async def _in_db(self, work, *args):
        def run():
            with self.sessions.begin() as session:
                return work(session, *args)
        return await asyncio.get_running_loop().run_in_executor(self._db, run)

    async def _every(self, seconds: float, job) -> None:
        """A periodic job (retention, compression) in a thread, first run at once."""
        while True:
            try:
                await asyncio.get_running_loop().run_in_executor(None, job)
            except Exception:
                log.exception("recording: periodic job %s failed", getattr(job, "__name__", job))
            await asyncio.sleep(seconds)


def _name(value) -> str | None:
    return value if isinstance(value, str) and USERNAME.fullmatch(value) else None


def _uniqueid(event) -> str:
    """The channel an event is about (MixMonitor events are not typed in cti)."""
    value = getattr(event, "uniqueid", None) or event.get("Uniqueid")
    return value if isinstance(value, str) else ""


def _channel(value) -> str | None:
    return value if isinstance(value, str) and CHANNEL_ID.fullmatch(value) else None
