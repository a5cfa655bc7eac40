"""Recording storage benchmark: bytes per recorded minute for each format the
platform stores, next to the physical figure (8 kHz, 16-bit, mono PCM: 16,000
bytes a second, 960,000 bytes = 960 KB a minute).

The audio is --minutes of a two-sided conversation: espeak-ng speech at 8 kHz,
the caller talking while the agent is silent and back (about what a call holds),
as a stereo WAV (left the caller, right the agent, as the recorder publishes)
and as its mono mix (MixMonitor's mixed file).  Each is stored as the recorder
does (the WAV as published; Opus in Ogg and MP3 by recording.compress, the
platform's own encoder settings), and the encoding speed is measured too.
KB is 1,000 bytes.

Usage: .venv/bin/python bench/recording_storage.py [--minutes N]
The last line is `recording_storage_opus_stereo: <n> KB/min`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recording.compress import FORMATS, compress_file  # noqa: E402
from recording.store import Store  # noqa: E402

PHYSICAL = 8000 * 2 * 60 / 1000  # KB per minute of 8 kHz 16-bit mono
LINES = [
    ("caller", "Hello, I am calling about my last invoice, the amount looks wrong to me."),
    ("agent", "I am sorry to hear that. Can you give me your customer number, please?"),
    ("caller", "Yes, it is four five seven, one two nine, eight eight three."),
    ("agent", "Thank you. I can see the invoice from March. Which line is the problem?"),
    ("caller", "The second one. I was charged twice for the same delivery."),
    ("agent", "You are right, that is a mistake. I will credit it to your account today."),
]


def speech(folder: Path, minutes: float) -> tuple[Path, Path]:
    """A stereo conversation (caller left, agent right) and its mono mix."""
    turns = []
    for n, (side, text) in enumerate(LINES):
        raw, turn = folder / f"raw-{n}.wav", folder / f"turn-{n}.wav"
        voice = "en-us" if side == "caller" else "en-gb"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), "--", text], check=True)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(turn),
                        "pad", "0", "0.6"], check=True)
        silence = folder / f"quiet-{n}.wav"
        subprocess.run(["sox", str(turn), str(silence), "vol", "0"], check=True)
        turns.append((side, turn, silence))
    caller = [str(t if side == "caller" else q) for side, t, q in turns]
    agent = [str(t if side == "agent" else q) for side, t, q in turns]
    once_l, once_r = folder / "l1.wav", folder / "r1.wav"
    subprocess.run(["sox", *caller, str(once_l)], check=True)
    subprocess.run(["sox", *agent, str(once_r)], check=True)
    length = float(subprocess.run(["soxi", "-D", str(once_l)], capture_output=True,
                                  text=True, check=True).stdout)
    repeat = max(0, int(minutes * 60 / length))
    left, right = folder / "left.wav", folder / "right.wav"
    for src, dst in ((once_l, left), (once_r, right)):
        subprocess.run(["sox", str(src), str(dst), "repeat", str(repeat), "trim", "0",
                        str(minutes * 60)], check=True)
    stereo, mono = folder / "stereo.wav", folder / "mono.wav"
    subprocess.run(["sox", "-M", str(left), str(right), str(stereo)], check=True)
    subprocess.run(["sox", "-m", str(left), str(right), str(mono)], check=True)
    return stereo, mono


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="recording-storage-"))
    try:
        stereo, mono = speech(work, args.minutes)
        store = Store(work / "store")
        rows, last = [], 0.0
        for label, source in (("stereo", stereo), ("mono", mono)):
            rel = f"2026/01/01/{label}.wav"
            (store.root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, store.root / rel)
            rows.append((f"wav {label}", (store.root / rel).stat().st_size, None))
            for fmt in FORMATS:
                begin = time.perf_counter()
                published = compress_file(store, rel, fmt)
                took = time.perf_counter() - begin
                rows.append((f"{fmt} {label}", published.size, args.minutes * 60 / took))
                if (fmt, label) == ("opus", "stereo"):
                    last = published.size / args.minutes / 1000
        print(f"{args.minutes:g} minutes of a two-sided conversation (espeak-ng at 8 kHz); "
              f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"{'format':<14}{'KB/min':>10}{'x physical':>12}{'encoding':>22}")
        print(f"{'physical':<14}{PHYSICAL:>10.1f}{1:>12.2f}{'(8 kHz 16-bit mono)':>22}")
        for name, size, speed in rows:
            per_minute = size / args.minutes / 1000
            pace = f"{speed:,.0f} s of audio/s" if speed else "(as published)"
            print(f"{name:<14}{per_minute:>10.1f}{per_minute / PHYSICAL:>12.2f}{pace:>22}")
        settings = ", ".join(f"{fmt}: {kw['bitrate']}bit/s" for fmt, (_, kw) in FORMATS.items())
        print(f"encoder settings: {settings}")
        print(f"recording_storage_opus_stereo: {last:.1f} KB/min")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
