"""The outbox sender: e-mails waiting in the CRM's ``mail_outbox`` go out by SMTP.

A loop on the engine's event loop takes the due messages (the database work
and smtplib both run in a thread), claims each, builds a proper MIME message
with its attachment read from the recording store, and hands it to the SMTP
server. A refusal or a connection error keeps the message pending: it is tried
again after a growing pause, and given up (status failed, logged) after
``max_attempts``. Nothing here deletes a recording: the file a message carries
stays in the store whatever the mail server does.

Header injection is impossible by construction: addresses are checked against
a narrow pattern, subjects and file names are flattened to one printable line,
and ``email.policy.SMTP`` refuses any header with a line break on top of that.
"""
from __future__ import annotations

import asyncio
import logging
import mimetypes
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

from crm_core import mail_outbox

from .errors import StoreError
from .mailboxes import check_address
from .store import Store

log = logging.getLogger("recording.mail")

MAX_ATTEMPTS = 10
RETRY_FIRST = 60.0  # seconds before the second attempt; doubled each time
RETRY_MAX = 3600.0
POLL_SECONDS = 30.0
SMTP_TIMEOUT = 30.0
MAX_ATTACHMENT = 25 * 1024 * 1024  # what mail servers commonly take


@dataclass(frozen=True)
class SmtpAccount:
    host: str = "127.0.0.1"
    port: int = 25
    username: str = ""
    password: str = ""  # from the settings or CALLCENTER_MAIL_PASSWORD, never logged
    starttls: bool = False
    sender: str = "callcenter@localhost.localdomain"

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return (f"SmtpAccount({self.host}:{self.port}, user={self.username!r}, "
                f"sender={self.sender!r})")


class MailError(RuntimeError):
    """A message that can never be sent as it is (bad address, missing attachment)."""


# -- building a message (pure) --------------------------------------------------

def one_line(text: str, limit: int = 200) -> str:
    """Text fit for a header: control characters (CR, LF ...) become spaces."""
    flat = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return " ".join(flat.split())[:limit]


def attachment_type(name: str) -> tuple[str, str]:
    kind = {".wav": "audio/wav", ".opus": "audio/ogg", ".ogg": "audio/ogg",
            ".mp3": "audio/mpeg"}.get(Path(name).suffix.lower())
    kind = kind or mimetypes.guess_type(name)[0] or "application/octet-stream"
    major, _, minor = kind.partition("/")
    return major, minor


def build_message(*, sender: str, to: list[str], subject: str, body: str,
                  attachment: bytes | None = None, attachment_name: str = "") -> EmailMessage:
    """A MIME message; MailError for an address that is not one."""
    try:
        addresses = [check_address(a) for a in to] or None
        check_address(sender)
    except ValueError as exc:
        raise MailError(str(exc)) from None
    if addresses is None:
        raise MailError("a message needs at least one recipient")
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = ", ".join(addresses)
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    msg.set_content(body or "")
    if attachment is not None:
        name = one_line(attachment_name, 150).replace("/", "_").replace("\\", "_") or "attachment"
        major, minor = attachment_type(name)
        msg.add_attachment(attachment, maintype=major, subtype=minor, filename=name)
    return msg


def retry_delay(attempts: int, first: float = RETRY_FIRST, cap: float = RETRY_MAX) -> float:
    """Seconds to wait after the ``attempts``-th failure: first, 2 x first, ... up to cap."""
    return min(cap, first * (2 ** max(0, attempts - 1)))


# -- sending ------------------------------------------------------------------------

def send_message(account: SmtpAccount, msg: EmailMessage, recipients: list[str]) -> dict:
    """Hand one message to the server (blocking: run it in a thread). Returns the
    recipients it refused while taking the message for the others."""
    with smtplib.SMTP(account.host, account.port, timeout=SMTP_TIMEOUT) as smtp:
        smtp.ehlo()
        if account.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if account.username:
            smtp.login(account.username, account.password)
        return smtp.send_message(msg, from_addr=account.sender, to_addrs=recipients)


