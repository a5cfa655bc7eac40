"""The recorder's pure helpers: paused spans, file names, Goertzel and RMS,
telling a closed WAV from one Asterisk still writes, what counts as cut short."""
import math
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from recording.audio import goertzel, rms, wav_closed, wav_seconds
from recording.finish import short_by
from recording.live import LiveRecording, Talk
from recording.names import check_inside, file_id, incoming_files, is_store_path, store_path
from recording.policy import Decision, Rule
from recording.spans import paused_spans, span_of


def test_spans_from_what_asterisk_reported():
    t0 = 1000.0
    mutes = [(1002.0, True), (1004.5, False), (1006.0, True), (1006.2, True), (1007.0, False)]
    assert paused_spans(t0, mutes, 1010.0) == [[2.0, 4.5], [6.0, 7.0]]
    # a pause still open when the recording ends closes there
    assert paused_spans(t0, [(1008.0, True)], 1009.25) == [[8.0, 9.25]]
    # an unmute without a mute, and a mute before the start, are harmless
    assert paused_spans(t0, [(999.0, True), (1001.0, False), (1003.0, False)], 1005.0) == \
        [[0.0, 1.0]]
    # nothing past the end of the recording, nothing empty
    assert paused_spans(t0, [(1011.0, True), (1012.0, False)], 1010.0) == []
    assert paused_spans(t0, [], 1010.0) == []
    assert span_of(t0, 1002.0004, 1001.0) == [2.0, 2.0]


def test_file_ids_and_paths_are_safe_for_asterisk_and_the_store():
    assert file_id("rec1-pbx-1795418655.12", 1) == "rec1-pbx-1795418655.12-1"
    assert file_id("out-abc/../x y)", 2) == "out-abc_.._x_y_-2"
    assert file_id("", 3) == "call-3"
    with pytest.raises(ValueError):
        file_id("x", 0)
    files = incoming_files(Path("/host/in"), "/var/spool/cc/incoming", "pbx-1.0-1", True)
    assert files.host == (Path("/host/in/pbx-1.0-1-rx.wav"), Path("/host/in/pbx-1.0-1-tx.wav"))
    assert files.mixmonitor() == {"Options": "r(/var/spool/cc/incoming/pbx-1.0-1-rx.wav)"
                                             "t(/var/spool/cc/incoming/pbx-1.0-1-tx.wav)"}
    mixed = incoming_files(Path("/h"), "/in", "pbx-1.0-1", False)
    assert mixed.mixmonitor() == {"File": "/in/pbx-1.0-1.wav"} and not mixed.stereo
    for bad in ("relative/x", "/a/../b", "/a)b", "/a,b", "/a b", "/a\nAction: Hangup"):
        with pytest.raises(ValueError):
            check_inside(bad)
    with pytest.raises(ValueError):
        incoming_files(Path("/h"), "/in(x)", "a-1", True)
    at = datetime(2026, 11, 23, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert store_path(at, "pbx-1.0-1", "wav") == "2026/11/24/pbx-1.0-1.wav"  # the UTC day
    with pytest.raises(ValueError):
        store_path(datetime(2026, 1, 1), "x", "wav")
    with pytest.raises(ValueError):
        store_path(at, "x", "w/v")
    assert is_store_path("2026/11/24/pbx-1.0-1.opus")
    for bad in ("/etc/passwd", "2026/11/24/../../x", "../x.wav", "2026/11/x.wav", ""):
        assert not is_store_path(bad)


def sine(freq: float, seconds: float, amplitude: float = 8000, rate: int = 8000) -> list[int]:
    return [int(amplitude * math.sin(2 * math.pi * freq * i / rate))
            for i in range(int(seconds * rate))]


def test_goertzel_finds_the_tone_and_not_the_other():
    tone = sine(440, 0.5)
    assert goertzel(tone, 8000, 440) == pytest.approx(4000, rel=0.02)  # half the amplitude
    assert goertzel(tone, 8000, 1000) < 40
    both = [a + b for a, b in zip(sine(440, 0.5, 4000), sine(1000, 0.5, 4000))]
    assert goertzel(both, 8000, 1000) == pytest.approx(2000, rel=0.02)
    assert goertzel([], 8000, 440) == 0.0
    assert rms(tone) == pytest.approx(8000 / math.sqrt(2), rel=0.01)
    assert rms([0] * 100) == 0.0 and rms([]) == 0.0


def header(riff: int, data: int) -> bytes:
    return (b"RIFF" + struct.pack("<I", riff) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1,
            8000, 16000, 2, 16) + b"data" + struct.pack("<I", data))


def test_a_wav_is_closed_when_its_header_has_its_sizes():
    assert wav_closed(header(95716, 95680), 95724)  # as Asterisk closed one in the lab
    assert not wav_closed(header(0, 0), 32812)  # still being written: sizes zero
    assert not wav_closed(header(95716, 95680), 128044)  # grew since: not ours to trust
    assert not wav_closed(b"RIFF", 4) and not wav_closed(b"\0" * 44, 44)
    assert wav_seconds(16044) == 1.0 and wav_seconds(10) == 0.0
    assert wav_seconds(32044, channels=2) == 1.0


def test_cut_short_means_seconds_missing_not_a_frame():
    assert short_by(None, 0.0) == 0.0
    assert short_by(6.0, 5.98) == 0.0
    assert short_by(6.0, 4.6) == 0.0  # within 1.5 s: a late start, trailing frames
    assert short_by(6.0, 2.0) == 4.0  # a full disk kept 2 s of 6
    assert short_by(600.0, 580.0) == 0.0 and short_by(600.0, 560.0) == 40.0


def test_what_the_console_sees_of_a_talk():
    rule = Rule("on_demand")
    talk = Talk("pbx-1.0", "care", "inbound", agent="alice", decision=Decision(False, rule, ""))
    assert talk.view() == {"linkedid": "pbx-1.0", "recording": False, "paused": False,
                           "mode": "on_demand"}
    files = incoming_files(Path("/h"), "/in", "pbx-1.0-1", True)
    rec = LiveRecording("pbx-1.0", "pbx-1.0-1", "pbx-1.0", False, files, rule, "care", "inbound",
                        "alice", requested_at=99.0)
    talk.recording = rec
    assert talk.view()["recording"] is False  # not until Asterisk says MixMonitorStart
    rec.phase, rec.started_at, rec.paused = "recording", 100.0, True
    assert talk.view() == {"linkedid": "pbx-1.0", "recording": True, "paused": True,
                           "mode": "on_demand"}
    rec.mutes = [(102.0, True)]
    rec.ended_at = 105.0
    assert rec.spans() == [[2.0, 5.0]] and rec.expected_seconds() == 5.0
    assert rec.offset(101.5) == 1.5 and rec.offset(90.0) == 0.0
