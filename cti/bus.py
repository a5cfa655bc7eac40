"""Internal event bus: how engine parts tell each other what happened.

`EventBus` is the interface; `InProcessBus` is the single-machine default.  A
broker-backed bus (Redis, NATS) implements the same two methods, so swapping is
configuration.  Payloads are plain dicts so they can cross a broker unchanged.
"""
from __future__ import annotations

import abc
import fnmatch
import re
from typing import Any, Callable

from cti.handlers import HandlerRunner, Subscription

# handler(topic, payload); may be sync or async.
BusHandler = Callable[[str, dict], Any]

_GLOB_CHARS = re.compile(r"[*?\[]")
# Topics are bounded in practice (event names, call.*); this only guards
# against a producer that puts ids in topics.
_MATCH_CACHE_LIMIT = 4096


class EventBus(abc.ABC):
    @abc.abstractmethod
    async def publish(self, topic: str, payload: dict) -> None:
        """Hand `payload` to every subscriber whose pattern matches `topic`."""

    @abc.abstractmethod
    def publish_nowait(self, topic: str, payload: dict) -> None:
        """Publish from synchronous code (the AMI reader) without waiting."""

    @abc.abstractmethod
    def subscribe(self, topic_pattern: str, handler: BusHandler) -> Subscription:
        """Exact topic or fnmatch pattern ("call.*"); handler(topic, payload)."""


class InProcessBus(EventBus):
    """Delivers on the running asyncio loop.

    Sync handlers run inline, async ones are scheduled as tasks, so publishing
    costs a dict lookup plus the handlers themselves (it sits on the AMI path).
    """

    def __init__(self) -> None:
        self._exact: dict[str, list[BusHandler]] = {}
        self._globs: list[tuple[re.Pattern[str], BusHandler]] = []
        self._matches: dict[str, tuple[BusHandler, ...]] = {}
        self._runner = HandlerRunner("bus")

    def subscribe(self, topic_pattern: str, handler: BusHandler) -> Subscription:
        if not callable(handler):
            raise TypeError(f"bus handler for {topic_pattern!r} is not callable")
        if _GLOB_CHARS.search(topic_pattern):
            entry = (re.compile(fnmatch.translate(topic_pattern)), handler)
            self._globs.append(entry)
            detach = lambda: self._globs.remove(entry)  # noqa: E731
        else:
            self._exact.setdefault(topic_pattern, []).append(handler)
            detach = lambda: self._exact[topic_pattern].remove(handler)  # noqa: E731
        self._matches.clear()
        return Subscription(lambda: self._detach(detach))

    def _detach(self, detach: Callable[[], None]) -> None:
        detach()
        self._matches.clear()

    def publish_nowait(self, topic: str, payload: dict) -> None:
        handlers = self._matches.get(topic)
        if handlers is None:
            handlers = self._resolve(topic)
        for handler in handlers:
            self._runner.call(handler, topic, payload)

    def _resolve(self, topic: str) -> tuple[BusHandler, ...]:
        found = list(self._exact.get(topic, ()))
        found.extend(h for pattern, h in self._globs if pattern.match(topic))
        if len(self._matches) >= _MATCH_CACHE_LIMIT:
            self._matches.clear()
        self._matches[topic] = handlers = tuple(found)
        return handlers

    async def publish(self, topic: str, payload: dict) -> None:
        self.publish_nowait(topic, payload)

    async def drain(self) -> None:
        """Wait for async handlers already scheduled (tests, shutdown)."""
        await self._runner.drain()

    async def close(self) -> None:
        await self._runner.cancel_all()
