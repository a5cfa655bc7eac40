"""A desk for the web tests: it stands where agent_console.desk.Desk stands,
records each command the pages send to the engine, and answers as the ACD
would (None, or a call id for a dial) or raises ``error`` (a refusal, an
engine that is down). The engine's side of each command is tested on the lab."""
from __future__ import annotations

from acd.model import AcdError


class RecordingDesk:
    available = True

    def __init__(self):
        self.calls: list[tuple] = []
        self.error: Exception | None = None

    def run(self, command, *args, **kwargs):
        self.calls.append((command, args, kwargs))
        if self.error is not None:
            raise self.error
        return "9.9" if command == "dial" else None

    def record(self, command, *args, **kwargs):
        """The recording service's commands (start, stop, pause, resume)."""
        return self.run(f"record.{command}", *args, **kwargs)

    def refuse(self, message: str) -> None:
        self.error = AcdError(message)
