"""Compression: published call WAVs become a smaller file (Opus in an Ogg
container, or MP3) through pydub (ffmpeg), stereo kept.  A background job: the
service runs it periodically in a thread, never on the event loop.

A recording is compressed once it is ``after`` seconds old and no transcriber
is reading it (a pending or running transcript; with transcription on, only
once its transcript is done or failed).  The new file is written aside,
decoded back to check its length, then published like any file of the store;
the row (format, size, sha256, path, compressed_at) and its link follow in one
transaction, and only then is the WAV removed.  Any failure removes the new file
and leaves the WAV and its row as they were (logged).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pydub import AudioSegment

from crm_core.recordings import due_for_compression, get_recording, mark_compressed

from .errors import StoreError
from .store import Published, Store

__all__ = ["FORMATS", "compress_file", "compress_one", "compress_due", "Compressor"]

log = logging.getLogger("recording.compress")

# format -> (file extension, pydub export arguments). 8 kHz speech: 16 kbit/s
# Opus or 24 kbit/s MP3 (MPEG-2.5 at 8 kHz) stays intelligible in stereo.
FORMATS = {
    "opus": ("opus", {"format": "opus", "codec": "libopus", "bitrate": "16k",
                      "parameters": ["-application", "voip"]}),
    "mp3": ("mp3", {"format": "mp3", "codec": "libmp3lame", "bitrate": "24k"}),
}
LENGTH_SLACK = 0.1  # seconds an encoder may add or drop (frame padding)


@dataclass(frozen=True)
class Compressed:
    recording_id: int
    old_path: str
    published: Published


def compress_file(store: Store, rel: str, fmt: str) -> Published:
    """The WAV at ``rel`` encoded to ``fmt`` and published next to it (the WAV stays)."""
    if fmt not in FORMATS:
        raise ValueError(f"compression format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    ext, export = FORMATS[fmt]
    source = store.path(rel)
    new_rel = rel.rsplit(".", 1)[0] + f".{ext}"
    part = store.part_for(new_rel)
    try:
        audio = AudioSegment.from_wav(str(source))
        with open(part, "wb") as out:
            audio.export(out, **export)
        back = AudioSegment.from_file(str(part), format=fmt if fmt == "mp3" else "ogg")
        if abs(len(back) - len(audio)) / 1000 > LENGTH_SLACK + 0.08:  # + one codec frame
            raise StoreError(f"the {fmt} file holds {len(back) / 1000:.2f} s of "
                             f"{len(audio) / 1000:.2f} s")
    except StoreError:
        part.unlink(missing_ok=True)
        raise
    except Exception as exc:  # ffmpeg failed, disk full, unreadable WAV
        part.unlink(missing_ok=True)
        raise StoreError(f"cannot encode {rel} to {fmt}: {exc.__class__.__name__}: "
                         f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}") \
            from None
    return store.publish_part(part, new_rel, fmt, audio.channels, round(len(audio) / 1000, 3))


def compress_one(sessions, store: Store, recording_id: int, fmt: str) -> Compressed | None:
    """One recording compressed and its row updated; None (logged) when it failed."""
    with sessions() as session:
        rec = get_recording(session, recording_id)
        rel, status, current = rec.path, rec.status, rec.format
    if status != "complete" or current != "wav":
        return None
    try:
        published = compress_file(store, rel, fmt)
    except (StoreError, OSError) as exc:
        log.error("compress: recording %d (%s) stays a WAV: %s", recording_id, rel, exc)
        return None
    try:
        with sessions.begin() as session:
            mark_compressed(session, recording_id, path=published.path, format=fmt,
                            size=published.size, sha256=published.sha256,
                            at=datetime.now(timezone.utc))
    except Exception as exc:
        store.remove(published.path)
        log.error("compress: recording %d (%s) stays a WAV: the CRM row could not be "
                  "updated (%s)", recording_id, rel, exc)
        return None
    try:
        store.remove(rel)
    except OSError as exc:  # the row names the new file: the WAV is only a leftover
        log.warning("compress: %s is compressed but the WAV could not be removed: %s", rel, exc)
    log.info("compress: recording %d: %s -> %s (%d bytes)", recording_id, rel, published.path,
             published.size)
    return Compressed(recording_id, rel, published)


def compress_due(sessions, store: Store, fmt: str, *, after: float = 600.0,
                 now: datetime | None = None, limit: int = 100,
                 transcribed_first: bool = False) -> list[Compressed]:
    """Every WAV due (at least ``after`` seconds old, no transcript in progress;
    ``transcribed_first``: transcribed already)."""
    before = (now or datetime.now(timezone.utc)) - timedelta(seconds=after)
    with sessions() as session:
        ids = [rec.id for rec in due_for_compression(session, before, limit=limit,
                                                     transcribed_first=transcribed_first)]
    done = [compress_one(sessions, store, rec_id, fmt) for rec_id in ids]
    return [item for item in done if item is not None]


class Compressor:
    """The service's periodic job."""

    def __init__(self, sessions, store: Store, fmt: str, after: float = 600.0,
                 transcribed_first: bool = False):
        if fmt not in FORMATS:
            raise ValueError(f"compression format must be one of {', '.join(FORMATS)}, "
                             f"got {fmt!r}")
        self.sessions, self.store, self.fmt, self.after = sessions, store, fmt, after
        self.transcribed_first = transcribed_first
        self.__name__ = "compression"

    def __call__(self) -> list[Compressed]:
        return compress_due(self.sessions, self.store, self.fmt, after=self.after,
                            transcribed_first=self.transcribed_first)
