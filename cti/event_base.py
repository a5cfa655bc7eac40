"""Typed AMI events: the base class, the registry and the parser.

`parse_event(message)` turns one AMI header block (a panoramisk Message or a
plain mapping) into a frozen dataclass chosen by its `Event` name; names we do
not model give the base `AmiEvent`.  Headers keep their original names in
`.headers`; typed attributes are snake_case.

Only identity headers the platform keys on are required; a missing one raises
AmiEventError.  A numeric header that is not a number becomes None: a Hangup
with a strange Cause must still remove its channel.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, TypeVar

from cti.ami_errors import AmiEventError

__all__ = ["AmiEvent", "AmiEventError", "parse_event", "event_class", "header"]

Converter = Callable[[Any], Any]
# (attribute, lower-case header, converter or None, original header name)
_FieldSpec = tuple[str, str, "Converter | None", str]


def _to_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _to_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _to_bool(value: Any) -> bool | None:
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    return None


def header(name: str, convert: Converter | None = None) -> Any:
    """Declare a typed field read from AMI header `name` (None when absent)."""
    return field(default=None, metadata={"header": name, "convert": convert})


def int_header(name: str) -> Any:
    return header(name, _to_int)


@dataclass(frozen=True, slots=True)
class AmiEvent:
    name: str
    headers: dict = field(repr=False, compare=False)
    # manager.conf timestampevents=yes adds it; None otherwise.
    timestamp: float | None = header("Timestamp", _to_float)

    REQUIRED: ClassVar[tuple[str, ...]] = ()

    def get(self, name: str, default: Any = None) -> Any:
        """Header value by case-insensitive name."""
        value = self.headers.get(name)
        if value is not None:
            return value
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return default


E = TypeVar("E", bound=type)
_REGISTRY: dict[str, tuple[type, tuple[_FieldSpec, ...], tuple[str, ...]]] = {}


def _field_specs(cls: type) -> tuple[_FieldSpec, ...]:
    specs = []
    for f in dataclasses.fields(cls)[2:]:  # after name, headers
        hname = f.metadata["header"]
        specs.append((f.name, hname.lower(), f.metadata["convert"], hname))
    return tuple(specs)


def event_class(event_name: str) -> Callable[[E], E]:
    """Register a dataclass as the typed form of AMI event `event_name`."""
    def register(cls: E) -> E:
        specs = _field_specs(cls)
        required = tuple(h for attr, _, _, h in specs if attr in cls.REQUIRED)
        _REGISTRY[event_name.lower()] = (cls, specs, required)
        return cls
    return register


def known_events() -> list[str]:
    return sorted(cls.__name__ for cls, _, _ in _REGISTRY.values())


def lower_store(message: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    # panoramisk's Message already keeps {lower: (original, value)}; reuse it
    # instead of rebuilding one per event (this is the ingest hot path).
    store = getattr(message, "_store", None)
    if isinstance(store, dict):
        return store
    return {str(k).lower(): (k, v) for k, v in message.items()}


def parse_event(message: Mapping[str, Any]) -> AmiEvent:
    """Build the typed event for one AMI block; AmiEventError if unusable."""
    store = lower_store(message)
    item = store.get("event")
    if item is None or not isinstance(item[1], str) or not item[1]:
        raise AmiEventError("AMI block has no Event header")
    return build_event(item[1], store)


def build_event(name: str, store: dict[str, tuple[str, Any]]) -> AmiEvent:
    """parse_event() for callers that already hold the lower-case store."""
    cls, specs, required = _REGISTRY.get(name.lower(), _BASE)
    for hname in required:
        item = store.get(hname.lower())
        if item is None or not item[1]:
            raise AmiEventError(f"{name} event without its {hname} header")
    values: list[Any] = [name, dict(store.values())]
    for _, key, convert, _ in specs:
        item = store.get(key)
        if item is None:
            values.append(None)
        elif convert is None:
            values.append(item[1])
        else:
            values.append(convert(item[1]))
    return cls(*values)


_BASE = (AmiEvent, _field_specs(AmiEvent), ())
