"""Seeded random walks through the router: after every request, accepted or refused,
the invariants hold (no ready agent idles beside a call they could take, agent
states agree with the call bookkeeping), every state change is an allowed edge,
and a refused request changed nothing."""
import random

import pytest

from acd.model import AcdError, Overflow, QueueConfig, WaitingCall
from acd.router import Router
from acd.states import is_edge

from .test_acd_router_support import S, check_invariants, snapshot

SKILLS = ("support", "sales", "french", "billing", "tech")
QUEUES = [
    QueueConfig("support", skills=("support",), wrap_up=5, max_wait=40,
                overflow=Overflow("queue", target="general"), last_agent=True),
    QueueConfig("sales", skills=("sales",), priority=3, wrap_up=0, max_wait=30,
                overflow=Overflow("relax", skills=("sales",))),
    QueueConfig("french", skills=("support", "french"), vip_weight=60, wrap_up=8, max_wait=50,
                overflow=Overflow("callback")),
    QueueConfig("billing", skills=("billing",), priority=1, max_wait=45,
                overflow=Overflow("voicemail", target="billing")),
    QueueConfig("general", skills=()),
]
AGENTS = [f"agent{i}" for i in range(10)]
FITTING = {"ready": (S.NOT_READY, S.WRAP_UP), "not_ready": (S.READY, S.NOT_READY, S.WRAP_UP),
           "logout": (S.READY, S.NOT_READY, S.RESERVED, S.ON_CALL, S.ON_HOLD, S.WRAP_UP),
           "hold": (S.ON_CALL,), "unhold": (S.ON_HOLD,), "call_ended": (S.ON_CALL, S.ON_HOLD),
           "wrap_up_done": (S.WRAP_UP,), "dial": (S.NOT_READY, S.WRAP_UP),
           "consult": (S.READY,), "offer_to": (S.READY,),
           "direct_answered": (S.RESERVED,), "direct_failed": (S.RESERVED,),
           "direct_cancelled": (S.RESERVED,)}


class Walk:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.edges: list[tuple] = []
        self.decisions = 0
        self.overflows: set[str] = set()
        self.router = Router(QUEUES, on_agent=lambda a, prev: self.edges.append((prev, a.state)),
                             on_decision=self.count_decision)
        self.now = 0.0
        self.calls = 0

    def count_decision(self, _decision) -> None:
        self.decisions += 1

    def some_agent(self, *states) -> str:
        """Mostly an agent for whom the request makes sense, sometimes anyone."""
        fitting = [a.agent_id for a in self.router.agents() if a.state in states]
        if fitting and self.rng.random() < 0.85:
            return self.rng.choice(fitting)
        return self.rng.choice(AGENTS + ["stranger"])

    def some_call(self, offered: bool | None = None) -> str:
        known = [c.call_id for c in self.router.waiting()
                 if offered is None or (c.offered_to is not None) == offered]
        return self.rng.choice(known + ["c-unknown"]) if known else "c-unknown"

    def step(self) -> None:
        r, rng = self.router, self.rng
        self.now += rng.choice((0.0, 0.5, 1.0, 3.0, 10.0))
        now = self.now
        op = rng.choice(("login", "ready", "ready", "ready", "not_ready", "logout", "enqueue",
                         "enqueue", "enqueue", "abandon", "answered", "answered", "offer_failed",
                         "hold", "unhold", "call_ended", "call_ended", "wrap_up_done",
                         "to_callback", "tick", "tick", "dial", "consult", "offer_to",
                         "direct_answered", "direct_failed", "direct_cancelled"))
        if op == "login":
            skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS, rng.randint(1, 4))}
            r.login(self.some_agent(S.LOGGED_OUT), f"seat{rng.randint(0, 11)}", skills, now)
        elif op in ("ready", "logout", "hold", "unhold", "call_ended", "wrap_up_done"):
            getattr(r, op)(self.some_agent(*FITTING[op]), now)
        elif op == "not_ready":
            r.not_ready(self.some_agent(*FITTING[op]),
                        rng.choice(("break", "lunch", "Bad Reason")), now)
        elif op == "enqueue":
            self.enqueue(now)
        elif op == "abandon":
            r.abandon(self.some_call(), now)
        elif op in ("answered", "offer_failed"):
            getattr(r, op)(self.some_call(offered=True), now)
        elif op in ("dial", "consult"):
            self.calls += 1
            r.reserve_direct(self.some_agent(*FITTING[op]), f"d{self.calls}", now, request=op,
                             wrap_up=rng.choice((0.0, 4.0)))
        elif op == "offer_to":
            self.calls += 1
            r.offer_to(WaitingCall(f"c{self.calls}", "support", ("support",),
                                   arrived_at=now - 20, queued_at=now),
                       self.some_agent(*FITTING[op]), now)
        elif op in ("direct_answered", "direct_cancelled"):
            getattr(r, op)(self.some_agent(*FITTING[op]), now)
        elif op == "direct_failed":
            r.direct_failed(self.some_agent(*FITTING[op]), now, "ring-no-answer")
        elif op == "to_callback":
            r.to_callback(self.some_call(offered=False), "+12025550143", now)
        else:
            _, actions = r.tick(now)
            self.overflows.update(a.overflow.action for a in actions)

    def enqueue(self, now: float) -> None:
        rng = self.rng
        name = rng.choice([q.name for q in QUEUES] + ["nope"])
        skills = next((q.skills for q in QUEUES if q.name == name), ("support",))
        self.calls += 1
        call_id = f"c{self.calls}" if rng.random() > 0.05 else "c1"  # sometimes a duplicate
        self.router.enqueue(WaitingCall(call_id, name, skills, arrived_at=now - rng.random() * 5,
                                        queued_at=now, priority=rng.choice((0, 0, 2)),
                                        vip=rng.random() < 0.2,
                                        last_agent=rng.choice(AGENTS + [None])), now)


@pytest.mark.parametrize("seed", range(8))
def test_random_walk_keeps_the_invariants(seed):
    walk = Walk(seed)
    refused = 0
    for _ in range(1500):
        before = snapshot(walk.router)
        edges = len(walk.edges)
        try:
            walk.step()
        except AcdError:
            refused += 1
            assert snapshot(walk.router) == before
            assert len(walk.edges) == edges
        check_invariants(walk.router)
    assert all(is_edge(prev, new) for prev, new in walk.edges)
    assert 0 < refused < 1500
    states = {prev for prev, _ in walk.edges}
    assert {S.RESERVED, S.ON_CALL, S.WRAP_UP} <= states  # the walk reached the busy states
    assert walk.decisions > 50
    assert walk.overflows == {"queue", "relax", "voicemail", "callback"}
    # direct reservations were made, answered and undone along the way
    assert {(S.NOT_READY, S.RESERVED), (S.RESERVED, S.ON_CALL)} <= set(walk.edges)
