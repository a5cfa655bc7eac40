"""Building AMI actions from Python values, refusing header injection.

A value with CR or LF would let a caller (ultimately a web form or a CRM
field) append headers or whole actions to what we send; reject it instead.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from panoramisk.actions import Action

_HEADER_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_FORBIDDEN = ("\r", "\n", "\0")


def _check_value(header: str, value: str) -> str:
    for char in _FORBIDDEN:
        if char in value:
            raise ValueError(
                f"AMI header {header!r} contains a {char!r} character; CR, LF and NUL are"
                " refused so a value cannot inject headers or actions")
    return value


def _as_text(header: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return _check_value(header, str(value))
    raise ValueError(f"AMI header {header!r}: unsupported value type {type(value).__name__}")


def header_values(header: str, value: Any) -> str | list[str]:
    """One header value, or a list for a repeated header (Variable: a=1 ...)."""
    if isinstance(value, Mapping):
        return [_as_text(header, f"{k}={v}") for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [_as_text(header, item) for item in value]
    return _as_text(header, value)


def check_header_name(name: str) -> str:
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise ValueError(f"invalid AMI header name {name!r}: letters, digits, '_' and '-' only")
    return name


def build_action(name: str, headers: Mapping[str, Any],
                 as_list: bool | None = False) -> Action:
    """A panoramisk Action (with its ActionID and future) for `name`.

    None values are left out, so optional arguments can be passed as None.
    Must be called with the event loop running (the Action owns a Future).
    """
    check_header_name(name)
    fields: dict[str, Any] = {"Action": name}
    for key, value in headers.items():
        check_header_name(key)
        if value is not None:
            fields[key] = header_values(key, value)
    return Action(fields, as_list=as_list)


def list_payload(responses: Iterable[Any]) -> list[Any]:
    """Event messages of an event-list answer, without the *Complete marker."""
    events = [m for m in responses if "event" in m]
    if events and str(events[-1]["event"]).endswith("Complete"):
        events.pop()
    return events
