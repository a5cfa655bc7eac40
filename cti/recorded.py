"""Files Asterisk records for us (RECORD FILE): when they are complete.

Asterisk answers a RECORD FILE command just before it closes the file, so the
size read at that moment can be short; waiting until it stops changing gives
the real one.  Shared by the IVR's and the ACD's voicemail.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

WAV_HEADER = 44  # bytes: a WAV with nothing more holds no sound
WAV_BYTES_PER_SECOND = 16000  # 8 kHz, 16-bit, mono: what RECORD FILE ... wav writes


async def written_size(path: Path, settle: float = 0.1, limit: float = 2.0) -> int:
    """The file's size once Asterisk has finished writing it (a file still at its
    bare header is given a moment longer)."""
    def size() -> int:
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return 0
    last, waited = size(), 0.0
    while waited < limit:
        await asyncio.sleep(settle)
        waited += settle
        now = size()
        if now == last and (now > WAV_HEADER or waited >= 0.5):
            return now
        last = now
    return last
