"""The recording store: published files only, each one whole.

A file is written aside (a hidden ``.name.part`` in its final folder, so the
last step is a rename on one file system), flushed to disk (fsync), hashed
(SHA-256), checked for its full length, then linked to its final name (a link
never replaces an existing file) and the folder flushed.  Any failure (disk
full, an unwritable folder, a short source) removes the part file and raises
StoreError: nothing half-written is ever under a final name.  Blocking: the
service calls it in a thread.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

from .audio import WAV_HEADER
from .errors import StoreError
from .names import is_store_path

__all__ = ["Store", "Published", "free_bytes", "writable"]

log = logging.getLogger("recording.store")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Published:
    path: str  # relative to the store
    size: int
    sha256: str
    duration: float  # seconds
    channels: int
    format: str


class Store:
    def __init__(self, root: Path, sox: str = "sox"):
        self.root = Path(root)
        self.sox = sox

    def path(self, rel: str) -> Path:
        if not is_store_path(rel):
            raise StoreError(f"not a path of the recording store: {rel!r}")
        return self.root / rel

    # -- publishing --------------------------------------------------------------
    def publish_call(self, sources: tuple[Path, ...], rel: str, *, stereo: bool,
                     swap: bool = False) -> Published:
        """A call's recording from Asterisk's files: stereo merges the two mono legs
        (left the caller, right the agent; ``swap`` when the agent's leg was the one
        recorded), mixed copies the one file."""
        final = self.path(rel)
        part = self._part_for(final)
        try:
            if stereo:
                left, right = (sources[1], sources[0]) if swap else (sources[0], sources[1])
                frames = max(_frames(left), _frames(right))
                self._run([self.sox, "-M", str(left), str(right), "-t", "wav", "-b", "16",
                           str(part)])
            else:
                frames = _frames(sources[0])
                _copy(sources[0], part)
            _check_wav(part, frames, 2 if stereo else 1)
            return self._commit(part, final, rel, "wav")
        except BaseException:
            part.unlink(missing_ok=True)
            raise

    def publish_part(self, part: Path, rel: str, fmt: str, channels: int,
                     duration: float) -> Published:
        """A file already written next to its final name (``part_for``) goes live."""
        final = self.path(rel)
        try:
            published = self._commit(part, final, rel, fmt)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return Published(published.path, published.size, published.sha256, duration,
                         channels, fmt)

    def part_for(self, rel: str) -> Path:
        return self._part_for(self.path(rel))

    def remove(self, rel: str) -> bool:
        """Delete a published file; False when it was not there."""
        try:
            self.path(rel).unlink()
            return True
        except FileNotFoundError:
            return False

    # -- steps -------------------------------------------------------------------
    def _part_for(self, final: Path) -> Path:
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot make the folder {final.parent}: {exc.strerror or exc}") \
                from None
        return final.with_name(f".{final.name}.part")

    def _run(self, cmd: list[str]) -> None:
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StoreError(f"{cmd[0]} could not run: {exc}") from None
        if done.returncode != 0:
            text = done.stderr.decode(errors="replace").strip().splitlines()
            raise StoreError(f"{Path(cmd[0]).name} failed: {text[-1] if text else done.returncode}")

    def _commit(self, part: Path, final: Path, rel: str, fmt: str) -> Published:
        digest, size = _sync_and_hash(part)
        try:
            os.link(part, final)  # never replaces a file already published
        except FileExistsError:
            raise StoreError(f"{rel} is published already") from None
        except OSError as exc:
            raise StoreError(f"cannot publish {rel}: {exc.strerror or exc}") from None
        part.unlink(missing_ok=True)  # the final name holds the data now
        try:
            _sync_dir(final.parent)
        except OSError as exc:  # the new name may not survive a crash: take it back
            final.unlink(missing_ok=True)
            raise StoreError(f"cannot flush the folder of {rel}: {exc.strerror or exc}") \
                from None
        duration, channels = _length(final) if fmt == "wav" else (0.0, 0)
        return Published(rel, size, digest, duration, channels, fmt)


def _frames(path: Path) -> int:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StoreError(f"the source {path} cannot be read: {exc.strerror or exc}") from None
    return max(0, size - WAV_HEADER) // 2


def _copy(src: Path, dst: Path) -> None:
    try:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            shutil.copyfileobj(fin, fout, CHUNK)
    except OSError as exc:
        raise StoreError(f"cannot write {dst.name}: {exc.strerror or exc}") from None


def _check_wav(path: Path, frames: int, channels: int) -> None:
    """The written WAV holds every frame of its sources (a full disk can cut a
    file short without the writer noticing)."""
    try:
        with wave.open(str(path), "rb") as w:
            got, nch = w.getnframes(), w.getnchannels()
        size = path.stat().st_size
    except (OSError, wave.Error, EOFError) as exc:
        raise StoreError(f"the written file is not a whole WAV: {exc}") from None
    if nch != channels or got < frames or size < WAV_HEADER + frames * channels * 2:
        raise StoreError(f"the written file is short: {got} of {frames} frames, {size} bytes")


def _sync_and_hash(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb+") as f:
            os.fsync(f.fileno())
            for chunk in iter(lambda: f.read(CHUNK), b""):
                sha.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise StoreError(f"cannot flush {path.name} to disk: {exc.strerror or exc}") from None
    return sha.hexdigest(), size


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _length(path: Path) -> tuple[float, int]:
    with wave.open(str(path), "rb") as w:
        return round(w.getnframes() / w.getframerate(), 3), w.getnchannels()


def free_bytes(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def writable(folder: Path, need: int = 1 << 20) -> str | None:
    """None when ``folder`` can take a recording of ``need`` bytes, else why not."""
    try:
        if not folder.is_dir():
            return f"{folder} does not exist"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"{folder} is not writable"
        free = free_bytes(folder)
    except OSError as exc:
        return f"{folder}: {exc.strerror or exc}"
    if free < need:
        return f"{folder} is full ({free} bytes free)"
    return None
