"""The voicemail service: a message a caller left lands in the CRM, is called
back, mailed and transcribed.

The IVR (``ivr.voicemail``) and the ACD's overflow (``acd.voicemail``) publish
the same event when a message was recorded: the call's linkedid, the file,
the mailbox, the caller and what they knew of them. For each message, in the
order they came:

1. the file must be complete (its size has settled) and hold more than a WAV
   header: a caller who hung up during the greeting left nothing, and nothing
   lands;
2. it is published into the recording store (recording.store: written aside,
   flushed, hashed, then linked to its final name);
3. one transaction writes the voicemail interaction on the caller's customer
   (crm_core.voicemails: the known customer, else the number's, else a new
   "Unknown caller"), its recording row, a callback for the mailbox's queue
   (due when the business hours next open, when known), the e-mail with the
   message attached and the transcription job;
4. ``voicemail.stored`` goes on the bus; the mail sender and the transcriber
   are woken.

A message the CRM cannot take (the database is down) is retried with backoff,
its file kept, and never blocks the messages behind it. Landing is
idempotent (keyed on the call), so an event repeated, or a message found
again at start (``recover``: voicemail links of recent calls whose message
never landed, e.g. the engine stopped in between) lands once.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import wave
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import select

from crm_core import callbacks, mail_outbox, transcripts, voicemails
from crm_core.errors import ValidationError
from crm_core.models import Customer, Interaction, InteractionLink
from cti.recorded import WAV_BYTES_PER_SECOND, WAV_HEADER, written_size

from .mail import one_line
from .mailboxes import Mailbox
from .errors import StoreError
from .names import store_path
from .store import Published, Store

log = logging.getLogger("recording.voicemail")

TOPICS = ("ivr.voicemail", "acd.voicemail")
LINKEDID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,60}")
MAILBOX = re.compile(r"[A-Za-z0-9_-]{1,40}")
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # queues, flows, schedules
RETRY_FIRST = 0.5
RETRY_MAX = 30.0
RECOVER_DAYS = 7

# opening(flow, schedule, at) -> when the schedule next opens, None if open now or unknown
OpeningTimes = Callable[[str, str, datetime], "datetime | None"]


@dataclass
class LeftMessage:
    """One voicemail event, checked."""
    linkedid: str
    file: Path
    mailbox: str
    caller: str
    received_at: datetime
    customer_id: int | None = None
    source: str = "ivr"
    queue: str = ""
    flow: str = ""
    schedule: str = ""
    attempts: int = 0
    relative: str = ""  # its name in the store, fixed on first try
    published: object = None  # recording.store.Published once in the store
    seconds: float = 0.0


@dataclass
class Landed:
    """What one voicemail wrote (the ``voicemail.stored`` event)."""
    interaction_id: int
    recording_id: int
    customer_id: int | None
    created_customer: bool
    callback_id: int | None
    mail_id: int | None
    notes: list[str] = field(default_factory=list)


def parse_event(topic: str, payload: dict, spool_dir: Path, received_at: datetime) -> LeftMessage:
    """The event as a LeftMessage; ValueError saying what is wrong with it."""
    if not isinstance(payload, dict):
        raise ValueError("the event is not a mapping")
    linkedid = _text(payload, "linkedid", LINKEDID)
    mailbox = payload.get("mailbox")
    if not isinstance(mailbox, str) or not MAILBOX.fullmatch(mailbox):
        raise ValueError(f"mailbox {mailbox!r} is not a mailbox name")
    file = payload.get("file")
    if not isinstance(file, str) or not file.startswith("/") or "\0" in file:
        raise ValueError(f"file {file!r} is not an absolute path")
    path = Path(file)
    if path.suffix != ".wav" or path.parent.resolve() != Path(spool_dir).resolve() \
            or ".." in path.parts:
        raise ValueError(f"file {file!r} is not a WAV in the voicemail folder {spool_dir}")
    caller = payload.get("caller") or ""
    customer_id = payload.get("customer_id")
    if customer_id is not None and (isinstance(customer_id, bool)
                                    or not isinstance(customer_id, int)):
        raise ValueError(f"customer_id {customer_id!r} is not a record id")
    return LeftMessage(
        linkedid=linkedid, file=path, mailbox=mailbox,
        caller=caller if isinstance(caller, str) else "", received_at=received_at,
        customer_id=customer_id, source="acd" if topic.startswith("acd.") else "ivr",
        queue=_text(payload, "queue", NAME, optional=True),
        flow=_text(payload, "flow", NAME, optional=True),
        schedule=_text(payload, "schedule", NAME, optional=True))


def _text(payload: dict, key: str, pattern: re.Pattern, optional: bool = False) -> str:
    value = payload.get(key)
    if optional and value in (None, ""):
        return ""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{key} {value!r} is not valid here")
    return value


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def wav_seconds(path: Path, size: int) -> float:
    """The message's length from its WAV header, else from its size (8 kHz 16-bit mono)."""
    try:
        with wave.open(str(path), "rb") as w:
            return round(w.getnframes() / float(w.getframerate()), 2)
    except (wave.Error, EOFError, OSError, ZeroDivisionError):
        return round(max(0, size - WAV_HEADER) / WAV_BYTES_PER_SECOND, 2)


