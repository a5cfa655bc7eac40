"""Voicemail e-mails, built without sending: proper MIME with the attachment
intact, no header injection through a caller's name or a subject, the retry
pauses, and the words of the message itself."""
from datetime import datetime, timezone
from email import message_from_bytes
from email.policy import default

import pytest

from crm_core.voicemails import Caller
from recording.mail import MailError, SmtpAccount, attachment_type, build_message, retry_delay
from recording.mailboxes import Mailbox
from recording.voicemail import LeftMessage, attachment_name, compose_mail

AUDIO = bytes(range(256)) * 40 + b"\r\n.\r\n\x00end"  # SMTP's own terminator inside


def parsed(msg):
    return message_from_bytes(msg.as_bytes(), policy=default)


def test_a_message_with_its_attachment():
    msg = build_message(sender="cc@example.org", to=["a@example.org", "b@example.org"],
                        subject="Voicemail from +15551230001 in mailbox 100",
                        body="Ada left a message.\n", attachment=AUDIO,
                        attachment_name="voicemail-15551230001.wav")
    back = parsed(msg)
    assert back["From"] == "cc@example.org"
    assert back["To"] == "a@example.org, b@example.org"
    assert back["Subject"] == "Voicemail from +15551230001 in mailbox 100"
    assert back["Message-ID"].endswith("@example.org>")
    assert back.get_body(("plain",)).get_content().splitlines() == ["Ada left a message."]
    (part,) = list(back.iter_attachments())
    assert part.get_content_type() == "audio/wav"
    assert part.get_filename() == "voicemail-15551230001.wav"
    assert part.get_content() == AUDIO  # byte for byte


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: victim@evil.org", "Hi\nX-Evil: 1", "Hi\rX: 1",
                                     "Hi\x00\x1b[31m"])
def test_a_subject_cannot_add_headers(subject):
    msg = build_message(sender="cc@example.org", to=["a@example.org"], subject=subject, body="")
    back = parsed(msg)
    assert back["Bcc"] is None and back["X-Evil"] is None and back["X"] is None
    assert "\n" not in back["Subject"] and "\r" not in back["Subject"]
    assert back["Subject"].startswith("Hi")


def test_an_attachment_name_cannot_add_headers_or_paths():
    msg = build_message(sender="cc@example.org", to=["a@example.org"], subject="s", body="",
                        attachment=b"x", attachment_name="../../x\r\nContent-Type: text/html.wav")
    (part,) = list(parsed(msg).iter_attachments())
    assert "/" not in part.get_filename() and "\n" not in part.get_filename()
    assert part.get_content_type() == "audio/wav"


@pytest.mark.parametrize("to", [["a@example.org\r\nBcc: x@evil.org"], ["a@example.org, x@evil.org"],
                                ["<a@example.org>"], []])
def test_bad_recipients_are_refused(to):
    with pytest.raises(MailError):
        build_message(sender="cc@example.org", to=to, subject="s", body="")


def test_attachment_types():
    assert attachment_type("a.wav") == ("audio", "wav")
    assert attachment_type("a.opus") == ("audio", "ogg")
    assert attachment_type("a.mp3") == ("audio", "mpeg")
    assert attachment_type("a.bin")[0] == "application"


def test_retry_pauses_grow_and_stop_growing():
    assert [retry_delay(n, 60, 3600) for n in (1, 2, 3, 7, 20)] == [60, 120, 240, 3600, 3600]


def test_the_password_stays_out_of_reprs():
    assert "s3cret" not in repr(SmtpAccount(username="u", password="s3cret"))


# -- the voicemail's words --------------------------------------------------------

def left(caller="+15551230001", seconds=12.4) -> LeftMessage:
    from pathlib import Path
    message = LeftMessage(linkedid="1712.4", file=Path("/spool/voicemail/1712.4.wav"),
                          mailbox="100", caller=caller,
                          received_at=datetime(2026, 3, 5, 20, 15, 7, tzinfo=timezone.utc))
    message.seconds = seconds
    return message


BOX = Mailbox("100", "support", ("team@example.org",))


def test_a_known_customer_s_voicemail_mail():
    due = datetime(2026, 3, 6, 9, 0, tzinfo=timezone.utc)
    subject, body = compose_mail(left(), BOX, Caller(7, phone="+15551230001"), "Ada Lovelace",
                                 "8005550100", due, [])
    assert subject == "Voicemail from Ada Lovelace (+15551230001) in mailbox 100"
    assert "Customer: Ada Lovelace (customer 7)" in body
    assert "Callback: queue support, due 2026-03-06 09:00 UTC" in body
    assert "Received: 2026-03-05 20:15:07 UTC" in body and "12 s" in body
    assert "http" not in body  # link-free: the message is attached
    assert "voicemail-15551230001-20260305-201507.wav" in body


def test_an_anonymous_caller_s_voicemail_mail():
    message = left(caller="anonymous")
    caller = Caller(None, reason="anonymous caller: no number to match or call back")
    subject, body = compose_mail(message, BOX, caller, None, "", None,
                                 ["no callback: no number to call"])
    assert subject == "Voicemail from anonymous in mailbox 100"
    assert "Customer: not linked: anonymous caller" in body
    assert "Callback: none; no callback: no number to call" in body
    assert attachment_name(message, caller) == "voicemail-anonymous-20260305-201507.wav"


def test_a_caller_name_with_line_breaks_stays_on_one_line():
    subject, _ = compose_mail(left(), BOX, Caller(7, phone="+15551230001"),
                              "Eve\r\nBcc: victim@evil.org", "", None, [])
    assert "\n" not in subject and "\r" not in subject
