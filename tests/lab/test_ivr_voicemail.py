"""After hours on real calls: the schedule is closed, the caller leaves a message
after the beep, and the message is a file linked on the call's interaction; a
caller who hangs up during the greeting leaves no (empty) voicemail."""
from __future__ import annotations

import array
import wave

import pytest

from callcenter.world import CallerScript

from .ivr_support import IvrLab, make_sound, step_of, steps

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]

HOURS = "8005550205"
HOURS_LONG_GREETING = "8005550206"


async def test_after_hours_the_caller_leaves_a_voicemail(lab, sessions):
    message = make_sound(lab.pbx.root, "call-me-back", "Please call me back tomorrow morning")
    async with IvrLab(lab, sessions) as ivr:
        # Greeting (a beep) and the record beep take about a second; then the
        # caller speaks and hangs up, the usual end of a message.
        await ivr.call(HOURS, "+15552000041", CallerScript(audio=message, delay=1.5, hold=0.5))
        (ended,) = await ivr.ended()
        linkedid = ended["linkedid"]
        detail = await ivr.ivr_segment(linkedid)
        (published,) = await ivr.ivr.wait("ivr.voicemail", timeout=5)
        links = ivr.links(linkedid)
        assert ivr.engine.agi.errors == 0
        assert steps(detail) == [("hours", "hours"), ("after_hours", "voicemail")]
        assert step_of(detail, "hours")["branch"] == "closed"
        assert step_of(detail, "after_hours")["message"] is True
        assert detail["outcome"] == "voicemail"
        (link,) = links
        assert link.kind == "voicemail" and link.ref == published["file"]
        assert link.ref == str(ivr.recordings / "voicemail" / f"{linkedid}.wav")
        assert link.meta["mailbox"] == "100" and link.meta["caller"] == "+15552000041"
        with wave.open(link.ref) as recorded:  # a real 8 kHz recording of the message
            assert recorded.getframerate() == 8000
            seconds = recorded.getnframes() / 8000
            samples = array.array("h", recorded.readframes(recorded.getnframes()))
        assert 1.0 < seconds < 10, seconds
        assert max(map(abs, samples)) > 1000  # the caller's voice, not silence
        assert link.meta["bytes"] > 44 and published["linkedid"] == linkedid


async def test_a_caller_who_hangs_up_during_the_greeting_leaves_no_voicemail(lab, sessions):
    async with IvrLab(lab, sessions) as ivr:
        # vm-intro lasts about 5.7 s; the caller is gone after 1.5 s.
        await ivr.call(HOURS_LONG_GREETING, "+15552000042", CallerScript(delay=0, hold=1.5))
        (ended,) = await ivr.ended()
        detail = await ivr.ivr_segment(ended["linkedid"])
        assert ivr.links(ended["linkedid"]) == []
        assert ivr.ivr.of("ivr.voicemail") == []
        folder = ivr.recordings / "voicemail"
        assert not folder.exists() or not any(folder.iterdir())
    assert steps(detail) == [("hours", "hours"), ("after_hours", "voicemail")]
    assert detail["outcome"] == "caller_hung_up"