class VoicemailService:
    def __init__(self, sessions, *, store_dir: Path, spool_dir: Path,
                 mailboxes: dict[str, Mailbox], region: str = "US",
                 opening: OpeningTimes | None = None,
                 dialled_of: Callable[[str], str | None] | None = None,
                 transcribe: bool = True, bus=None, on_landed: tuple = (),
                 retry_first: float = RETRY_FIRST, retry_max: float = RETRY_MAX,
                 clock=time.time):
        """``spool_dir``: the folder the IVR and the ACD record messages into (as we
        see it); ``on_landed``: callables woken after each landing (the mail
        sender's and the transcriber's ``wake``)."""
        self.sessions = sessions
        self.store = Store(Path(store_dir))
        self.spool_dir = Path(spool_dir)
        self.mailboxes = dict(mailboxes)
        self.region = region
        self.opening = opening
        self.dialled_of = dialled_of
        self.transcribe = transcribe
        self.bus = bus
        self.on_landed = tuple(on_landed)
        self.retry_first, self.retry_max = retry_first, retry_max
        self.clock = clock
        self.landed = 0
        self.failures = 0
        self._queue: list[LeftMessage] = []
        self._retrying = 0  # messages waiting for their retry
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task | None = None
        self._subscriptions = []

    # -- life ---------------------------------------------------------------------------
    def attach(self, bus) -> None:
        """Listen to the IVR's and the ACD's voicemail events."""
        self.bus = self.bus or bus
        self._subscriptions = [bus.subscribe(topic, self.on_event) for topic in TOPICS]

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="voicemail")

    async def stop(self) -> None:
        for sub in self._subscriptions:
            sub.cancel()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._queue or self._retrying:
            log.warning("voicemail: %d message(s) not landed yet; their files are kept and "
                        "found again at the next start", len(self._queue) + self._retrying)

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every message received so far has landed (tests, shutdown)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def on_event(self, topic: str, payload: dict) -> None:
        """A bus handler: check the event, queue the message (no I/O here)."""
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        try:
            message = parse_event(topic, payload, self.spool_dir, now)
        except ValueError as exc:
            log.error("voicemail: %s event refused: %s", topic, exc)
            return
        self._enqueue(message)

    def _enqueue(self, message: LeftMessage) -> None:
        self._queue.append(message)
        self._idle.clear()
        self._wakeup.set()

    # -- the worker ------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                message = self._queue.pop(0)
                try:
                    await self.land(message)
                except Exception as exc:  # kept, retried later; the others go on
                    self._retry_later(message, exc)
            if not self._queue and not self._retrying:
                self._idle.set()

    def _retry_later(self, message: LeftMessage, exc: Exception) -> None:
        self.failures += 1
        message.attempts += 1
        delay = min(self.retry_max, self.retry_first * 2 ** (message.attempts - 1))
        log.warning("voicemail: the message of %s cannot land yet (%s: %s); file kept, "
                    "retry %d in %.1f s", message.linkedid, exc.__class__.__name__, exc,
                    message.attempts, delay)
        self._retrying += 1
        asyncio.get_running_loop().call_later(delay, self._retry_now, message)

    def _retry_now(self, message: LeftMessage) -> None:
        self._retrying -= 1
        self._enqueue(message)

    async def land(self, message: LeftMessage) -> Landed | None:
        """Land one message (see the module's docstring); None when there is nothing
        to land (no sound, no file) or it had landed before."""
        if message.published is None:
            if await self._db(lambda s: voicemails.landed(s, message.linkedid)):
                log.info("voicemail: the message of %s had landed already", message.linkedid)
                return None
            if not await self._publish(message):
                return None
        due = self._callback_due(message)
        dialled = self._dialled(message.linkedid)
        landed = await self._db(lambda s: self._write(s, message, due, dialled))
        if landed is None:
            log.info("voicemail: the message of %s had landed already", message.linkedid)
            return None
        self.landed += 1
        log.info("voicemail: %s left %.1f s in mailbox %s: interaction %d, customer %s%s",
                 message.caller or "an anonymous caller", message.seconds, message.mailbox,
                 landed.interaction_id, landed.customer_id,
                 "".join(f"; {note}" for note in landed.notes))
        await self._announce(message, landed)
        return landed

    async def _publish(self, message: LeftMessage) -> bool:
        """Into the recording store (recording.store: aside, fsync, sha256, linked into
        place); False when there is nothing to store."""
        size = await written_size(message.file)
        if size <= WAV_HEADER:
            log.info("voicemail: %s holds no message (%d bytes); nothing lands", message.file, size)
            return False
        at = message.received_at
        fid = f"vm-{message.file.stem}-{at:%H%M%S}"  # a second message of one call: its own name
        message.relative = store_path(at, fid, "wav")
        if not message.file.is_file():
            log.error("voicemail: the message of %s is gone from %s", message.linkedid,
                      message.file)
            return False
        message.published = await asyncio.to_thread(self._store, message)
        message.seconds = message.published.duration or wav_seconds(message.file, size)
        return True

    def _store(self, message: LeftMessage) -> Published:
        try:
            return self.store.publish_call((message.file,), message.relative, stereo=False)
        except StoreError:
            # Published by an earlier try that stopped before the CRM: the same bytes
            # under that name are this message; anything else is a real clash.
            final = self.store.path(message.relative)
            if not final.is_file() or _sha256(final) != _sha256(message.file):
                raise
            size = final.stat().st_size
            return Published(message.relative, size, _sha256(final), wav_seconds(final, size), 1,
                             "wav")

    def _callback_due(self, message: LeftMessage) -> datetime:
        """When the business hours next open (the IVR's schedule), else now."""
        now = message.received_at
        if self.opening is None or not (message.flow and message.schedule):
            return now
        try:
            opens = self.opening(message.flow, message.schedule, now)
        except Exception:
            log.exception("voicemail: cannot tell when %s/%s opens; callback due now",
                          message.flow, message.schedule)
            return now
        return opens if opens is not None and opens > now else now

    def _dialled(self, linkedid: str) -> str:
        try:
            return (self.dialled_of(linkedid) if self.dialled_of else None) or ""
        except Exception:
            return ""

    async def _announce(self, message: LeftMessage, landed: Landed) -> None:
        for wake in self.on_landed:
            try:
                wake()
            except Exception:
                log.exception("voicemail: cannot wake %r", wake)
        if self.bus is not None:
            try:
                await self.bus.publish("voicemail.stored", {
                    "call_linkedid": message.linkedid, "mailbox": message.mailbox,
                    "caller": message.caller, "seconds": message.seconds,
                    **landed.__dict__})
            except Exception:
                log.exception("voicemail: cannot publish voicemail.stored")

    # -- the transaction -------------------------------------------------------------------------
    async def _db(self, work):
        """``work(session)`` in one transaction, in a thread: a voicemail lands whole."""
        return await asyncio.to_thread(self._in_db, work)

    def _in_db(self, work):
        with self.sessions.begin() as session:
            return work(session)

    def _write(self, session, message: LeftMessage, due: datetime, dialled: str) -> Landed | None:
        if voicemails.landed(session, message.linkedid) is not None:
            return None
        caller = voicemails.identify_caller(session, message.caller, message.customer_id,
                                            region=self.region)
        started = message.received_at - timedelta(seconds=message.seconds)
        facts = voicemails.Message(
            call_linkedid=message.linkedid, caller_number=message.caller, started_at=started,
            ended_at=message.received_at, mailbox=message.mailbox,
            dialled_number=dialled or self._call_dialled(session, message.linkedid),
            meta={"source": message.source, "queue": message.queue or None,
                  "flow": message.flow or None, "spool_file": str(message.file)})
        audio = voicemails.VoicemailFile(path=message.published.path, size=message.published.size,
                                         sha256=message.published.sha256,
                                         duration=message.seconds,
                                         channels=message.published.channels or 1)
        interaction, recording = voicemails.add_voicemail(session, facts, audio, caller)
        landed = Landed(interaction.id, recording.id, caller.customer_id, caller.created, None,
                        None, [caller.reason] if caller.customer_id is None else [])
        mailbox = self.mailboxes.get(message.mailbox)
        if mailbox is None:
            landed.notes.append(f"mailbox {message.mailbox} is not configured: no e-mail")
        queue = mailbox.queue if mailbox else message.queue
        landed.callback_id = self._callback(session, message, caller, queue, due, interaction.id,
                                            landed.notes)
        if mailbox is not None:
            landed.mail_id = self._mail(session, message, mailbox, caller, facts, landed)
        if self.transcribe:
            transcripts.queue_transcript(session, recording.id, interaction.id)
        return landed

    def _call_dialled(self, session, linkedid: str) -> str:
        return session.scalar(select(Interaction.dialled_number).where(
            Interaction.linkedid == linkedid)) or ""

    def _callback(self, session, message: LeftMessage, caller: voicemails.Caller, queue: str,
                  due: datetime, interaction_id: int, notes: list[str]) -> int | None:
        if not queue:
            notes.append("no queue to call back from")
            return None
        if caller.phone is None:
            notes.append("no callback: no number to call")
            return None
        try:
            callback = callbacks.schedule_callback(
                session, phone=caller.phone, due=due, customer_id=caller.customer_id,
                queue=queue, interaction_id=interaction_id, region=self.region,
                now=message.received_at,
                note=f"Voicemail of {message.seconds:.0f} s in mailbox {message.mailbox}")
        except ValidationError as exc:  # checked before any write: the rest still lands
            notes.append(f"no callback: {exc}")
            return None
        return callback.id

    def _mail(self, session, message: LeftMessage, mailbox: Mailbox, caller: voicemails.Caller,
              facts: voicemails.Message, landed: Landed) -> int:
        name = session.scalar(select(Customer.name).where(Customer.id == caller.customer_id)) \
            if caller.customer_id else None
        due = None
        if landed.callback_id is not None:
            due = callbacks.get_callback(session, landed.callback_id).due_at
        subject, body = compose_mail(message, mailbox, caller, name, facts.dialled_number, due,
                                     landed.notes)
        mail = mail_outbox.queue_mail(
            session, to=list(mailbox.email), subject=subject, body=body,
            attachment=message.published.path, attachment_name=attachment_name(message, caller),
            interaction_id=landed.interaction_id)
        return mail.id

    # -- found again at start ----------------------------------------------------------------
    async def recover(self, days: int = RECOVER_DAYS) -> int:
        """Queue the messages of recent calls that never landed (their spool file is
        still there); returns how many."""
        since = datetime.fromtimestamp(self.clock(), timezone.utc) - timedelta(days=days)
        found = await self._db(lambda s: self._unlanded(s, since))
        for topic, payload in found:
            self.on_event(topic, payload)
        if found:
            log.info("voicemail: %d message(s) of earlier calls had not landed; landing them",
                     len(found))
        return len(found)

    def _unlanded(self, session, since: datetime) -> list[tuple[str, dict]]:
        rows = session.execute(
            select(Interaction.linkedid, InteractionLink.ref, InteractionLink.meta)
            .join(InteractionLink, InteractionLink.interaction_id == Interaction.id)
            .where(InteractionLink.kind == "voicemail", Interaction.channel == "call",
                   Interaction.started_at >= since)).all()
        keys = {voicemails.KEY_PREFIX + linkedid for linkedid, _, _ in rows if linkedid}
        done = set(session.scalars(select(Interaction.linkedid).where(
            Interaction.linkedid.in_(keys)))) if keys else set()
        found = []
        for linkedid, ref, meta in rows:
            if not linkedid or voicemails.KEY_PREFIX + linkedid in done or not Path(ref).is_file():
                continue
            meta = meta or {}
            topic = "acd.voicemail" if meta.get("source") == "acd" else "ivr.voicemail"
            found.append((topic, {**meta, "linkedid": linkedid, "file": ref}))
        return found


