"""Recordings an earlier run left in Asterisk's incoming folder (the engine
stopped while calls were recorded): closed ones are published on their call,
with the row saying so; open, recent, busy or unplaceable ones are left alone,
the last with one alert.  Real WAV files, a real store (sox), both databases."""
import asyncio
import hashlib
import os
import struct
import time
import wave
from datetime import datetime, timezone

import pytest

from cti.bus import InProcessBus
from crm_core import interactions as I, recordings as R
from recording.audio import read_wav
from recording.policy import parse_policy
from recording.service import RecordingService
from recording.store import Store

INSIDE = "/var/spool/callcenter/incoming"


def write_wav(path, seconds=1.0, value=1000, closed=True, age=600.0):
    """A mono 8 kHz 16-bit WAV as Asterisk leaves it: closed (sizes in the
    header) or still open (sizes zero); its mtime ``age`` seconds ago."""
    frames = int(8000 * seconds)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(struct.pack("<h", value) * frames)
    if not closed:
        with open(path, "r+b") as f:
            f.seek(4)
            f.write(b"\0\0\0\0")
            f.seek(40)
            f.write(b"\0\0\0\0")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def call(sessions, linkedid):
    with sessions.begin() as s:
        I.save_call(s, I.CallFacts(linkedid=linkedid, direction="inbound",
                                   started_at=datetime.now(timezone.utc),
                                   caller_number="+15551230001"))


@pytest.fixture
def recorder(sessions, tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    bus = InProcessBus()
    seen = []
    bus.subscribe("recording.*", lambda topic, payload: seen.append((topic, payload)))
    service = RecordingService(None, bus, sessions, parse_policy({"recording": {}}),
                               store=Store(tmp_path / "store"), incoming=(incoming, INSIDE))
    service.seen = seen
    yield service
    service._io.shutdown(wait=True)
    service._db.shutdown(wait=True)


def sweep(service):
    async def run():
        count = await service.sweep_leftovers()
        await asyncio.sleep(0)  # the bus delivers
        return count
    return asyncio.run(run())


def test_a_closed_stereo_pair_is_published_on_its_call(sessions, recorder):
    call(sessions, "pbx-1796.4")
    rx = write_wav(recorder.incoming[0] / "pbx-1796.4-1-rx.wav", 2.0, value=3000)
    tx = write_wav(recorder.incoming[0] / "pbx-1796.4-1-tx.wav", 2.0, value=-2000)
    assert sweep(recorder) == 1
    assert not rx.exists() and not tx.exists()  # Asterisk's files are gone
    with sessions() as s:
        (row,) = R.recordings_of(s, I.by_linkedid(s, "pbx-1796.4").id)
        assert (row.channels, row.format, row.paused, row.status) == (2, "wav", [], "complete")
        assert row.meta["recovered"] is True and row.meta["length_checked"] is False
        assert abs(row.duration - 2.0) < 0.01
    published = recorder.store.path(row.path)
    assert row.sha256 == hashlib.sha256(published.read_bytes()).hexdigest()
    _, (left, right) = read_wav(published)
    assert left[100] == 3000 and right[100] == -2000  # the caller left, the agent right
    (event,) = [p for t, p in recorder.seen if t == "recording.published"]
    assert event["recovered"] is True and event["linkedid"] == "pbx-1796.4"
    assert sweep(recorder) == 0  # once


def test_a_mixed_file_is_published_mono(sessions, recorder):
    call(sessions, "pbx-1797.0")
    write_wav(recorder.incoming[0] / "pbx-1797.0-2.wav", 1.5)
    assert sweep(recorder) == 1
    with sessions() as s:
        (row,) = R.recordings_of(s, I.by_linkedid(s, "pbx-1797.0").id)
        assert row.channels == 1 and row.meta["channels"] == "mixed"
    assert list(recorder.incoming[0].iterdir()) == []


def test_files_still_written_recent_or_followed_are_left_alone(sessions, recorder):
    folder = recorder.incoming[0]
    for linkedid in ("pbx-1.0", "pbx-2.0", "pbx-3.0"):
        call(sessions, linkedid)
    kept = [write_wav(folder / "pbx-1.0-1.wav", closed=False),  # Asterisk still writes it
            write_wav(folder / "pbx-2.0-1.wav", age=5.0),  # just closed: ours may finish it
            write_wav(folder / "pbx-3.0-1.wav"),  # finishing in this process
            write_wav(folder / "filler"), write_wav(folder / "pbx-4.0-1.wav.part")]
    recorder._finishing.add("pbx-3.0-1")
    assert sweep(recorder) == 0
    assert all(p.exists() for p in kept)
    assert [p for p in recorder.store.root.rglob("*") if p.is_file()] == []
    assert not [t for t, _ in recorder.seen if t == "recording.alert"]
    recorder._finishing.discard("pbx-3.0-1")
    assert sweep(recorder) == 1  # once no longer followed


def test_what_cannot_be_placed_stays_with_one_alert(sessions, recorder):
    folder = recorder.incoming[0]
    call(sessions, "pbx-5.0")
    half = write_wav(folder / "pbx-5.0-1-rx.wav")  # its tx side is missing
    stranger = write_wav(folder / "pbx-9.9-1.wav")  # no such call in the CRM
    assert sweep(recorder) == 0
    alerts = [p for t, p in recorder.seen if t == "recording.alert"]
    assert sorted(a["linkedid"] for a in alerts) == ["pbx-5.0", "pbx-9.9"]
    assert any("one side of a stereo pair is missing" in a["message"] for a in alerts)
    assert any("no call pbx-9.9 in the CRM" in a["message"] for a in alerts)
    assert half.exists() and stranger.exists()
    assert [p for p in recorder.store.root.rglob("*") if p.is_file()] == []  # nothing stays stored
    with sessions() as s:
        assert R.recordings_of(s, I.by_linkedid(s, "pbx-5.0").id) == []
    assert sweep(recorder) == 0
    assert len([t for t, _ in recorder.seen if t == "recording.alert"]) == 2  # not again
