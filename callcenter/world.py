"""Drive the simulated outside world (the "world" Asterisk) over its AMI:
place callers into the platform with a caller ID, a dialled number and a
script of keys and audio. Used by the lab tests and the demo.

Every value that ends up in the world's dialplan is validated here, so a
test or demo cannot inject dialplan through a caller ID or a key string.
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from cti.ami import AmiSession

NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
NAME = re.compile(r"^[\w .'-]{0,40}$")
KEYS = re.compile(r"^[0-9*#A-Dw]{0,64}$")  # w: half a second pause (SendDTMF)
SOUND = re.compile(r"^[A-Za-z0-9_/-]{0,128}$")


class ScriptError(ValueError):
    """A caller script value that is not allowed."""


@dataclass(frozen=True)
class CallerScript:
    """What the simulated caller does once the platform answers."""
    keys: str = ""
    delay: float = 1.0  # seconds after answer before anything
    hold: float = 2.0  # seconds to stay on the line after the keys
    audio: str = ""  # a sound file the caller plays before the keys
    key_ms: int = 120  # length of each DTMF digit

    def variables(self) -> list[str]:
        if not KEYS.match(self.keys):
            raise ScriptError(f"keys {self.keys!r}: only 0-9 * # A-D and w (pause) are allowed")
        if not SOUND.match(self.audio):
            raise ScriptError(f"audio {self.audio!r} is not a sound file name")
        for name, value in (("delay", self.delay), ("hold", self.hold)):
            if not 0 <= value <= 600:
                raise ScriptError(f"{name} must be 0-600 seconds, got {value}")
        if not 40 <= self.key_ms <= 1000:
            raise ScriptError(f"key_ms must be 40-1000, got {self.key_ms}")
        return [f"CALLER_DTMF={self.keys}", f"CALLER_DELAY={self.delay:g}",
                f"CALLER_HOLD={self.hold:g}", f"CALLER_AUDIO={self.audio}",
                f"CALLER_DTMF_MS={self.key_ms}"]


class World:
    def __init__(self, ami: AmiSession, trunk: str = "pbx"):
        self.ami = ami
        self.trunk = trunk

    def place_call(self, did: str, caller_number: str, caller_name: str = "",
                   script: CallerScript = CallerScript(), ring_timeout: float = 30.0) -> asyncio.Task:
        """Dial ``did`` into the platform as ``caller_number``. Returns a task that
        finishes with Asterisk's OriginateResponse (answered or not)."""
        for label, value in (("dialled number", did), ("caller number", caller_number)):
            if not NUMBER.match(value):
                raise ScriptError(f"{label} {value!r} is not a phone number (+ and 2-20 digits)")
        if not NAME.match(caller_name):
            raise ScriptError(f"caller name {caller_name!r} has characters a caller ID cannot carry")
        if not 0.1 <= ring_timeout <= 300:
            raise ScriptError(f"ring_timeout must be 0.1-300 s, got {ring_timeout}")
        callerid = f'"{caller_name}" <{caller_number}>' if caller_name else caller_number
        action = self.ami.action(
            "Originate", Channel=f"PJSIP/{did}@{self.trunk}", Context="caller", Exten="s",
            Priority="1", CallerID=callerid, Timeout=str(int(ring_timeout * 1000)), Async="true",
            Variable=script.variables())
        return asyncio.ensure_future(action)
