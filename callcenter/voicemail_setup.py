"""Build voicemail, its e-mail and transcription from the configuration.

- the mailboxes (``mailboxes:`` of recording.policy_file), checked against the
  IVR's voicemail nodes and the ACD's voicemail overflows (every mailbox they
  name must exist, every mailbox's queue must be one of the ACD's);
- ``greeting_for(mailbox)``: the sound name of a mailbox's greeting, text
  greetings synthesised at start by the IVR's Prompts (ivr and acd take the
  callable: they must not import recording);
- ``opening(flow, schedule, at)``: when an IVR schedule next opens, so a
  voicemail left after hours is called back then (recording must not import ivr);
- the VoicemailService (``ivr.voicemail`` and ``acd.voicemail`` into the CRM),
  the MailSender (the outbox over SMTP, settings.mail) and the
  TranscriptionWorker (vosk: recording.vosk_model, else ivr.vosk_model).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from ivr import hours
from ivr.model import Prompt
from recording.mail import MailSender, SmtpAccount
from recording.mailboxes import Mailbox, MailboxError, load_mailboxes, missing, unknown_queues
from recording.transcriber import TranscriptionWorker
from recording.voicemail import VoicemailService

from .recording_setup import store_dir
from .settings import ConfigError, Settings

log = logging.getLogger(__name__)

GreetingFor = Callable[[str], "str | None"]


def mailboxes_of(settings: Settings) -> dict[str, Mailbox]:
    """The configured mailboxes ({} without a policy file); ConfigError naming the
    file, key path and problem."""
    path = settings.recording.policy_file
    if not path:
        log.info("voicemail: recording.policy_file is empty: no mailboxes, voicemails are "
                 "neither mailed nor called back")
        return {}
    if not Path(path).is_file():
        raise ConfigError(f"recording.policy_file: no file at {path} (write one, see "
                          "recording.yaml, or set it to \"\")")
    try:
        return load_mailboxes(path)
    except MailboxError as exc:
        raise ConfigError(f"recording.policy_file: {exc}") from None


def used_mailboxes(registry=None, queues: dict | None = None) -> dict[str, list[str]]:
    """Every mailbox the IVR menus and the ACD's overflows name, with where."""
    used: dict[str, list[str]] = {}
    for flow in (registry.flows.values() if registry is not None else ()):
        for node in flow.nodes.values():
            if node.__class__.__name__ == "Voicemail" and getattr(node, "mailbox", ""):
                used.setdefault(node.mailbox, []).append(
                    f"{flow.source or flow.name} node {node.name}")
    for name, queue in (queues or {}).items():
        overflow = getattr(queue, "overflow", None)
        if overflow is not None and overflow.action == "voicemail" and overflow.target:
            used.setdefault(overflow.target, []).append(f"queue {name} overflow")
    return used


def check_mailboxes(mailboxes: dict[str, Mailbox], registry=None, queues: dict | None = None,
                    source: str = "recording.policy_file") -> None:
    """Refuse to start when a menu or a queue names a mailbox that does not exist, or
    a mailbox calls back from a queue the ACD does not have (queues None: no ACD)."""
    problems = missing(mailboxes, used_mailboxes(registry, queues))
    if queues is not None:
        problems += unknown_queues(mailboxes, queues)
    if problems:
        raise ConfigError(f"recording.policy_file: {MailboxError(source, problems)}")


def make_greetings(mailboxes: dict[str, Mailbox], prompts) -> GreetingFor:
    """``greeting_for``: each mailbox greeting's sound name, text synthesised now
    (blocking: espeak-ng); a sound Asterisk does not have is refused now."""
    sounds: dict[str, str] = {}
    for mailbox in mailboxes.values():
        greeting = mailbox.greeting
        if greeting is None:
            continue
        if greeting.sound:
            if prompts.sounds_dir is not None and not prompts.sound_exists(greeting.sound, "en"):
                raise ConfigError(f"recording.policy_file: mailboxes.{mailbox.id}.greeting: "
                                  f"Asterisk has no sound {greeting.sound!r}")
            sounds[mailbox.id] = greeting.sound
        else:
            sounds[mailbox.id] = prompts.resolve(Prompt(tts=greeting.tts), greeting.language)
    return sounds.get


def opening_times(registry) -> Callable[[str, str, datetime], datetime | None]:
    """``opening(flow, schedule, at)``: when that IVR schedule next opens after ``at``;
    None when it is open at ``at``, unknown, or never opens within a year."""
    def opening(flow: str, schedule: str, at: datetime) -> datetime | None:
        found = registry.flows.get(flow)
        plan = found.schedules.get(schedule) if found is not None else None
        if plan is None or hours.is_open(plan, at):
            return None
        return hours.next_change(plan, at)
    return opening


def spool_dir(settings: Settings, sandbox_root: Path | None) -> Path:
    """The folder the IVR and the ACD record voicemails into, as we see it."""
    inside = settings.ivr.recordings_dir
    host = sandbox_root / inside.lstrip("/") if sandbox_root else Path(inside)
    return host / "voicemail"


def model_path(settings: Settings) -> Path | None:
    if not settings.recording.transcribe:
        return None
    chosen = settings.recording.vosk_model or settings.ivr.vosk_model
    return Path(chosen) if chosen else None


def smtp_account(settings: Settings) -> SmtpAccount:
    m = settings.mail
    return SmtpAccount(host=m.smtp_host, port=m.smtp_port, username=m.username,
                       password=m.password, starttls=m.starttls, sender=m.sender)


@dataclass
class VoicemailParts:
    mailboxes: dict[str, Mailbox]
    service: VoicemailService
    sender: MailSender
    transcriber: TranscriptionWorker | None

    def attach(self, bus) -> None:
        """Before the engine starts, so no voicemail event is missed. A recorded call
        published by the recorder (``recording.published``) wakes the transcriber,
        which otherwise finds it on its next look at the recordings table."""
        self.service.attach(bus)
        if self.transcriber is not None:
            bus.subscribe("recording.published", lambda topic, payload: self.transcriber.wake())

    async def start(self) -> None:
        self.sender.start()
        if self.transcriber is not None:
            self.transcriber.start()
        self.service.start()
        await self.service.recover()

    async def stop(self) -> None:
        await self.service.stop()
        await self.sender.stop()
        if self.transcriber is not None:
            await self.transcriber.stop()


def build_voicemail(settings: Settings, sessions, *, mailboxes: dict[str, Mailbox],
                    registry=None, sandbox_root: Path | None = None,
                    dialled_of: Callable[[str], str | None] | None = None) -> VoicemailParts:
    """The voicemail service, the mail sender and the transcriber (None when no vosk
    model is configured or recording.transcribe is off: logged once here)."""
    store = store_dir(settings)
    store.mkdir(parents=True, exist_ok=True)
    sender = MailSender(sessions, smtp_account(settings), store)
    model = model_path(settings)
    transcriber = TranscriptionWorker(sessions, store, model) if model is not None else None
    if transcriber is None:
        log.info("transcription: off (recording.transcribe is false or no vosk model: set "
                 "recording.vosk_model or ivr.vosk_model)")
    wake = (sender.wake,) + ((transcriber.wake,) if transcriber else ())
    service = VoicemailService(
        sessions, store_dir=store, spool_dir=spool_dir(settings, sandbox_root),
        mailboxes=mailboxes, region=settings.crm.default_region,
        opening=opening_times(registry) if registry is not None else None,
        dialled_of=dialled_of, transcribe=transcriber is not None, on_landed=wake)
    return VoicemailParts(mailboxes, service, sender, transcriber)