# -- the e-mail (pure) ---------------------------------------------------------------------------

def caller_label(message: LeftMessage, caller: voicemails.Caller) -> str:
    return caller.phone or one_line(message.caller, 40) or "an anonymous caller"


def compose_mail(message: LeftMessage, mailbox: Mailbox, caller: voicemails.Caller,
                 customer_name: str | None, dialled: str, callback_due: datetime | None,
                 notes: list[str]) -> tuple[str, str]:
    """Subject and body of a voicemail's e-mail: who called, whose customer, when,
    how long, the callback; no links (the message is attached)."""
    who = caller_label(message, caller)
    subject = f"Voicemail from {one_line(customer_name, 80)} ({who})" if customer_name \
        else f"Voicemail from {who}"
    subject = one_line(f"{subject} in mailbox {mailbox.id}", 200)
    if customer_name:
        customer = f"{one_line(customer_name, 120)} (customer {caller.customer_id}" + \
            (", a new unknown-caller record)" if caller.created else ")")
    else:
        customer = f"not linked: {caller.reason}"
    if callback_due is not None:
        due = callback_due.astimezone(timezone.utc)
        callback = f"queue {mailbox.queue}, due {due:%Y-%m-%d %H:%M} UTC"
    else:
        callback = "none" + "".join(f"; {n}" for n in notes if "callback" in n)
    lines = [f"{who} left a voicemail of {message.seconds:.0f} s in mailbox {mailbox.id}.", "",
             f"Caller:   {who}", f"Customer: {customer}",
             f"Dialled:  {one_line(dialled, 40) or 'unknown'}",
             f"Received: {message.received_at:%Y-%m-%d %H:%M:%S} UTC",
             f"Callback: {callback}", "",
             f"The message is attached ({attachment_name(message, caller)})."]
    return subject, "\n".join(lines) + "\n"


def attachment_name(message: LeftMessage, caller: voicemails.Caller) -> str:
    number = re.sub(r"[^0-9]", "", caller.phone or "") or "anonymous"
    return f"voicemail-{number}-{message.received_at:%Y%m%d-%H%M%S}.wav"
