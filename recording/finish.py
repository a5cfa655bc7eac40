"""Finishing a recording once MixMonitor is over: wait until Asterisk has
closed its files, check that they hold the whole call, publish them whole into
the store (recording.store), then write the ``recordings`` row and the
interaction's link (crm_core.recordings), retried while the interaction's own
row is not written yet or the database hiccups.

What is complete is decided from the files themselves: Asterisk fills in a
WAV's sizes only when it closes it (recording.audio.wav_closed), and a file
much shorter than the time between MixMonitorStart and the end was cut short
(a full disk on Asterisk's side).  An incomplete recording is never published:
its files are removed and ``recording.alert`` says so.  When the store cannot
take a complete one, Asterisk's files stay in the incoming folder (named in the
alert) and no row is written.

A mixin of RecordingService.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from pathlib import Path

from crm_core.errors import ValidationError
from crm_core.recordings import add_recording

from .audio import WAV_HEADER, wav_closed, wav_seconds
from .errors import StoreError
from .live import LiveRecording
from .names import store_path

log = logging.getLogger("recording")

POLL = 0.1  # seconds between two looks at a file Asterisk is closing


def short_by(expected: float | None, actual: float) -> float:
    """Seconds missing from a recording (0 when it holds the call): a file may
    trail the events by a frame or two and start a little late, never seconds."""
    if expected is None:
        return 0.0
    tolerance = max(1.5, 0.05 * expected)
    return max(0.0, expected - actual) if actual + tolerance < expected else 0.0


def file_state(path: Path) -> tuple[str, int]:
    """("missing" | "open" | "closed", size) of a WAV Asterisk writes."""
    try:
        with open(path, "rb") as f:
            header = f.read(WAV_HEADER)
            size = path.stat().st_size
    except FileNotFoundError:
        return "missing", 0
    return ("closed" if wav_closed(header, size) else "open"), size


class Finishing:
    async def _finish(self, rec: LiveRecording) -> None:
        self._finishing.add(rec.fid)  # not a leftover (recording.leftovers)
        try:
            await self._finish_files(rec)
        except Exception as exc:  # never leave a recording half-handled silently
            self.failed += 1
            self._alert("error", f"call {rec.linkedid}: recording {rec.fid} failed "
                        f"({exc.__class__.__name__}: {exc})", rec.linkedid)
            raise
        finally:
            self._finishing.discard(rec.fid)

    async def _finish_files(self, rec: LiveRecording) -> None:
        states = await self._closed(rec)
        if all(state == "missing" for state, _ in states):
            if rec.started_at is not None:  # Asterisk said it recorded: where is it?
                self.failed += 1
                self._alert("error", f"call {rec.linkedid}: recording {rec.fid} was never "
                            f"written into {self.incoming[1]}", rec.linkedid)
            return
        problem = self._incomplete(rec, states)
        if problem:
            self.failed += 1
            await self._in_io(remove_files, rec.files.host)
            self._alert("error", f"call {rec.linkedid}: recording {rec.fid} is incomplete "
                        f"({problem}); it was discarded", rec.linkedid)
            return
        created = datetime.now(timezone.utc)
        rel = store_path(created, rec.fid, "wav")
        try:
            published = await self._in_io(self._publish_files, rec, rel)
        except StoreError as exc:
            self.failed += 1
            self._alert("error", f"call {rec.linkedid}: recording {rec.fid} could not be "
                        f"stored ({exc}); Asterisk's files are kept: "
                        f"{', '.join(str(p) for p in rec.files.host)}", rec.linkedid)
            return
        row = await self._save_row(rec, published)
        await self._in_io(remove_files, rec.files.host)
        if row is not None:
            self.published += 1
            self._bus("recording.published", {
                "recording_id": row, "linkedid": rec.linkedid, "path": published.path,
                "format": published.format, "channels": published.channels,
                "duration": published.duration, "paused": rec.spans()})

    async def _closed(self, rec: LiveRecording) -> list[tuple[str, int]]:
        """Each file's state once all are closed or missing, or after close_wait."""
        waited = 0.0
        while True:
            states = await self._in_io(lambda: [file_state(p) for p in rec.files.host])
            if all(state != "open" for state, _ in states) or waited >= self.close_wait:
                return states
            await asyncio.sleep(POLL)
            waited += POLL

    def _incomplete(self, rec: LiveRecording, states) -> str:
        if any(state == "open" for state, _ in states):
            return f"Asterisk did not close it within {self.close_wait:g} s"
        if any(state == "missing" for state, _ in states):
            return "a side of the call is missing"
        actual = min(wav_seconds(size) for _, size in states)
        missing = short_by(rec.expected_seconds(), actual)
        if missing:
            return (f"{actual:.1f} s written of {rec.expected_seconds():.1f} s recorded: "
                    f"{missing:.1f} s lost (is {self.incoming[1]} full?)")
        return ""

    def _publish_files(self, rec: LiveRecording, rel: str):
        return self.store.publish_call(rec.files.host, rel, stereo=rec.stereo, swap=rec.swap)

    async def _save_row(self, rec: LiveRecording, published) -> int | None:
        meta = {"linkedid": rec.linkedid, "queue": rec.queue or None,
                "direction": rec.direction, "agents": rec.agents, "mode": rec.rule.mode,
                "trigger": rec.trigger, "channels": "stereo" if rec.stereo else "mixed",
                "recorded_leg": "agent" if rec.swap else "customer",
                "retention_days": rec.rule.retention_days}
        delay, last = 0.2, None

        def write(session):
            return add_recording(session, rec.linkedid, path=published.path,
                                 format=published.format, channels=published.channels,
                                 duration=published.duration, size=published.size,
                                 sha256=published.sha256, paused=rec.spans(), meta=meta).id
        for _ in range(self.db_attempts):
            try:
                return await self._in_db(write)
            except ValidationError as exc:  # ours to fix, retrying will not help
                last = exc
                break
            except Exception as exc:  # the call's row is not written yet, or a hiccup
                last = exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        self.failed += 1
        self._alert("error", f"call {rec.linkedid}: recording {published.path} is stored but "
                    f"not in the CRM ({last.__class__.__name__}: {last})", rec.linkedid)
        return None


def remove_files(paths) -> None:
    for path in paths:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("recording: cannot remove %s: %s", path, exc)
