"""The outbox sender against a real SMTP server on loopback (aiosmtpd, in its own
thread), on both databases: the mail arrives with the attachment intact; a
server that refuses (4xx, 5xx) or is not there keeps the message pending and it
goes out once the server takes it; a bounded number of attempts; the file is
never deleted because a mail failed."""
import asyncio
import os
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default

import pytest

aiosmtpd = pytest.importorskip("aiosmtpd.controller")

from asterisk_conf import ports  # noqa: E402
from crm_core import mail_outbox  # noqa: E402
from crm_core.errors import ValidationError  # noqa: E402
from crm_core.models import MailOutbox  # noqa: E402
from recording.mail import MailSender, SmtpAccount  # noqa: E402

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
AUDIO = os.urandom(40_000) + b"\r\n.\r\n" + os.urandom(100)  # SMTP's terminator inside


class Inbox:
    """An aiosmtpd handler: takes messages, or answers with ``refuse`` (e.g. "451 ...")."""

    def __init__(self):
        self.messages = []
        self.refuse: str | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=ports.free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


class Clock:
    def __init__(self):
        self.at = T0

    def __call__(self):
        return self.at


@pytest.fixture
def store(tmp_path):
    folder = tmp_path / "store"
    (folder / "2026/03/01").mkdir(parents=True)
    (folder / "2026/03/01/vm-1.wav").write_bytes(AUDIO)
    return folder


def queue(sessions, **kw) -> int:
    kw.setdefault("attachment", "2026/03/01/vm-1.wav")
    kw.setdefault("attachment_name", "voicemail-15551230001.wav")
    with sessions.begin() as s:
        return mail_outbox.queue_mail(s, to=["team@example.org", "boss@example.org"],
                                      subject="Voicemail from +15551230001 in mailbox 100",
                                      body="Ada left a message.\n", now=T0, **kw).id


def sender(sessions, store, port, clock, **kw) -> MailSender:
    return MailSender(sessions, SmtpAccount(port=port, sender="cc@example.org"), store,
                      now=clock, retry_first=60, retry_max=600, **kw)


def row(sessions, mail_id) -> MailOutbox:
    with sessions() as s:
        return s.get(MailOutbox, mail_id)


def test_the_mail_arrives_with_the_recording_attached(sessions, store, smtp):
    controller, inbox = smtp
    mail_id = queue(sessions)
    clock = Clock()
    assert asyncio.run(sender(sessions, store, controller.port, clock).send_due()) == 1
    (envelope,) = inbox.messages
    assert envelope.mail_from == "cc@example.org"
    assert envelope.rcpt_tos == ["team@example.org", "boss@example.org"]
    msg = message_from_bytes(envelope.original_content, policy=default)
    assert msg["Subject"] == "Voicemail from +15551230001 in mailbox 100"
    assert msg.get_body(("plain",)).get_content().strip() == "Ada left a message."
    (part,) = list(msg.iter_attachments())
    assert (part.get_content_type(), part.get_filename()) == ("audio/wav",
                                                              "voicemail-15551230001.wav")
    assert part.get_content() == AUDIO  # the same bytes
    sent = row(sessions, mail_id)
    assert (sent.status, sent.attempts, sent.last_error, sent.sent_at) == ("sent", 1, "", T0)
    # Sent once: another pass sends nothing.
    assert asyncio.run(sender(sessions, store, controller.port, clock).send_due()) == 0


