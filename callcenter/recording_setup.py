"""Build call recording from the configuration: the policy file (validated
before Asterisk starts; every queue it names must be one of the ACD's), the
store, the folder Asterisk records into, the consent announcement (the IVR's
text-to-speech, as the ACD's callback offer), and the periodic retention and
compression jobs.

``build_recorder`` returns a ``RecorderFactory``: call it with the engine to
make the RecordingService on the engine's AMI session and bus; its ``consent``
method is what the IVR runtime is given (``consent_for``), so callers of a queue
whose policy asks for consent hear the announcement before waiting.

In sandbox mode Asterisk's folders are inside the sandbox root, so the incoming
folder has two names: ours and Asterisk's (callcenter.ivr_setup._host).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

from recording.compress import Compressor
from recording.errors import PolicyError
from recording.policy import Policy, load_policy
from recording.retention import Retention
from recording.service import RecordingService
from recording.store import Store

from .settings import ConfigError, Settings

log = logging.getLogger(__name__)

CONSENT_TEXT = "This call may be recorded for quality and training."
INCOMING = "incoming"  # the sub-folder of ivr.recordings_dir Asterisk records calls into
RETENTION_EVERY = 3600.0  # seconds
COMPRESS_EVERY = 300.0
COMPRESS_AFTER = 600.0  # seconds a WAV stays as it is (a transcriber may read it first)


def store_dir(settings: Settings) -> Path:
    r = settings.recording
    return Path(r.store_dir) if r.store_dir else Path(settings.data_dir).resolve() / "recordings"


def load(settings: Settings, queue_names: Iterable[str] | None = None) -> Policy | None:
    """The recording policy, or None when recording is off (policy_file = ""). A
    missing or broken file, or a queue the ACD does not have, is a ConfigError."""
    r = settings.recording
    if not r.policy_file:
        return None
    path = Path(r.policy_file)
    if not path.is_file():
        raise ConfigError(f"recording.policy_file: no policy file at {path} (write one, see "
                          "recording.yaml, or set it to \"\" to record nothing)")
    try:
        policy = load_policy(path, retention_days=r.retention_days)
    except PolicyError as exc:
        raise ConfigError(f"recording.policy_file: {exc}") from None
    if queue_names is not None:
        unknown = sorted(set(policy.queues) - set(queue_names))
        if unknown:
            raise ConfigError(f"recording.policy_file: {path}: recording.queues names "
                              f"{', '.join(unknown)}, not a queue of {settings.acd.queues_file}")
    return policy


class RecorderFactory:
    """Makes the RecordingService for an engine; also answers the IVR's consent question."""

    def __init__(self, settings: Settings, sessions, policy: Policy, *, incoming: tuple[Path, str],
                 consent_sound: str | None):
        self.settings = settings
        self.sessions = sessions
        self.policy = policy
        self.store = Store(store_dir(settings))
        self.incoming = incoming
        self.consent_sound = consent_sound
        self.service: RecordingService | None = None

    def consent(self, queue: str) -> str | None:
        """The announcement callers of ``queue`` hear before waiting, or None."""
        rule = self.policy.rule_for(queue, "inbound")
        return self.consent_sound if rule.consent and rule.mode != "none" else None

    def jobs(self) -> list:
        jobs = [(RETENTION_EVERY, Retention(self.sessions, self.store, lambda: self.policy))]
        fmt = self.settings.recording.compress_format
        if fmt != "none":
            r = self.settings.recording
            # the transcriber reads WAVs: with it on, a recording waits for its transcript
            transcribing = r.transcribe and bool(r.vosk_model or self.settings.ivr.vosk_model)
            jobs.append((COMPRESS_EVERY, Compressor(self.sessions, self.store, fmt,
                                                    after=COMPRESS_AFTER,
                                                    transcribed_first=transcribing)))
        return jobs

    def __call__(self, engine) -> RecordingService:
        self.store.root.mkdir(parents=True, exist_ok=True)
        self.incoming[0].mkdir(parents=True, exist_ok=True)
        self.service = RecordingService(engine.ami, engine.bus, self.sessions, self.policy,
                                        store=self.store, incoming=self.incoming,
                                        jobs=self.jobs())
        return self.service

    def reload(self, queue_names: Iterable[str] | None = None) -> bool:
        """SIGHUP: read the policy again; a broken file leaves the last good one."""
        try:
            policy = load(self.settings, queue_names)
        except ConfigError as exc:
            log.error("recording: policy not reloaded, the last good one stays: %s", exc)
            return False
        if policy is None:
            log.error("recording: policy_file is empty now; the last policy stays until restart")
            return False
        self.policy = policy
        if self.service is not None:
            self.service.use_policy(policy)
        log.info("recording: policy reloaded from %s", self.settings.recording.policy_file)
        return True


def build_recorder(settings: Settings, sessions, *, sandbox_root: Path | None = None,
                   prompts=None,
                   queue_names: Iterable[str] | None = None) -> RecorderFactory | None:
    """None when recording is off.  Blocking (the consent prompt may be synthesised):
    call it in a thread, before Asterisk starts.  ``prompts``: the IVR's Prompts
    (default: built like callcenter.ivr_setup's); ``queue_names``: the ACD's queues,
    which the policy's queues must be among."""
    policy = load(settings, queue_names)
    if policy is None:
        log.info("recording: off (recording.policy_file is empty)")
        return None
    inside = f"{settings.ivr.recordings_dir.rstrip('/')}/{INCOMING}"
    host = sandbox_root / inside.lstrip("/") if sandbox_root else Path(inside)
    # Made even when no queue asks for consent yet, so a reloaded policy can.
    from .acd_setup import make_say
    if prompts is None:
        from .ivr_setup import build_prompts
        prompts = build_prompts(settings, sandbox_root)
    sound = make_say(prompts)(CONSENT_TEXT, "en")
    if sound is None and policy.consent_queues():  # such calls go unrecorded, with an alert
        log.error("recording: no consent announcement; calls of %s will not be recorded",
                  ", ".join(policy.consent_queues()))
    factory = RecorderFactory(settings, sessions, policy, incoming=(host, inside),
                              consent_sound=sound)
    log.info("recording: policy %s; store %s", settings.recording.policy_file, factory.store.root)
    return factory
