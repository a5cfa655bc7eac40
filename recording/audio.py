"""Audio helpers: reading WAVs, the energy at one frequency (Goertzel) and RMS,
and telling whether Asterisk has closed a WAV it writes.  Pure Python (no numpy):
the analysis runs on a few seconds of 8 kHz audio in tests and benchmarks.

Asterisk writes a WAV's header with zero sizes when it opens the file and puts
the real sizes in when it closes it (format_wav's update_header), so a header
whose sizes match the file is the sign that the file is complete."""
from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

__all__ = ["goertzel", "rms", "read_wav", "wav_closed", "wav_seconds", "WAV_HEADER"]

WAV_HEADER = 44  # Asterisk's PCM WAV header


def goertzel(samples, rate: int, freq: float) -> float:
    """The amplitude of ``freq`` in ``samples`` (a pure sine of amplitude A gives
    about A/2), by the Goertzel algorithm."""
    n = len(samples)
    if n == 0:
        return 0.0
    coeff = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return math.sqrt(max(0.0, power)) / n


def rms(samples) -> float:
    if not samples:
        return 0.0
    return math.sqrt(sum(x * x for x in samples) / len(samples))


def read_wav(path: Path) -> tuple[int, list[tuple[int, ...]]]:
    """(sample rate, one tuple of 16-bit samples per channel)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit audio; 16-bit expected")
        rate, channels, frames = w.getframerate(), w.getnchannels(), w.getnframes()
        data = w.readframes(frames)
    count = len(data) // 2
    samples = struct.unpack(f"<{count}h", data[:count * 2])
    return rate, [samples[c::channels] for c in range(channels)]


def wav_closed(header: bytes, size: int) -> bool:
    """True when the RIFF and data sizes in a 44-byte PCM header match a file of
    ``size`` bytes: Asterisk has closed it."""
    if len(header) < WAV_HEADER or header[:4] != b"RIFF" or header[8:12] != b"WAVE" \
            or header[36:40] != b"data":
        return False
    riff, = struct.unpack("<I", header[4:8])
    data, = struct.unpack("<I", header[40:44])
    return riff == size - 8 and data == size - WAV_HEADER


def wav_seconds(size: int, channels: int = 1, rate: int = 8000, width: int = 2) -> float:
    """The length of a PCM WAV of ``size`` bytes."""
    return max(0, size - WAV_HEADER) / (channels * rate * width)
