"""InProcessBus and the handler runner: delivery, patterns, failure isolation."""
import asyncio
import logging

import pytest

from cti.bus import EventBus, InProcessBus


def run(coro, timeout=5):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_exact_and_glob_subscribers_get_the_event():
    async def scenario():
        bus, got = InProcessBus(), []
        bus.subscribe("call.started", lambda t, p: got.append(("exact", t, p["id"])))
        bus.subscribe("call.*", lambda t, p: got.append(("glob", t, p["id"])))
        bus.subscribe("agent.*", lambda t, p: got.append(("other", t, p["id"])))
        await bus.publish("call.started", {"id": 1})
        bus.publish_nowait("call.ended", {"id": 2})
        return got
    assert run(scenario()) == [("exact", "call.started", 1), ("glob", "call.started", 1),
                               ("glob", "call.ended", 2)]


def test_async_handlers_are_scheduled_and_drained():
    async def scenario():
        bus, got = InProcessBus(), []

        async def slow(topic, payload):
            await asyncio.sleep(0.01)
            got.append(payload["n"])
        bus.subscribe("x", slow)
        for n in range(3):
            bus.publish_nowait("x", {"n": n})
        assert got == []  # publishing does not wait for async handlers
        await bus.drain()
        return got
    assert sorted(run(scenario())) == [0, 1, 2]


def test_a_failing_handler_does_not_stop_the_others(caplog):
    async def scenario():
        bus, got = InProcessBus(), []

        def broken(topic, payload):
            raise RuntimeError("boom")

        async def broken_async(topic, payload):
            raise RuntimeError("async boom")
        bus.subscribe("t", broken)
        bus.subscribe("t", broken_async)
        bus.subscribe("t", lambda t, p: got.append(p))
        await bus.publish("t", {"ok": True})
        await bus.drain()
        return got
    with caplog.at_level(logging.ERROR):
        assert run(scenario()) == [{"ok": True}]
    assert "boom" in caplog.text and "async boom" in caplog.text


def test_cancel_stops_delivery_and_is_idempotent():
    async def scenario():
        bus, got = InProcessBus(), []
        sub = bus.subscribe("a.*", lambda t, p: got.append(t))
        bus.publish_nowait("a.1", {})
        sub.cancel()
        sub.cancel()
        bus.publish_nowait("a.2", {})
        return got
    assert run(scenario()) == ["a.1"]


def test_interface_is_abstract_and_handlers_must_be_callable():
    with pytest.raises(TypeError):
        EventBus()
    with pytest.raises(TypeError):
        InProcessBus().subscribe("x", "not callable")
