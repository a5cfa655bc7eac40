"""Transcription with vosk: what was said in a recording, word by word, and who said it.

A stereo recording carries the caller on the left channel and the agent on the
right, so each channel is recognised on its own and every word carries its
speaker; a mono one (a voicemail, a mixed recording) is one speaker, "mixed".
Words come with vosk's timings (``SetWords(True)``: start and end in seconds
into the recording) and confidence. The text kept for search lists the turns
in time order, one per line: ``caller: ...`` / ``agent: ...``.

This module runs inside the transcription worker's process (see
recording.transcriber): the model is loaded once per process and reused.
Audio problems never raise out of ``transcribe``: a file that is missing,
corrupt, empty, of a format sox cannot read, or that does not match its
checksum comes back as a failure with the reason.
"""
from __future__ import annotations

import array
import json
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

CHUNK_SECONDS = 0.5
SPEAKERS = {1: ("mixed",), 2: ("caller", "agent")}
SOX_TIMEOUT = 120

_model = None  # (path, vosk.Model) of this process


class AudioError(Exception):
    """The audio cannot be transcribed; the message is the reason."""


class ModelError(RuntimeError):
    """The model cannot be loaded: no recording's fault, so no transcript fails for it."""


# -- pure: words and speakers --------------------------------------------------------

def words_of(results: list[dict], speaker: str) -> list[dict]:
    """vosk's result objects to our words: word, start, end, conf, speaker."""
    out = []
    for result in results:
        for item in result.get("result", ()):
            word = str(item.get("word", "")).strip()
            if not word or word == "[unk]":
                continue
            out.append({"word": word, "start": round(float(item.get("start", 0.0)), 3),
                        "end": round(float(item.get("end", 0.0)), 3),
                        "conf": round(float(item.get("conf", 0.0)), 3), "speaker": speaker})
    return out


def merge_speakers(*channels: list[dict]) -> list[dict]:
    """Every channel's words in one list, in the order they were said (a tie: the
    earlier channel first, so the caller before the agent)."""
    tagged = [(w["start"], i, n, w)
              for i, words in enumerate(channels) for n, w in enumerate(words)]
    return [w for _, _, _, w in sorted(tagged, key=lambda t: t[:3])]


def transcript_text(words: list[dict]) -> str:
    """Turns in time order, one line each: "caller: hello there" then "agent: ..."."""
    lines: list[str] = []
    speaker = None
    for w in words:
        if w["speaker"] != speaker:
            speaker = w["speaker"]
            lines.append(f"{speaker}: {w['word']}")
        else:
            lines[-1] += f" {w['word']}"
    return "\n".join(lines)


# -- audio ------------------------------------------------------------------------------

