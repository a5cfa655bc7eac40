"""Turn a menu's Prompt into the name AGI STREAM FILE plays.

A sound prompt is already a name Asterisk knows ("demo-instruct"); Asterisk
itself picks the caller's language folder. A text prompt is spoken by espeak-ng
once, converted by sox to an 8 kHz 16-bit mono WAV (the telephone rate, so
Asterisk never transcodes it), and kept in a cache folder named by the sha256 of
voice and text; the same text in the same voice is never synthesised twice.

Files are written aside and renamed into place, so a call never plays a half
file and two processes warming the same cache at once are harmless (the last
rename wins; both files are the same). The cache folder is shared with
Asterisk, which runs in a chroot: ``cache_dir`` is the folder as we see it,
``asterisk_dir`` the same folder as Asterisk sees it.
"""
from __future__ import annotations

import asyncio
import glob
import hashlib
import os
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Iterable

from .model import Prompt

MAX_TEXT = 500  # characters; a prompt is a sentence or two, not a document
TIMEOUT = 30.0  # seconds for one espeak-ng or sox run

DEFAULT_VOICES = {"en": "en-us", "zh": "cmn", "ko": "ko", "de": "de", "fr": "fr", "es": "es"}

_INSTALL = {"espeak-ng": "apt-get install espeak-ng", "sox": "apt-get install sox"}


class PromptError(RuntimeError):
    """A prompt cannot be turned into something Asterisk can play."""


class Prompts:
    def __init__(self, *, cache_dir: Path, asterisk_dir: str, sounds_dir: Path | None = None,
                 espeak: str = "espeak-ng", sox: str = "sox",
                 voices: dict[str, str] | None = None, root: Path | None = None):
        self.cache_dir = Path(cache_dir)
        self.asterisk_dir = asterisk_dir.rstrip("/")
        self.sounds_dir = Path(sounds_dir) if sounds_dir is not None else None
        self.root = Path(root) if root is not None else None  # the chroot the sounds live in
        self.espeak = espeak
        self.sox = sox
        self.voices = dict(DEFAULT_VOICES if voices is None else voices)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- what a prompt plays -------------------------------------------------
    def resolve(self, prompt: Prompt, language: str) -> str:
        """The name to give STREAM FILE; synthesises a text prompt if needed."""
        name, job = self._plan(prompt, language)
        if job is not None:
            self._synthesise(*job)
        return name

    async def resolve_async(self, prompt: Prompt, language: str) -> str:
        """As resolve(); synthesis runs in a thread so the event loop never waits."""
        name, job = self._plan(prompt, language)
        if job is not None and not job[2].exists():
            await asyncio.to_thread(self._synthesise, *job)
        return name

    def warm(self, prompts: Iterable[tuple[Prompt, str]]) -> int:
        """Synthesise every text prompt ahead of calls; returns how many were made."""
        made = 0
        for prompt, language in prompts:
            _, job = self._plan(prompt, language)
            if job is not None and self._synthesise(*job):
                made += 1
        return made

    def voice_for(self, language: str) -> str:
        base = language.replace("-", "_").split("_")[0]
        return self.voices.get(language) or self.voices.get(base) or self.voices.get("en", "en-us")

    def _plan(self, prompt: Prompt, language: str) -> tuple[str, tuple[str, str, Path] | None]:
        p = prompt.for_language(language)
        if p.sound:
            return p.sound, None
        if not p.tts.strip():
            raise PromptError("prompt has neither a sound nor text")
        text = p.tts.strip()
        if len(text) > MAX_TEXT:
            raise PromptError(f"prompt text is {len(text)} characters; the limit is {MAX_TEXT}")
        if "\0" in text:
            raise PromptError("prompt text contains a NUL character")
        voice = self.voice_for(language)
        stem = "tts-" + hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()
        return f"{self.asterisk_dir}/{stem}", (voice, text, self.cache_dir / f"{stem}.wav")

    # -- synthesis -----------------------------------------------------------
    def _synthesise(self, voice: str, text: str, final: Path) -> bool:
        """Make `final` unless it exists; True if this call made it."""
        with self._lock_for(final.name):
            if final.exists():
                return False
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tag = f".{final.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
            spoken = self.cache_dir / f"{tag}.espeak.wav"
            aside = self.cache_dir / f"{tag}.wav"
            try:
                # "--" ends the options: a text starting with "-" is still text.
                self._run("espeak-ng", self.espeak, ["-v", voice, "-w", str(spoken), "--", text])
                self._run("sox", self.sox,
                          [str(spoken), "-r", "8000", "-c", "1", "-b", "16", str(aside)])
                if not aside.exists() or aside.stat().st_size <= 44:
                    raise PromptError(f"{self.sox} wrote no audio for voice {voice!r}")
                os.chmod(aside, 0o644)  # Asterisk may run as another user
                os.replace(aside, final)
            finally:
                spoken.unlink(missing_ok=True)
                aside.unlink(missing_ok=True)
            return True

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def _run(self, tool: str, program: str, args: list[str]) -> None:
        try:
            done = subprocess.run([program, *args], capture_output=True, text=True,
                                  timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise PromptError(f"{program!r} not found: text prompts need {tool} "
                              f"(install it: {_INSTALL[tool]})") from None
        except subprocess.TimeoutExpired:
            raise PromptError(f"{program} took more than {TIMEOUT:.0f} s") from None
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
            raise PromptError(f"{program} failed: {detail}")

    # -- sound files -----------------------------------------------------------
    def _language_dir(self, language: str) -> Path:
        """A language folder; inside a sandbox its absolute links (Debian's
        /etc/alternatives) point into the sandbox root, not at our own /etc."""
        folder = self.sounds_dir / language
        for _ in range(8):
            if self.root is None or not folder.is_symlink():
                break
            target = os.readlink(folder)
            folder = self.root / target.lstrip("/") if target.startswith("/") \
                else folder.parent / target
        return folder

    def sound_exists(self, sound: str, language: str) -> bool:
        """True if Asterisk would find `sound` for `language`: a file
        <sounds_dir>/<language>/<sound>.<ext>, falling back as Asterisk does
        (en_GB -> en_GB, en; then en; then the sounds folder itself)."""
        if self.sounds_dir is None:
            raise PromptError("sound_exists needs sounds_dir (Asterisk's sound folder)")
        if not sound or ".." in Path(sound).parts:
            return False
        if sound.startswith("/"):  # absolute: only our own cache folder is known here
            prefix = self.asterisk_dir + "/"
            return sound.startswith(prefix) and bool(
                glob.glob(glob.escape(str(self.cache_dir / sound[len(prefix):])) + ".*"))
        base = language.split("_")[0]
        for lang in dict.fromkeys((language, base, "en", "")):
            path = self._language_dir(lang) / sound if lang else self.sounds_dir / sound
            if glob.glob(glob.escape(str(path)) + ".*"):
                return True
        return False