def describe(exc: BaseException) -> str:
    """What went wrong, for the outbox's last_error (never the password)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        return one_line(f"SMTP {exc.smtp_code}: {detail}", 300)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        said = "; ".join(f"{who}: {code}" for who, (code, _) in exc.recipients.items())
        return one_line(f"recipients refused: {said}", 300)
    return one_line(f"{exc.__class__.__name__}: {exc}", 300)


class MailSender:
    """Sends the outbox; ``wake()`` after queuing a message sends it at once."""

    def __init__(self, sessions, account: SmtpAccount, store_dir: Path, *,
                 max_attempts: int = MAX_ATTEMPTS, retry_first: float = RETRY_FIRST,
                 retry_max: float = RETRY_MAX, poll: float = POLL_SECONDS, now=None):
        check_address(account.sender)
        self.sessions = sessions
        self.account = account
        self.store_dir = Path(store_dir)
        self.max_attempts = max_attempts
        self.retry_first, self.retry_max = retry_first, retry_max
        self.poll = poll
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.sent = 0
        self.failures = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mail-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.send_due()
            except Exception:  # the database is away: the outbox waits for the next round
                log.exception("mail: cannot read the outbox; trying again in %.0f s", self.poll)
            try:
                await asyncio.wait_for(self._wakeup.wait(), self.poll)
            except asyncio.TimeoutError:
                pass
            self._wakeup.clear()

    async def send_due(self) -> int:
        """One pass over the due messages; how many went out."""
        now = self.now()
        rows = await self._db(lambda s: [m.id for m in mail_outbox.due(s, now=now)
                                         if mail_outbox.claim(s, m.id, now=now)])
        sent = 0
        for mail_id in rows:
            sent += await self._send_one(mail_id)
        return sent

    async def _send_one(self, mail_id: int) -> int:
        row = await self._db(lambda s: _plain(s, mail_id))
        try:
            msg, recipients = await asyncio.to_thread(self._compose, row)
        except MailError as exc:  # can never go as it is: say so, keep the row
            reason = str(exc)
            log.error("mail: message %d cannot be sent: %s", mail_id, reason)
            await self._db(lambda s: mail_outbox.mark_failed(s, mail_id, reason))
            return 0
        try:
            refused = await asyncio.to_thread(send_message, self.account, msg, recipients)
        except (smtplib.SMTPException, OSError) as exc:
            await self._failed(row, describe(exc))
            return 0
        if refused:  # taken for the others: sending again would duplicate theirs
            log.warning("mail: message %d not delivered to %s", mail_id, ", ".join(refused))
        await self._db(lambda s: mail_outbox.mark_sent(s, mail_id, now=self.now()))
        self.sent += 1
        log.info("mail: message %d sent to %s", mail_id, row["to"])
        return 1

    def _compose(self, row: dict) -> tuple[EmailMessage, list[str]]:
        data = None
        if row["attachment"]:
            data = self._attachment(row["attachment"])
        to = [a.strip() for a in row["to"].split(",") if a.strip()]
        msg = build_message(sender=self.account.sender, to=to, subject=row["subject"],
                            body=row["body"], attachment=data, attachment_name=row["name"])
        return msg, to

    def _attachment(self, relative: str) -> bytes:
        try:
            path = Store(self.store_dir).path(relative)
            if path.stat().st_size > MAX_ATTACHMENT:
                raise MailError(f"attachment {relative} is larger than {MAX_ATTACHMENT} bytes")
            return path.read_bytes()
        except StoreError as exc:
            raise MailError(str(exc)) from None
        except FileNotFoundError:
            raise MailError(f"attachment {relative} is not in the recording store") from None

    async def _failed(self, row: dict, error: str) -> None:
        self.failures += 1
        mail_id, attempts = row["id"], row["attempts"] + 1
        if attempts >= self.max_attempts:
            log.error("mail: message %d given up after %d attempts: %s", mail_id, attempts, error)
            await self._db(lambda s: mail_outbox.mark_failed(s, mail_id, error))
            return
        delay = retry_delay(attempts, self.retry_first, self.retry_max)
        log.warning("mail: message %d not sent (%s); attempt %d of %d in %.0f s", mail_id, error,
                    attempts + 1, self.max_attempts, delay)
        at = self.now() + timedelta(seconds=delay)
        await self._db(lambda s: mail_outbox.mark_retry(s, mail_id, error, at))

    async def _db(self, work):
        """``work(session)`` in one transaction, in a thread."""
        return await asyncio.to_thread(self._in_db, work)

    def _in_db(self, work):
        with self.sessions.begin() as session:
            return work(session)


def _plain(session, mail_id: int) -> dict:
    mail = mail_outbox.get_mail(session, mail_id)
    return {"id": mail.id, "to": mail.to_addresses, "subject": mail.subject, "body": mail.body,
            "attachment": mail.attachment, "name": mail.attachment_name,
            "attempts": mail.attempts}
