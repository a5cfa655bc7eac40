"""From the engine's bus to the browsers: each ACD and IVR event becomes a
change of an agent's state, an agent's screen pop or the wallboard (push.Hub).

Runs on the engine's loop (bus handlers are plain functions, so they cost a
few dictionary updates there); the pop's CRM read runs on a small thread pool
and comes back to the loop to be delivered, so its phase (answered, on hold,
ended) is always the latest the ACD reported, whatever finished first.

The wallboard is the ACD's statistics snapshot; besides the ACD's periodic
one, any call or agent change asks for a fresh one, coalesced to at most one
per ``board_gap`` seconds, so what a supervisor sees is never older than that.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from . import board, pops
from .push import Hub

log = logging.getLogger(__name__)

REMEMBERED_CALLS = 5000  # calls whose IVR facts and queue are kept for pops and the board
# acd.call events that change the phase of the acting agent's pop ("agent" in the payload)
PHASES = {"answered": "talking", "held": "on_hold", "resumed": "talking",
          "abandoned": "abandoned", "requeued": "missed", "transfer": "transferred",
          "consulting": "consulting", "consult-answered": "consulting",
          "transfer-cancelled": "talking"}
TRANSFER_FACTS = ("kind", "target", "to_agent")


def _remember(memory: OrderedDict, key: str, value, limit: int = REMEMBERED_CALLS) -> None:
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > limit:
        memory.popitem(last=False)


class Feeds:
    def __init__(self, hub: Hub, sessions, *, region: str = "US", acd=None, workers: int = 2,
                 board_gap: float = 0.2, clock=time.time):
        self.hub = hub
        self.sessions = sessions
        self.region = region
        self.acd = acd
        self.board_gap = board_gap
        self.clock = clock
        self._ivr: OrderedDict[str, dict] = OrderedDict()  # linkedid -> IVR detail
        self._calls: OrderedDict[str, dict] = OrderedDict()  # linkedid -> what the pop needs
        self._offered: dict[str, str] = {}  # agent -> linkedid of their latest offer
        self._changes: OrderedDict[tuple, dict] = OrderedDict()  # (agent, linkedid) -> pop changes
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="screen-pop")
        self._subscriptions: list = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._board_timer: asyncio.TimerHandle | None = None
        self._board_at = 0.0
        self.pops_built = 0
        self.pop_failures = 0

    # -- wiring -----------------------------------------------------------------------
    def attach(self, bus) -> None:
        """Subscribe on the engine's loop (call from it)."""
        self._loop = asyncio.get_running_loop()
        handlers = {"ivr.queue": self._on_ivr, "acd.offer": self._on_offer,
                    "acd.call": self._on_call, "acd.agent": self._on_agent,
                    "acd.stats": self._on_stats, "acd.monitor": self._on_monitor,
                    "recording.state": self._on_recording, "recording.alert": self._on_alert}
        self._subscriptions = [bus.subscribe(topic, handler) for topic, handler in handlers.items()]

    def close(self) -> None:
        for sub in self._subscriptions:
            sub.cancel()
        self._subscriptions = []
        if self._board_timer is not None:
            self._board_timer.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.hub.close_all()

    # -- the IVR and the ACD's calls --------------------------------------------------
    def _on_ivr(self, topic: str, payload: dict) -> None:
        if payload.get("linkedid") and payload.get("ivr"):
            _remember(self._ivr, payload["linkedid"], payload["ivr"])

    def _call(self, linkedid: str) -> dict:
        facts = self._calls.get(linkedid)
        if facts is None:
            facts = {}
            _remember(self._calls, linkedid, facts)
        return facts

    def _on_call(self, topic: str, payload: dict) -> None:
        linkedid, event = payload.get("linkedid"), payload.get("event")
        if not linkedid:
            return
        facts = self._call(linkedid)
        for key in ("caller", "queue", "customer_id", "direction", "number"):
            if payload.get(key) is not None:
                facts[key] = payload[key]
        if event == "queued":
            facts["queued_at"] = self.clock()
        elif event == "dialling" and payload.get("agent"):
            self._offer(payload["agent"], linkedid, direction="outbound")
        elif event == "consulting" and payload.get("to_agent"):  # the consulted agent's pop
            self._offer(payload["to_agent"], linkedid, consult_from=payload.get("agent"))
        for agent, changes in pop_changes(event, payload, self.clock()):
            for who in [agent] if agent else self.hub.pops_about(linkedid):
                self._change_pop(who, linkedid, changes)
        self._board_soon()

    def _change_pop(self, agent: str, linkedid: str, changes: dict) -> None:
        """Kept per agent and call, so a pop still being built gets them too."""
        _remember(self._changes, (agent, linkedid), {**self._changes.get((agent, linkedid), {}),
                                                     **changes})
        self.hub.update_pop(agent, linkedid, **changes)

    def _on_offer(self, topic: str, payload: dict) -> None:
        agent, linkedid = payload.get("agent"), payload.get("linkedid")
        if not agent or not linkedid:
            return
        facts = self._call(linkedid)
        for key in ("caller", "queue", "customer_id", "callback"):
            if payload.get(key) is not None:
                facts[key] = payload[key]
        self._offer(agent, linkedid)

    def _offer(self, agent: str, linkedid: str, direction: str = "inbound",
               consult_from: str | None = None) -> None:
        """Build the agent's pop off the loop, then deliver it on the loop."""
        self._offered[agent] = linkedid
        facts = dict(self._call(linkedid))
        job = dict(linkedid=linkedid, agent=agent, region=self.region, direction=direction,
                   consult_from=consult_from,
                   caller=facts.get("caller") or "", customer_id=facts.get("customer_id"),
                   queue=facts.get("queue") or "", ivr=self._ivr.get(linkedid),
                   queued_at=facts.get("queued_at"), callback=facts.get("callback"),
                   number=facts.get("number") or "", clock=self.clock)
        self._pool.submit(self._build_pop, job)

    def _build_pop(self, job: dict) -> None:
        try:
            with self.sessions() as session:
                pop = pops.build(session, **job)
        except Exception:
            self.pop_failures += 1
            log.exception("screen pop for call %s failed; the agent gets the bare call",
                          job["linkedid"])
            pop = {**{k: job[k] for k in ("linkedid", "agent", "caller", "queue", "direction")},
                   "phase": "ringing", "matches": [], "card": None, "customer_id": None,
                   "interaction_id": None, "error": "the CRM could not be read"}
        self._loop.call_soon_threadsafe(self._deliver_pop, job["agent"], pop)

    def _deliver_pop(self, agent: str, pop: dict) -> None:
        if self._offered.get(agent) != pop["linkedid"]:
            return  # a newer offer has replaced it meanwhile
        pop.update(self._changes.get((agent, pop["linkedid"]), {}))
        self.pops_built += 1
        self.hub.set_pop(agent, pop)

    def customer_linked(self, linkedid: str, customer_id: int) -> None:
        """An agent linked a call to a customer (from a web thread): the pops
        about that call show the customer's card."""
        for agent in self.hub.pops_about(linkedid):
            pop = self.hub.pop_of(agent)
            if pop is None:
                continue
            with self.sessions() as session:
                fresh = pops.refresh_card(session, pop, customer_id)
            self.hub.update_pop(agent, linkedid, customer_id=customer_id, card=fresh["card"],
                                interaction_id=fresh["interaction_id"])

    # -- agents, the wallboard, monitoring -----------------------------------------------
    def _on_agent(self, topic: str, payload: dict) -> None:
        agent = payload.get("agent")
        if not agent:
            return
        self.hub.agent_changed(agent, payload)
        if payload.get("state") == "logged_out":
            self._offered.pop(agent, None)
            self.hub.set_pop(agent, None)
        self._board_soon()

    def _on_stats(self, topic: str, snapshot: dict) -> None:
        self._publish_board(snapshot)

    def _on_monitor(self, topic: str, payload: dict) -> None:
        if payload.get("supervisor"):
            self.hub.to_user(payload["supervisor"], "monitor", payload)

    def _on_recording(self, topic: str, payload: dict) -> None:
        """Recorded or not, paused or not: the agent's pop of that call shows it."""
        agent, linkedid = payload.get("agent"), payload.get("linkedid")
        if agent and linkedid:
            state = {k: payload.get(k) for k in ("recording", "paused", "mode")}
            self._change_pop(agent, linkedid, {"recording": state})

    def _on_alert(self, topic: str, payload: dict) -> None:
        self.hub.notice({"at": self.clock(), "level": payload.get("level", "error"),
                         "message": str(payload.get("message", ""))[:500],
                         "linkedid": payload.get("linkedid")})

    def _board_soon(self) -> None:
        """A fresh wallboard within board_gap seconds (one, however many changes)."""
        if self.acd is None or self._loop is None or self._board_timer is not None:
            return
        wait = max(0.0, self.board_gap - (time.monotonic() - self._board_at))
        self._board_timer = self._loop.call_later(wait, self._refresh_board)

    def _refresh_board(self) -> None:
        self._board_timer = None
        try:
            snapshot = self.acd.stats.snapshot(self.acd.router, self.acd.clock())
        except Exception:
            log.exception("wallboard: the ACD's snapshot failed")
            return
        self._publish_board(snapshot)

    def _publish_board(self, snapshot: dict) -> None:
        self._board_at = time.monotonic()
        self.hub.set_board(board.view(snapshot, self._calls))