@pytest.mark.parametrize("answer", ["451 4.3.0 Try again later", "554 5.7.1 Relay denied"])
def test_a_refusing_server_keeps_the_mail_until_it_accepts(sessions, store, smtp, answer):
    controller, inbox = smtp
    inbox.refuse = answer
    mail_id = queue(sessions)
    clock = Clock()
    mailer = sender(sessions, store, controller.port, clock)
    assert asyncio.run(mailer.send_due()) == 0
    waiting = row(sessions, mail_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error == f"SMTP {answer[:3]}: {answer[4:]}"
    assert waiting.next_attempt_at == T0 + timedelta(seconds=60)
    # Not due yet: nothing is tried.
    clock.at = T0 + timedelta(seconds=30)
    inbox.refuse = None
    assert asyncio.run(mailer.send_due()) == 0 and inbox.messages == []
    clock.at = T0 + timedelta(seconds=61)
    assert asyncio.run(mailer.send_due()) == 1
    sent = row(sessions, mail_id)
    assert (sent.status, sent.attempts) == ("sent", 2) and len(inbox.messages) == 1
    assert (store / "2026/03/01/vm-1.wav").read_bytes() == AUDIO


def test_no_server_at_all_then_one_that_takes_it(sessions, store):
    port = ports.free_port()
    mail_id = queue(sessions)
    clock = Clock()
    mailer = sender(sessions, store, port, clock)
    assert asyncio.run(mailer.send_due()) == 0
    waiting = row(sessions, mail_id)
    assert waiting.status == "pending" and "ConnectionRefusedError" in waiting.last_error
    inbox = Inbox()
    controller = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.at = waiting.next_attempt_at
        assert asyncio.run(mailer.send_due()) == 1
    finally:
        controller.stop()
    assert row(sessions, mail_id).status == "sent" and len(inbox.messages) == 1


def test_given_up_after_the_last_attempt_and_the_file_stays(sessions, store, smtp):
    controller, inbox = smtp
    inbox.refuse = "550 5.1.1 No such user"
    mail_id = queue(sessions)
    clock = Clock()
    mailer = sender(sessions, store, controller.port, clock, max_attempts=3)
    for _ in range(5):
        asyncio.run(mailer.send_due())
        clock.at += timedelta(hours=1)
    failed = row(sessions, mail_id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error.startswith("SMTP 550")
    assert (store / "2026/03/01/vm-1.wav").read_bytes() == AUDIO


def test_a_missing_attachment_fails_at_once_with_the_reason(sessions, store, smtp):
    controller, inbox = smtp
    mail_id = queue(sessions, attachment="2026/03/01/gone.wav")
    asyncio.run(sender(sessions, store, controller.port, Clock()).send_due())
    failed = row(sessions, mail_id)
    assert failed.status == "failed" and inbox.messages == []
    assert failed.last_error == "attachment 2026/03/01/gone.wav is not in the recording store"


def test_the_running_sender_sends_when_woken(sessions, store, smtp):
    controller, inbox = smtp

    async def go():
        mailer = MailSender(sessions, SmtpAccount(port=controller.port, sender="cc@example.org"),
                            store, poll=600)
        mailer.start()
        try:
            await asyncio.sleep(0.2)  # its first pass finds nothing
            queue(sessions, attachment=None)
            mailer.wake()
            for _ in range(100):
                if mailer.sent:
                    break
                await asyncio.sleep(0.05)
        finally:
            await mailer.stop()
        return mailer.sent

    assert asyncio.run(go()) == 1 and len(inbox.messages) == 1


@pytest.mark.parametrize("kw, field", [
    ({"to": ["a@b.org\r\nBcc: x@evil.org"]}, "to[0]"), ({"to": "a@b.org"}, "to"),
    ({"subject": "hi\r\nBcc: x@evil.org"}, "subject"), ({"attachment": "../../etc/passwd"},
                                                         "attachment")])
def test_the_outbox_refuses_what_could_inject_and_writes_nothing(sessions, kw, field):
    args = {"to": ["a@b.org"], "subject": "s", "attachment": "voicemail/x.wav",
            "attachment_name": "x.wav", **kw}
    with sessions.begin() as s, pytest.raises(ValidationError) as refused:
        mail_outbox.queue_mail(s, **args)
    assert field in refused.value.errors
    with sessions() as s:
        assert s.query(MailOutbox).count() == 0
