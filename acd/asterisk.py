"""The ACD on a real Asterisk: callers wait inside Asterisk, the router decides.

``AcdService`` is the adapter between the pure ``Router`` and Asterisk.  The
dialplan ([acd-wait], see asterisk_conf/templates/extensions.pbx.conf.j2)
raises an ``AcdEnqueue`` user event and keeps the caller on music; the service
checks the event, asks the CRM (in a thread, with a deadline) whether the
caller is a VIP and who served them last, and enqueues the call.  Every routing
decision becomes a Redirect of the caller's channel to [acd-connect], where
Dial() rings the agent's seat.  From then on the service follows what Asterisk
reports, never what it hoped: DialEnd says whether the agent answered, the
agent leg's Hangup ends the talk (wrap-up), Hold/Unhold on it, the caller's
Hangup while waiting is an abandon.  A tick every half second applies wrap-up
ends and max-wait overflows; the wallboard snapshot goes on the bus every
second.

The service is one object; its parts live in mixin modules, one concern each:
adapter_admit (a caller arrives, the CRM is asked), adapter_offers (ringing the
agent and following Dial), adapter_overflow (max-wait overflows),
adapter_callback (virtual hold and callbacks), adapter_agents (agents'
commands, phones that unregister), adapter_history (the call's segments),
adapter_resync (after an AMI reconnect), and the agent's call control:
adapter_control (hold, resume, hang up, the console's view of the call),
adapter_transfer and adapter_consult (blind and attended transfers),
adapter_dial (click-to-dial), adapter_monitor (listen, whisper, barge),
adapter_supervise (supervisors change agents' states); adapter_parse checks
everything read from Asterisk, control_input everything agents and
supervisors ask, and adapter_calls keeps the Asterisk side of each call.  The
FastAGI routes (announcements, voicemail overflow) are in announce.

Bad input from Asterisk (a malformed event, an unknown queue) is logged and
replaced by something safe; a fault in one call never stops the others.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from cti.ami_errors import AmiError
from cti.bus import EventBus
from cti.endpoints import EndpointTracker

from .adapter_admit import Admission
from .adapter_agents import AgentCommands
from .adapter_calls import CallBook, LiveCall
from .adapter_callback import Callbacks
from .adapter_consult import Consultations
from .adapter_control import CallControl
from .adapter_dial import Dialling
from .adapter_due import DueCallbacks
from .adapter_history import HistoryRecorder
from .adapter_monitor import Monitoring
from .adapter_offers import Offers
from .adapter_overflow import Overflows
from .adapter_callback import E164
from .adapter_parse import Enqueue, callback_number
from .adapter_resync import Resync
from .adapter_supervise import Supervision
from .adapter_transfer import Transfers
from .control_input import caller_id
from .model import AcdError, Agent, AgentState, QueueConfig
from .router import Router
from .stats import AcdStats

__all__ = ["AcdService", "offer_text"]

log = logging.getLogger("acd.asterisk")

KEY_WORDS = {"*": "star", "#": "pound"}


def offer_text(key: str) -> str:
    """What a caller of a queue with a callback key is told after the announcement."""
    return f"To be called back instead, press {KEY_WORDS.get(key, key)}."

class AcdService(Admission, Offers, Overflows, Callbacks, DueCallbacks, AgentCommands,
                 HistoryRecorder, Resync, CallControl, Transfers, Consultations, Dialling,
                 Monitoring, Supervision):
    def __init__(self, ami, queues: Mapping[str, QueueConfig], *, sessions=None,
                 endpoints: EndpointTracker | None = None, bus: EventBus | None = None,
                 history=None, region: str = "US", stats_interval: float = 1800,
                 stats_tz=None, crm_timeout: float = 2.0, tick_interval: float = 0.5,
                 publish_period: float = 1.0, dialled_of: Callable[[str], str | None] | None = None,
                 recordings: tuple[Path, str] | None = None, online_check: float = 5.0,
                 vip_levels: Iterable[str] = ("vip",), clock: Callable[[], float] = time.time,
                 callback_poll: float | None = 5.0,
                 say: Callable[[str, str], str | None] | None = None, language: str = "en",
                 outbound_cli: str = "", dial_wrap_up: float | None = None,
                 greeting_for: Callable[[str], str | None] | None = None):
        """``ami``: an AmiSession; ``sessions``: the CRM's sessionmaker (None: no CRM
        facts, no persisted callbacks); ``history``: has record_segment/record_link
        (callcenter.history.CallHistory); ``dialled_of(linkedid)``: the number a
        call dialled (the callback shows it to the customer); ``recordings``: (folder as we
        see it, the same folder as Asterisk sees it) for voicemail overflows;
        ``callback_poll``: seconds between looks for due CRM callbacks (None: never);
        ``say(text, language)``: a sound name for a sentence (text-to-speech, made by
        the composition root) or None; with it, callers of a queue with a
        ``callback_key`` are offered a callback after each announcement (None: no
        offer); ``outbound_cli``: the caller ID (a number, e.g. the DID) shown on
        calls the ACD places through the carrier (click-to-dial, transfers to a
        number; "" lets the carrier decide); ``dial_wrap_up``: seconds of
        after-call work after a click-to-dial call (None: the first queue's);
        ``greeting_for(mailbox)``: the sound name of a voicemail mailbox's own greeting,
        or None (then the stock vm-intro plays)."""
        if not queues:
            raise ValueError("the ACD needs at least one queue")
        self.ami = ami
        self.sessions = sessions
        self.endpoints = endpoints if endpoints is not None else EndpointTracker()
        self.bus = bus
        self.history = history
        self.region = region
        self.crm_timeout = crm_timeout
        self.tick_interval = tick_interval
        self.publish_period = publish_period
        self.dialled_of = dialled_of
        self.vip_levels = tuple(vip_levels)
        self.clock = clock
        self.recordings = recordings
        self.greeting_for = greeting_for
        self.online_check = online_check
        self.router = Router(queues, on_decision=self._on_decision, on_agent=self._on_agent)
        kwargs = {"tz": stats_tz} if stats_tz is not None else {}
        self.stats = AcdStats(self.router.queues, interval=stats_interval, **kwargs)
        self.default_queue = next(iter(self.router.queues))
        try:
            self.outbound_cli = caller_id(outbound_cli)
        except ValueError as exc:
            raise ValueError(f"acd: {exc}") from None
        if dial_wrap_up is not None and not 0 <= dial_wrap_up <= 3600:
            raise ValueError(f"acd: dial_wrap_up must be 0-3600 seconds, got {dial_wrap_up!r}")
        self.dial_wrap_up = (self.router.queues[self.default_queue].wrap_up
                             if dial_wrap_up is None else float(dial_wrap_up))
        self.book = CallBook()
        self._arriving: dict[str, Enqueue] = {}  # caller uniqueid -> event, CRM asked
        self._admitted: dict[str, asyncio.Event] = {}  # call id -> set once in the router
        self._tasks: set[asyncio.Task] = set()
        self._loops: list[asyncio.Task] = []
        self._subscriptions: list = []
        self._init_callbacks()
        self._init_due(callback_poll)
        self._init_control()
        self._init_consult()
        self._init_monitors()
        self.say = say
        self.language = language
        self.offer_sounds: dict[str, str | None] = {}  # callback key -> sound, once made
        self.problems = 0  # bad events and failed actions seen (for tests and the log)

    # -- wiring and lifecycle ----------------------------------------------------------
    def attach(self) -> None:
        """Subscribe to the AMI events the ACD follows (before the session starts).
        Several parts may follow one event; each only acts on its own calls."""
        handlers = {
            "UserEvent": [self._on_user_event],
            "DialBegin": [self._on_dial_begin, self._on_consult_dial_begin,
                          self._on_outbound_dial_begin],
            "DialEnd": [self._on_dial_end, self._on_consult_dial_end,
                        self._on_outbound_dial_end, self._on_transfer_dial_end],
            "Hangup": [self._on_hangup],
            "Hold": [self._on_hold], "Unhold": [self._on_hold],
            "OriginateResponse": [self._on_originate],
            "ContactStatus": [self._on_contact_status],
            "MusicOnHoldStart": [self._on_moh_start],
            "BridgeEnter": [self._on_bridge_enter], "BridgeLeave": [self._on_bridge_leave],
            "ChanSpyStart": [self._on_spy_start], "DTMFEnd": [self._on_spy_dtmf]}
        for name, parts in handlers.items():
            for handler in parts:
                self._subscriptions.append(self.ami.on(name, self._guard(handler)))

    def _on_originate(self, event) -> None:
        if not self._on_monitor_originated(event):
            self._on_originate_response(event)

    def _guard(self, handler):
        def run(event):
            try:
                handler(event)
            except Exception:  # one bad event must not stop the others
                self.problems += 1
                log.exception("acd: %s handling failed", getattr(event, "name", "event"))
        return run

    def agi_routes(self) -> dict:
        """The FastAGI routes the dialplan calls: the announcer and the voicemail overflow."""
        from .announce import Announcer, VoicemailRoute
        self.announcer = Announcer(self)
        self.voicemail = VoicemailRoute(self, self.recordings, greeting_for=self.greeting_for)
        return {"acd-announce": self.announcer, "acd-voicemail": self.voicemail}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loops = [loop.create_task(self._tick_loop(), name="acd-tick"),
                       loop.create_task(self._publish_loop(), name="acd-stats"),
                       loop.create_task(self.watch_online(), name="acd-online")]
        if self.sessions is not None and self.callback_poll:
            self._loops.append(loop.create_task(self._due_loop(), name="acd-due-callbacks"))
        if self.say is not None:
            self._loops.append(loop.create_task(self._warm_offers(), name="acd-offer-prompts"))
        log.info("acd: queues %s; first queue %s is where a malformed call goes",
                 ", ".join(self.router.queues), self.default_queue)

    async def stop(self) -> None:
        for sub in self._subscriptions:
            sub.cancel()
        self._subscriptions = []
        for task in self._loops + list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        self._loops, self._tasks = [], set()
        try:  # callers arriving from now on wait with plain music
            await asyncio.wait_for(self.ami.action("Setvar", Variable="ACD_ONLINE", Value="0"), 2)
        except (AmiError, asyncio.TimeoutError):
            pass

    # -- the callback offer ------------------------------------------------------------
    async def _warm_offers(self) -> None:
        """Make the offer prompts ahead of calls (in a thread: espeak takes a while)."""
        keys = sorted({q.callback_key for q in self.router.queues.values() if q.callback_key})
        try:
            made = await asyncio.to_thread(self._make_offers, keys)
        except Exception:  # never reached in practice: _make_offers catches its own
            log.exception("acd: the callback offer prompts could not be made")
            return
        if made:
            log.info("acd: callback offer prompt(s) ready for key(s) %s", ", ".join(made))

    def _make_offers(self, keys: list[str]) -> list[str]:
        made, failed = [], []
        for key in keys:
            try:
                sound = self.say(offer_text(key), self.language)
            except Exception as exc:
                sound = None
                failed.append(f"{key} ({exc.__class__.__name__}: {exc})")
            else:
                if not sound:
                    failed.append(key)
            self.offer_sounds[key] = sound or None
            if sound:
                made.append(key)
        if failed:  # logged once here; callers then simply hear no offer
            log.error("acd: no callback offer prompt for key(s) %s; callers will not be "
                      "offered a callback", ", ".join(failed))
        return made

    def callback_offer(self, live: LiveCall) -> str | None:
        """The sound offering this caller a callback, or None (no callback key on the
        queue, a caller ID we could not call back, or the prompt is not made)."""
        queue = self.router.queues.get(live.queue)
        if queue is None or not queue.callback_key:
            return None
        sound = self.offer_sounds.get(queue.callback_key)
        if not sound:
            return None
        number = callback_number(live.caller, self.region)
        return sound if number is not None and E164.fullmatch(number) else None

    async def _ask_crm(self, question, *args, refusals: dict | None = None):
        """``question(sessions, *args)`` in a thread, within twice the CRM timeout,
        for an agent's or supervisor's command: a CRM error listed in ``refusals``
        (exception type -> what the user is told) and a slow CRM are refusals."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(question, self.sessions, *args),
                                          self.crm_timeout * 2)
        except asyncio.TimeoutError:
            raise AcdError("the CRM did not answer; try again") from None
        except tuple(refusals or ()) as exc:
            told = next(text for kind, text in refusals.items() if isinstance(exc, kind))
            raise AcdError(told) from None

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.problems += 1
            log.error("acd: background task failed", exc_info=task.exception())

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            try:
                _, actions = self.router.tick(self.clock())
                for action in actions:
                    self._overflowed(action)
            except Exception:
                self.problems += 1
                log.exception("acd: tick failed")

    async def _publish_loop(self) -> None:
        while True:
            await asyncio.sleep(self.publish_period)
            if self.bus is not None:
                try:
                    self.bus.publish_nowait("acd.stats", self.stats.snapshot(self.router,
                                                                             self.clock()))
                except Exception:
                    log.exception("acd: cannot publish the stats snapshot")

    # -- publishing ----------------------------------------------------------------------
    def _publish(self, topic: str, payload: dict) -> None:
        if self.bus is None:
            return
        try:
            self.bus.publish_nowait(topic, payload)
        except Exception:
            log.exception("acd: cannot publish %s", topic)

    def _call_event(self, live: LiveCall, event: str, **extra: Any) -> None:
        self._publish("acd.call", {"linkedid": live.call_id, "queue": live.queue, "event": event,
                                   "caller": live.caller, "customer_id": live.customer_id,
                                   **extra})

    def _on_agent(self, agent: Agent, previous: AgentState) -> None:
        self._publish("acd.agent", {"agent": agent.agent_id, "seat": agent.seat,
                                    "state": agent.state.value, "presence": agent.presence,
                                    "reason": agent.reason, "since": agent.since,
                                    "call_id": agent.call_id, "previous": previous.value,
                                    "wrap_up_until": agent.wrap_up_until,
                                    "user_id": agent.user_id})

    def _forget(self, live: LiveCall) -> None:
        """The adapter is done with the call."""
        self.book.remove(live)
        self._admitted.pop(live.call_id, None)

    # -- the dialplan's user events ------------------------------------------------------
    def _on_user_event(self, event) -> None:
        kind = event.user_event
        if kind == "AcdEnqueue":
            self._on_enqueue(event)
        elif kind == "AcdKey":
            self._on_key(event)
