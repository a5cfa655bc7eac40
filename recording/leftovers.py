"""Leftovers: recordings an earlier run of the engine did not finish.

When the engine stops (a deploy, a crash) while calls are recorded on an
Asterisk that keeps running, MixMonitor goes on writing into the incoming
folder and closes the files when the call ends, but nobody follows those calls
any more.  At start and then every ``LEFTOVER_EVERY`` seconds the recorder
looks for such files: named as it names them (``<linkedid>-<n>[-rx|-tx].wav``),
closed by Asterisk (the header's sizes filled in), untouched for
``leftover_age`` seconds and belonging to no recording this process follows.
Each is published like any recording (into the store whole, with its
checksum), its row written on the call's interaction and Asterisk's files
removed; the row says ``recovered`` and that its length could not be checked
against the call (no events were heard), and it has no paused spans (the
pauses' silence is in the audio itself: MixMonitorMute writes it).  Which leg
was recorded is not known either: a callback's (agent's leg) comes out with its
sides swapped.  A leftover that cannot be placed (no interaction with that
linkedid, half a stereo pair, a store fault) stays where it is and raises one
``recording.alert``.

A mixin of RecordingService.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from crm_core.errors import NotFound, ValidationError
from crm_core.recordings import add_recording

from .audio import WAV_HEADER
from .errors import StoreError
from .finish import file_state, remove_files
from .names import store_path

log = logging.getLogger("recording")

LEFTOVER_EVERY = 300.0  # seconds between two sweeps of the incoming folder
LEFTOVER_AGE = 60.0  # seconds a file must have been left alone
INCOMING_NAME = re.compile(r"(?P<fid>(?P<linkedid>[A-Za-z0-9_.-]{1,120})-[0-9]{1,6})"
                           r"(?:-(?P<leg>rx|tx))?\.wav")


@dataclass(frozen=True)
class Leftover:
    fid: str
    linkedid: str
    files: tuple  # rx, tx (stereo) or the mixed one
    stereo: bool
    problem: str = ""  # why it cannot be published as it is


def find_leftovers(folder: Path, busy: set, min_age: float, now: float) -> list[Leftover]:
    """Closed recordings in ``folder`` left for ``min_age`` seconds whose fid is
    not in ``busy``.  Blocking (reads the folder and the headers)."""
    groups: dict[str, dict] = {}
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        log.warning("recording: cannot list %s: %s", folder, exc)
        return []
    for path in entries:
        match = INCOMING_NAME.fullmatch(path.name)
        if match is None or match["fid"] in busy or not path.is_file():
            continue
        group = groups.setdefault(match["fid"], {"linkedid": match["linkedid"]})
        group[match["leg"] or "mixed"] = path
    found = []
    for fid, group in sorted(groups.items()):
        paths = [group[k] for k in ("rx", "tx", "mixed") if k in group]
        if not _settled(paths, min_age, now):
            continue  # still written, or just finished by the ordinary path
        found.append(_leftover(fid, group, paths))
    return found


def _settled(paths, min_age: float, now: float) -> bool:
    for path in paths:
        state, size = file_state(path)
        try:
            modified = path.stat().st_mtime
        except OSError:
            return False
        if state != "closed" or size <= WAV_HEADER or now - modified < min_age:
            return False
    return True


def _leftover(fid: str, group: dict, paths: list) -> Leftover:
    linkedid = group["linkedid"]
    if "mixed" in group and ("rx" in group or "tx" in group):
        return Leftover(fid, linkedid, tuple(paths), False, "both a mixed file and legs")
    if "mixed" in group:
        return Leftover(fid, linkedid, (group["mixed"],), False)
    if "rx" in group and "tx" in group:
        return Leftover(fid, linkedid, (group["rx"], group["tx"]), True)
    return Leftover(fid, linkedid, tuple(paths), True, "one side of a stereo pair is missing")


class Leftovers:
    leftover_age = LEFTOVER_AGE

    async def sweep_leftovers(self) -> int:
        """Publish the recordings an earlier run left; how many were published."""
        busy = {rec.fid for rec in self.by_channel.values()} | self._finishing
        found = await self._in_io(find_leftovers, self.incoming[0], busy, self.leftover_age,
                                  time.time())
        published = 0
        for leftover in found:
            if leftover.fid in self._finishing or leftover.fid in self._left_alerted:
                continue
            if await self._adopt(leftover):
                published += 1
        return published

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.sweep_leftovers()
            except Exception:
                log.exception("recording: looking for recordings left by an earlier run failed")
            await asyncio.sleep(LEFTOVER_EVERY)

    async def _adopt(self, leftover: Leftover) -> bool:
        if leftover.problem:
            return self._leave(leftover, leftover.problem)
        rel = store_path(datetime.now(timezone.utc), leftover.fid, "wav")
        try:
            published = await self._in_io(self._publish_leftover, leftover, rel)
        except StoreError as exc:
            return self._leave(leftover, f"it could not be stored ({exc})")
        meta = {"linkedid": leftover.linkedid, "recovered": True, "length_checked": False,
                "channels": "stereo" if leftover.stereo else "mixed", "trigger": "recovered"}

        def write(session):
            return add_recording(session, leftover.linkedid, path=published.path,
                                 format=published.format, channels=published.channels,
                                 duration=published.duration, size=published.size,
                                 sha256=published.sha256, paused=(), meta=meta).id
        try:
            row = await self._in_db(write)
        except (NotFound, ValidationError) as exc:
            await self._in_io(self.store.remove, published.path)
            return self._leave(leftover, f"no call {leftover.linkedid} in the CRM ({exc})")
        await self._in_io(remove_files, leftover.files)
        self.published += 1
        log.warning("recording: call %s: recording %s left by an earlier run is published "
                    "(%.1f s; its length and pauses were not followed)", leftover.linkedid,
                    leftover.fid, published.duration)
        self._bus("recording.published", {
            "recording_id": row, "linkedid": leftover.linkedid, "path": published.path,
            "format": published.format, "channels": published.channels,
            "duration": published.duration, "paused": [], "recovered": True})
        return True

    def _publish_leftover(self, leftover: Leftover, rel: str):
        return self.store.publish_call(leftover.files, rel, stereo=leftover.stereo)

    def _leave(self, leftover: Leftover, why: str) -> bool:
        self._left_alerted.add(leftover.fid)
        self._alert("warning", f"call {leftover.linkedid}: recording {leftover.fid} left by an "
                    f"earlier run is not published: {why}; Asterisk's files are kept: "
                    f"{', '.join(str(p) for p in leftover.files)}", leftover.linkedid)
        return False


__all__ = ["Leftover", "Leftovers", "find_leftovers"]
