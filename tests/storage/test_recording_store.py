"""The recording store on real files: a published file is whole (merged,
flushed, hashed, linked into place), never replaces another, and a full or
unwritable disk leaves nothing behind under any name."""
import hashlib
import os
import subprocess
import wave

import pytest

from recording.audio import goertzel, read_wav
from recording.errors import StoreError
from recording.store import Store, writable


def tone(path, freq, seconds=1.0):
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "synth",
                    str(seconds), "sine", str(freq), "vol", "0.5"], check=True)
    return path


@pytest.fixture
def legs(tmp_path):
    """What MixMonitor writes for a stereo recording: rx (the caller) and tx."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    return tone(incoming / "c-1-rx.wav", 440, 2.0), tone(incoming / "c-1-tx.wav", 1000, 1.5)


def test_stereo_puts_the_caller_left_and_the_agent_right(tmp_path, legs):
    store = Store(tmp_path / "store")
    published = store.publish_call(legs, "2026/11/23/c-1.wav", stereo=True)
    path = store.root / published.path
    assert (published.channels, published.format, published.duration) == (2, "wav", 2.0)
    assert published.size == path.stat().st_size
    assert published.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    rate, (left, right) = read_wav(path)
    assert goertzel(left[:8000], rate, 440) > 1000 > 50 > goertzel(left[:8000], rate, 1000)
    assert goertzel(right[:8000], rate, 1000) > 1000 > 50 > goertzel(right[:8000], rate, 440)
    assert max(abs(x) for x in right[12800:]) == 0  # the shorter side is padded with silence
    assert [p.name for p in path.parent.iterdir()] == ["c-1.wav"]  # no part file left


def test_the_agents_leg_recorded_is_swapped_into_place(tmp_path, legs):
    store = Store(tmp_path / "store")
    published = store.publish_call(legs, "2026/11/23/c-1.wav", stereo=True, swap=True)
    rate, (left, right) = read_wav(store.root / published.path)
    assert goertzel(left[:8000], rate, 1000) > 1000 and goertzel(right[:8000], rate, 440) > 1000


def test_mixed_is_the_one_file_as_asterisk_wrote_it(tmp_path, legs):
    store = Store(tmp_path / "store")
    published = store.publish_call(legs[:1], "2026/11/23/c-1.wav", stereo=False)
    assert published.channels == 1 and published.duration == 2.0
    assert (store.root / published.path).read_bytes() == legs[0].read_bytes()


def test_a_published_file_is_never_replaced(tmp_path, legs):
    store = Store(tmp_path / "store")
    first = store.publish_call(legs, "2026/11/23/c-1.wav", stereo=True)
    with pytest.raises(StoreError, match="published already"):
        store.publish_call(legs[1:] + legs[:1], "2026/11/23/c-1.wav", stereo=True)
    assert hashlib.sha256((store.root / first.path).read_bytes()).hexdigest() == first.sha256
    assert sorted(p.name for p in (store.root / "2026/11/23").iterdir()) == ["c-1.wav"]
    for bad in ("../outside.wav", "/etc/x.wav", "2026/11/23/../../x.wav"):
        with pytest.raises(StoreError, match="not a path of the recording store"):
            store.publish_call(legs, bad, stereo=True)


def test_a_missing_or_broken_source_publishes_nothing(tmp_path, legs):
    store = Store(tmp_path / "store")
    with pytest.raises(StoreError):
        store.publish_call((legs[0], tmp_path / "gone.wav"), "2026/11/23/c-2.wav", stereo=True)
    legs[1].write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(StoreError):
        store.publish_call(legs, "2026/11/23/c-3.wav", stereo=True)
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


@pytest.fixture
def tiny(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root")
    folder = tmp_path / "tiny"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_leaves_no_file_under_any_name(tiny, tmp_path):
    long = (tone(tmp_path / "l-rx.wav", 440, 3.0), tone(tmp_path / "l-tx.wav", 1000, 3.0))
    store = Store(tiny)
    # 3 s of stereo is 96 KB: sox stops at 64 KiB (and says nothing: its exit status is 0)
    with pytest.raises(StoreError, match="short"):
        store.publish_call(long, "2026/11/23/c-1.wav", stereo=True)
    assert [p for p in tiny.rglob("*") if p.is_file()] == []
    assert "is full" in writable(tiny, need=1 << 20)


def test_writable_says_why_not(tmp_path):
    assert writable(tmp_path) is None
    assert writable(tmp_path / "nope") == f"{tmp_path / 'nope'} does not exist"
    with wave.open(str(tmp_path / "x.wav"), "wb") as w:  # a file is not a folder
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000), w.writeframes(b"")
    assert "does not exist" in writable(tmp_path / "x.wav")
