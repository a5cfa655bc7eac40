"""Routing typed AMI events to the handlers registered by event name.

The table maps a lower-cased event name to a ready tuple of handlers (specific
ones plus '*' ones); it is rebuilt on (un)subscribe, which is rare, so that
each event costs one dict lookup.
"""
from __future__ import annotations

from typing import Any, Callable

from cti.handlers import HandlerRunner, Subscription

EventHandler = Callable[[Any], Any]
WILDCARD = "*"


class EventDispatcher:
    def __init__(self, runner: HandlerRunner) -> None:
        self._runner = runner
        self._by_name: dict[str, list[EventHandler]] = {}
        self._table: dict[str, tuple[EventHandler, ...]] = {}
        self._wildcard: tuple[EventHandler, ...] = ()

    def on(self, event_name: str, handler: EventHandler) -> Subscription:
        if not isinstance(event_name, str) or not event_name:
            raise ValueError(f"event name must be a non-empty string, got {event_name!r}")
        if not callable(handler):
            raise TypeError(f"handler for {event_name!r} is not callable")
        key = event_name.lower()
        self._by_name.setdefault(key, []).append(handler)
        self._rebuild()
        return Subscription(lambda: self._remove(key, handler))

    def _remove(self, key: str, handler: EventHandler) -> None:
        self._by_name[key].remove(handler)
        self._rebuild()

    def _rebuild(self) -> None:
        self._wildcard = tuple(self._by_name.get(WILDCARD, ()))
        self._table = {key: tuple(handlers) + self._wildcard
                       for key, handlers in self._by_name.items() if key != WILDCARD}

    def handlers_for(self, lower_name: str) -> tuple[EventHandler, ...]:
        return self._table.get(lower_name, self._wildcard)

    def deliver(self, handlers: tuple[EventHandler, ...], event: Any) -> None:
        call = self._runner.call
        for handler in handlers:
            call(handler, event)