def pop_changes(event: str, payload: dict, now: float) -> list[tuple[str | None, dict]]:
    """What an acd.call event changes in which agent's pop (None: every pop of the
    call). Pure. A transfer touches two pops: the agent who hands the caller over
    and the one who takes them (or was only consulted)."""
    agent, to_agent = payload.get("agent"), payload.get("to_agent")
    transfer = {k: payload.get(k) for k in TRANSFER_FACTS}
    if event == "ended":  # a transfer releases the first agent with an "ended" too
        phase = "transferred" if payload.get("transferred") else "ended"
        return [(agent, {"phase": phase, "ended_at": now})]
    if event == "transferred":  # attended, completed: the consulted agent has the caller
        changes = [(payload.get("from_agent"), {"phase": "transferred", "ended_at": now})]
        if agent:
            changes.append((agent, {"phase": "talking", "answered_at": now,
                                    "transfer": transfer}))
        return changes
    phase = PHASES.get(event)
    if phase is None:
        return []
    changes = {"phase": phase}
    if event == "answered":
        changes["answered_at"] = now
        if payload.get("waited") is not None:
            changes["waited"] = payload["waited"]
    elif event in ("abandoned", "transfer"):
        changes["ended_at"] = now
    if event in ("transfer", "consulting", "consult-answered"):
        changes["transfer"] = transfer
    elif event == "transfer-cancelled":
        changes["transfer"] = None
    result = [(None if event == "abandoned" else agent, changes)]
    if to_agent and event == "consult-answered":
        result.append((to_agent, {"phase": "talking", "answered_at": now}))
    elif to_agent and event == "transfer-cancelled":
        result.append((to_agent, {"phase": "ended", "ended_at": now}))
    return result
