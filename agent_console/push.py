"""Push to browsers: what each signed-in user's open pages must know, now.

Every open page holds one Server-Sent Events stream (``Stream``): a bounded
mailbox filled from the engine's side and emptied by the web thread that
serves the page. The ``Hub`` keeps, per agent, their last state and their
current screen pop, and the supervisors' last wallboard, so a page that
opens (a reload, a second tab) gets the whole picture first, then every
change. Pops go to the agent alone; wallboards to supervisors and admins.

Thread-safe: the engine's loop, the pop builder's threads and the web's
threads all call in.
"""
from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

SUPERVISING = ("supervisor", "admin")
MAILBOX_LIMIT = 256  # undelivered events; a page that falls this far behind reconnects
NOTICES_KEPT = 20  # the supervisors' latest notices (recording storage problems ...)


@dataclass(frozen=True)
class Viewer:
    """Who a stream belongs to."""
    user_id: int
    username: str
    role: str

    @property
    def supervises(self) -> bool:
        return self.role in SUPERVISING


class StreamClosed(Exception):
    """The stream was closed (hub stopping, page too slow): the page reconnects."""


class Stream:
    def __init__(self, viewer: Viewer, limit: int = MAILBOX_LIMIT):
        self.viewer = viewer
        self.limit = limit
        self.opened = time.time()
        self._items: collections.deque = collections.deque()
        self._ready = threading.Condition()
        self.closed = False

    def put(self, kind: str, data) -> bool:
        """Queue one event; False (and the stream closes) when the page is too far behind."""
        with self._ready:
            if self.closed:
                return False
            if len(self._items) >= self.limit:
                self.closed = True
                self._ready.notify_all()
                return False
            self._items.append((kind, data))
            self._ready.notify()
            return True

    def get(self, timeout: float):
        """The next (kind, data), or None after ``timeout`` seconds of quiet."""
        with self._ready:
            if not self._items and not self.closed:
                self._ready.wait(timeout)
            if self._items:
                return self._items.popleft()
            if self.closed:
                raise StreamClosed()
            return None

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify_all()


class Hub:
    def __init__(self, clock=time.time):
        self.clock = clock
        self._lock = threading.Lock()
        self._streams: dict[str, set[Stream]] = {}
        self._agents: dict[str, dict] = {}  # username -> last acd.agent payload
        self._pops: dict[str, dict] = {}  # username -> the current screen pop
        self._board: dict | None = None
        self._notices: collections.deque = collections.deque(maxlen=NOTICES_KEPT)
        self.delivered = 0
        self.dropped = 0  # streams closed for falling behind

    # -- pages open and close ---------------------------------------------------
    def open(self, viewer: Viewer) -> Stream:
        """A new stream, primed with what this user's page shows right now."""
        stream = Stream(viewer)
        with self._lock:
            self._streams.setdefault(viewer.username, set()).add(stream)
            stream.put("hello", {"user": viewer.username, "role": viewer.role,
                                 "now": self.clock()})
            if viewer.username in self._agents:
                stream.put("agent", self._agents[viewer.username])
            stream.put("pop", self._pops.get(viewer.username))
            if viewer.supervises and self._board is not None:
                stream.put("board", self._board)
            if viewer.supervises:
                for notice in self._notices:
                    stream.put("notice", notice)
        return stream

    def close(self, stream: Stream) -> None:
        stream.close()
        with self._lock:
            mine = self._streams.get(stream.viewer.username)
            if mine is not None:
                mine.discard(stream)
                if not mine:
                    del self._streams[stream.viewer.username]

    def close_all(self) -> None:
        with self._lock:
            streams = [s for group in self._streams.values() for s in group]
            self._streams.clear()
        for stream in streams:
            stream.close()

    def connected(self) -> int:
        with self._lock:
            return sum(len(group) for group in self._streams.values())

    # -- what the engine says -------------------------------------------------
    def agent_changed(self, username: str, payload: dict) -> None:
        """An agent's state: to that agent's pages and to every supervisor."""
        with self._lock:
            if payload.get("state") == "logged_out":
                self._agents.pop(username, None)
            else:
                self._agents[username] = payload
            self._send(self._streams.get(username, ()), "agent", payload)
            self._send(self._supervisors(exclude=username), "agent", payload)

    def set_pop(self, username: str, pop: dict | None) -> None:
        """The agent's screen pop (None clears it): kept for pages opened later."""
        with self._lock:
            if pop is None:
                self._pops.pop(username, None)
            else:
                self._pops[username] = pop
            self._send(self._streams.get(username, ()), "pop", pop)

    def update_pop(self, username: str, linkedid: str, **changes) -> dict | None:
        """Change fields of the agent's pop if it is still about ``linkedid``."""
        with self._lock:
            pop = self._pops.get(username)
            if pop is None or pop.get("linkedid") != linkedid:
                return None
            pop = self._pops[username] = {**pop, **changes}
            self._send(self._streams.get(username, ()), "pop", pop)
            return pop

    def pop_of(self, username: str) -> dict | None:
        with self._lock:
            return self._pops.get(username)

    def agent_of(self, username: str) -> dict | None:
        with self._lock:
            return self._agents.get(username)

    def pops_about(self, linkedid: str) -> list[str]:
        """The agents whose current pop is this call."""
        with self._lock:
            return [name for name, pop in self._pops.items() if pop.get("linkedid") == linkedid]

    def set_board(self, board: dict) -> None:
        with self._lock:
            self._board = board
            self._send(self._supervisors(), "board", board)

    def notice(self, payload: dict) -> None:
        """Something supervisors must know (a recording could not be stored):
        kept for pages opened later."""
        with self._lock:
            self._notices.append(payload)
            self._send(self._supervisors(), "notice", payload)

    def to_user(self, username: str, kind: str, data) -> None:
        with self._lock:
            self._send(self._streams.get(username, ()), kind, data)

    def to_supervisors(self, kind: str, data) -> None:
        with self._lock:
            self._send(self._supervisors(), kind, data)

    # -- inside the lock ----------------------------------------------------------
    def _supervisors(self, exclude: str | None = None) -> list[Stream]:
        return [s for name, group in self._streams.items() if name != exclude
                for s in group if s.viewer.supervises]

    def _send(self, streams, kind: str, data) -> None:
        for stream in list(streams):
            if stream.put(kind, data):
                self.delivered += 1
            else:
                self.dropped += 1