def read_pcm(path: Path, sox: str = "sox") -> tuple[int, list[bytes]]:
    """(sample rate, 16-bit PCM of each channel) of a WAV, or of any file sox reads."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"no audio file at {path}")
    if path.stat().st_size == 0:
        raise AudioError("the audio file is empty (0 bytes)")
    try:
        return _read_wav(path)
    except (wave.Error, EOFError):
        pass  # not 16-bit PCM WAV (compressed, another width): sox converts it
    with tempfile.TemporaryDirectory(prefix="transcribe-") as tmp:
        converted = Path(tmp) / "pcm.wav"
        _convert(path, converted, sox)
        try:
            return _read_wav(converted)
        except (wave.Error, EOFError) as exc:
            raise AudioError(f"cannot read the converted audio: {exc}") from None


def _read_wav(path: Path) -> tuple[int, list[bytes]]:
    with wave.open(str(path), "rb") as w:
        channels, width, rate, frames = (w.getnchannels(), w.getsampwidth(), w.getframerate(),
                                         w.getnframes())
        if width != 2:
            raise wave.Error(f"{width * 8}-bit samples")
        if channels not in SPEAKERS:
            raise AudioError(f"{channels} channels: a recording is mono or stereo")
        data = w.readframes(frames)
    if not data or frames == 0:
        raise AudioError("the recording holds no audio samples")
    if len(data) < frames * 2 * channels:
        raise AudioError(f"the recording is cut short ({len(data)} of {frames * 2 * channels} "
                         "bytes of samples)")
    return rate, split_channels(data, channels)


def split_channels(data: bytes, channels: int) -> list[bytes]:
    """Interleaved 16-bit frames into one buffer per channel."""
    if channels == 1:
        return [data]
    # Slicing 2-byte items keeps each sample's bytes as they are: no byte order involved.
    samples = array.array("h")
    samples.frombytes(data[:len(data) - len(data) % (2 * channels)])
    return [samples[i::channels].tobytes() for i in range(channels)]


def _convert(path: Path, target: Path, sox: str) -> None:
    cmd = [sox, str(path), "-b", "16", "-e", "signed-integer", str(target)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=SOX_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise AudioError(f"{path.name} is not 16-bit PCM WAV and {sox!r} is not installed "
                         "to convert it (apt-get install sox)") from None
    except subprocess.TimeoutExpired:
        raise AudioError(f"sox took more than {SOX_TIMEOUT} s to read the audio") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise AudioError(f"cannot read the audio: {reason.removeprefix(sox + ' FAIL ')}")


# -- recognition (in the worker process) ------------------------------------------------------

def load_model(model_path: str):
    """The process's vosk model, loaded on first use."""
    global _model
    if _model is None or _model[0] != model_path:
        try:
            import vosk
        except ImportError:
            raise ModelError("transcription needs the vosk package (pip install vosk)") from None
        vosk.SetLogLevel(-1)  # Kaldi's info lines
        if not Path(model_path, "conf").is_dir():
            raise ModelError(f"no vosk model at {model_path}: the unzipped model folder holds "
                             "am/ and conf/")
        try:
            _model = (model_path, vosk.Model(model_path))
        except Exception as exc:  # vosk says only "Failed to create a model"
            raise ModelError(f"vosk could not load the model at {model_path} ({exc})") from None
    return _model[1]


def recognise(model, rate: int, pcm: bytes) -> list[dict]:
    """vosk's result objects for one channel of 16-bit PCM at ``rate``."""
    import vosk
    rec = vosk.KaldiRecognizer(model, float(rate))  # vosk resamples to the model's rate
    rec.SetWords(True)
    step = max(2, int(rate * CHUNK_SECONDS) * 2)
    results = []
    for at in range(0, len(pcm), step):
        if rec.AcceptWaveform(pcm[at:at + step]):
            results.append(json.loads(rec.Result()))
    results.append(json.loads(rec.FinalResult()))
    return results


def transcribe(path: str, model_path: str, sha256: str = "", sox: str = "sox") -> dict:
    """The worker's job: {"ok": True, "words", "text", "seconds", "audio_seconds"} or
    {"ok": False, "error"}. Never raises for bad audio; ModelError when the model
    cannot be loaded."""
    started = time.process_time()
    try:
        if sha256:
            _check_sum(Path(path), sha256)
        rate, channels = read_pcm(Path(path), sox)
        model = load_model(model_path)
        speakers = SPEAKERS[len(channels)]
        words = merge_speakers(*(words_of(recognise(model, rate, pcm), who)
                                 for who, pcm in zip(speakers, channels)))
    except AudioError as exc:
        return {"ok": False, "error": str(exc)}
    except ModelError:
        raise
    except Exception as exc:  # vosk choking on odd audio: that recording fails, not the worker
        return {"ok": False, "error": f"the recogniser failed: {exc.__class__.__name__}: {exc}"}
    return {"ok": True, "words": words, "text": transcript_text(words),
            "channels": len(channels), "audio_seconds": len(channels[0]) / 2 / rate,
            "cpu_seconds": time.process_time() - started}


def _check_sum(path: Path, expected: str) -> None:
    import hashlib
    if not path.is_file():
        raise AudioError(f"no audio file at {path}")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise AudioError("the file does not match its checksum (changed or damaged since "
                         "it was published)")


def warm(model_path: str) -> None:
    """Pool initializer: load the model when the process starts, not on the first job."""
    try:
        load_model(model_path)
    except ModelError as exc:  # the first job reports it too
        print(f"transcription: cannot load the vosk model at {model_path}: {exc}",
              file=sys.stderr)
