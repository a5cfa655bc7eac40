"""The first IVR: ring, answer, ask for one key, say it back, say goodbye.

Issue 4 replaces this with menus described as data; it is the route every
DID reaches today and the path of the first real call in the history.
"""
from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

KEY = re.compile(r"^[0-9*#]$")
ALL_KEYS = "0123456789*#"


class WelcomeMenu:
    def __init__(self, ring_seconds: float = 1.0, timeout_ms: int = 5000,
                 prompt: str = "demo-instruct", goodbye: str = "vm-goodbye"):
        self.ring_seconds = ring_seconds
        self.timeout_ms = timeout_ms
        self.prompt = prompt
        self.goodbye = goodbye

    async def handle(self, call) -> None:
        # Ring first: a caller who gives up in the first second is not answered
        # (and not billed); the history still shows the call, unanswered.
        if self.ring_seconds > 0:
            await call.exec("Ringing")
            await call.exec("Wait", f"{self.ring_seconds:g}")
        await call.answer()
        # Not GET DATA: it treats # as "end of input" and would lose that key.
        key = await call.stream_file(self.prompt, escape_digits=ALL_KEYS)
        if not key:
            key = await call.wait_for_digit(self.timeout_ms)
        if KEY.match(key or ""):
            await call.stream_file("beep")
            if key.isdigit():  # SAY DIGITS refuses * and # (520)
                await call.say_digits(key)
        else:
            log.info("ivr: no key from %s", call.env.get("callerid", "?"))
        await call.stream_file(self.goodbye)
        # Returning hands the call back to the dialplan, whose Hangup() ends it
        # with cause 16 (Normal Clearing); AGI's HANGUP would leave cause 0.
