"""Waiting for what the platform reports, with timeouts (never sleeps that hope)."""
from __future__ import annotations

import asyncio


class CallEvents:
    """Collects the engine's call.* bus events."""

    def __init__(self, bus):
        self.seen: list[tuple[str, dict]] = []
        self._changed = asyncio.Condition()
        self._sub = bus.subscribe("call.*", self._on)

    async def _on(self, topic: str, payload: dict) -> None:
        async with self._changed:
            self.seen.append((topic, payload))
            self._changed.notify_all()

    def of(self, topic: str) -> list[dict]:
        return [p for t, p in self.seen if t == topic]

    async def wait(self, topic: str, count: int = 1, timeout: float = 30.0) -> list[dict]:
        async def enough():
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.of(topic)) >= count)
        try:
            await asyncio.wait_for(enough(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"only {len(self.of(topic))} of {count} {topic} events in "
                                 f"{timeout} s; seen: {[t for t, _ in self.seen]}") from None
        return self.of(topic)

    def close(self) -> None:
        self._sub.cancel()


class AmiEvents:
    """Collects typed AMI events of one session; wait for a match with a timeout."""

    def __init__(self, session, name: str = "*"):
        self.seen: list = []
        self._changed = asyncio.Event()
        self._sub = session.on(name, self._on)

    def _on(self, event) -> None:
        self.seen.append(event)
        self._changed.set()

    def matching(self, name: str, **headers) -> list:
        return [e for e in self.seen if e.name == name
                and all(getattr(e, k, None) == v for k, v in headers.items())]

    async def wait(self, name: str, timeout: float = 30.0, **headers):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.matching(name, **headers):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no AMI {name} {headers} within {timeout} s; seen "
                                     f"{sorted({e.name for e in self.seen})}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return self.matching(name, **headers)[0]

    def close(self) -> None:
        self._sub.cancel()
