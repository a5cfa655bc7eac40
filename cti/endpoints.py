"""EndpointTracker: agent phones as Asterisk sees them (PJSIP endpoints).

For each endpoint: its device state (NOT_INUSE, INUSE, RINGING, UNAVAILABLE,
...) and its contacts, i.e. whether the phone is registered.  Fed by
DeviceStateChange and ContactStatus events; replaced by resync() from a
PJSIPShowEndpoints listing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from cti.events import AmiEvent, ContactStatus, DeviceStateChange, EndpointList

__all__ = ["EndpointInfo", "EndpointTracker", "normalize_device_state"]

# EndpointList spells states as ast_devstate_str() does; DeviceStateChange as
# ast_devstate2str().  Keep the latter, it is what dialplan DEVICE_STATE() uses.
_LISTING_STATES = {
    "unknown": "UNKNOWN", "not in use": "NOT_INUSE", "in use": "INUSE", "busy": "BUSY",
    "invalid": "INVALID", "unavailable": "UNAVAILABLE", "ringing": "RINGING",
    "ring+inuse": "RINGINUSE", "on hold": "ONHOLD",
}
_GONE = "Removed"
_UNREACHABLE = "Unreachable"
_DEVICE_PREFIX = "PJSIP/"


def normalize_device_state(text: str | None) -> str | None:
    if text is None:
        return None
    return _LISTING_STATES.get(text.strip().lower(), text.strip().upper())


@dataclass(slots=True)
class EndpointInfo:
    name: str
    device_state: str | None = None
    aors: tuple[str, ...] = ()
    contacts: dict[str, str] = field(default_factory=dict)  # uri -> status

    @property
    def registered(self) -> bool:
        return bool(self.contacts)

    @property
    def reachable(self) -> bool:
        return any(status != _UNREACHABLE for status in self.contacts.values())


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _from_listing(event: EndpointList) -> EndpointInfo:
    info = EndpointInfo(event.object_name or "", normalize_device_state(event.device_state),
                        tuple(_split(event.aor)))
    for entry in _split(event.contacts):
        # "aor/sip:1001@10.0.0.5:5060"; the listing carries no status.
        _, _, uri = entry.partition("/")
        info.contacts[uri or entry] = "Unknown"
    return info


class EndpointTracker:
    EVENT_NAMES = ("DeviceStateChange", "ContactStatus")

    def __init__(self) -> None:
        self._endpoints: dict[str, EndpointInfo] = {}
        self._aor_owner: dict[str, str] = {}
        self._appliers: dict[type, Callable[[Any], None]] = {
            DeviceStateChange: self._device_state, ContactStatus: self._contact_status,
        }

    def __len__(self) -> int:
        return len(self._endpoints)

    def get(self, name: str) -> EndpointInfo | None:
        return self._endpoints.get(name)

    def names(self) -> list[str]:
        return sorted(self._endpoints)

    def apply(self, event: AmiEvent) -> None:
        applier = self._appliers.get(type(event))
        if applier is not None:
            applier(event)

    def _device_state(self, event: DeviceStateChange) -> None:
        device = event.device or ""
        if device.startswith(_DEVICE_PREFIX):
            info = self._endpoints.get(device[len(_DEVICE_PREFIX):])
            if info is not None:
                info.device_state = event.state

    def _contact_status(self, event: ContactStatus) -> None:
        owner = event.endpoint_name or self._aor_owner.get(event.aor or "")
        info = self._endpoints.get(owner or "")
        if info is None or event.uri is None:
            return
        if event.contact_status == _GONE:
            info.contacts.pop(event.uri, None)
        else:
            info.contacts[event.uri] = event.contact_status or "Unknown"

    def resync(self, listing: Iterable[AmiEvent]) -> None:
        """Replace all state by a PJSIPShowEndpoints listing."""
        self._endpoints, self._aor_owner = {}, {}
        for event in listing:
            if isinstance(event, EndpointList) and event.object_name:
                info = _from_listing(event)
                self._endpoints[info.name] = info
                for aor in info.aors:
                    self._aor_owner[aor] = info.name
