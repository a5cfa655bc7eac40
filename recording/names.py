"""How recordings are named: in Asterisk's incoming folder while a call is
recorded, and in the store once published.  Pure; every name that reaches
Asterisk (MixMonitor's options) is built here from checked parts only."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["file_id", "IncomingFiles", "incoming_files", "store_path", "check_inside",
           "is_store_path"]

SAFE = re.compile(r"[^A-Za-z0-9_.-]")
INSIDE_PATH = re.compile(r"/[A-Za-z0-9_/.-]{1,400}")  # what MixMonitor's options may name
STORE_PATH = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9]{2}/[A-Za-z0-9_.-]{1,200}")


def file_id(linkedid: str, seq: int) -> str:
    """``<linkedid>-<n>``, the n-th recording of a call, with anything but letters,
    digits, '_', '.' and '-' replaced (a linkedid is Asterisk's, not ours)."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError(f"recording sequence must be a whole number from 1, got {seq!r}")
    base = SAFE.sub("_", linkedid or "")[:120].strip(".") or "call"
    return f"{base}-{seq}"


def check_inside(path: str) -> str:
    """A path as Asterisk sees it, safe inside MixMonitor's option string: absolute,
    letters, digits, '_', '/', '.', '-' only, no '..' (so no ')' or ',' either)."""
    if not isinstance(path, str) or not INSIDE_PATH.fullmatch(path) or ".." in path.split("/"):
        raise ValueError(f"not a safe absolute path for Asterisk: {path!r}")
    return path


@dataclass(frozen=True)
class IncomingFiles:
    """The files Asterisk writes for one recording: stereo gives the receive
    (``rx``: what the recorded channel sends) and transmit (``tx``: what it hears)
    legs as two mono WAVs; mixed one WAV."""
    host: tuple  # our paths (pathlib.Path), rx then tx, or the mixed one
    inside: tuple  # Asterisk's names of the same files
    stereo: bool

    def mixmonitor(self) -> dict:
        """The MixMonitor action's File and Options headers."""
        if self.stereo:
            rx, tx = self.inside
            return {"Options": f"r({rx})t({tx})"}
        return {"File": self.inside[0]}


def incoming_files(host_dir, inside_dir: str, fid: str, stereo: bool) -> IncomingFiles:
    check_inside(f"{inside_dir}/{fid}")
    names = (f"{fid}-rx.wav", f"{fid}-tx.wav") if stereo else (f"{fid}.wav",)
    return IncomingFiles(tuple(host_dir / n for n in names),
                         tuple(check_inside(f"{inside_dir}/{n}") for n in names), stereo)


def store_path(created: datetime, fid: str, ext: str) -> str:
    """The published file's path relative to the store: by day (UTC), e.g.
    ``2026/11/23/pbx-1795418655.12-1.wav``."""
    if created.tzinfo is None:
        raise ValueError("naive datetime: recordings are filed by their UTC day")
    if not re.fullmatch(r"[a-z0-9]{1,8}", ext):
        raise ValueError(f"not a file extension: {ext!r}")
    day = created.astimezone(timezone.utc)
    return f"{day:%Y/%m/%d}/{SAFE.sub('_', fid)}.{ext}"


def is_store_path(path: str) -> bool:
    """A path the store itself made (nothing outside the store is ever touched)."""
    return isinstance(path, str) and bool(STORE_PATH.fullmatch(path)) \
        and ".." not in path.split("/")
