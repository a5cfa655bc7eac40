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
