"""Voicemail end to end over real SIP: an after-hours caller (a known customer)
hears the mailbox's greeting and speaks Korean (espeak-ng) after the beep; the
message lands on the customer's timeline with a callback for the mailbox's
queue, arrives by e-mail on a real SMTP server (aiosmtpd on loopback) with the
WAV attached, and gets a transcript from the packaged Korean vosk model. A
caller who hangs up during the greeting leaves nothing: no voicemail, no mail,
no callback. The ACD's overflow to voicemail lands the same way.

Built as callcenter.voicemail_setup builds it for `callcenter run`: the
mailboxes file checked against the menus, the greetings synthesised, the
service, the mail sender and the transcriber from the settings."""
from __future__ import annotations

import asyncio
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter import voicemail_setup
from callcenter.settings import Settings
from callcenter.world import CallerScript
from crm_core import card, customers, transcripts
from crm_core.models import Callback, Interaction, MailOutbox, Recording
from ivr.speech import packaged_model_path
from recording.mailboxes import load_mailboxes

from .acd_support import LATE, AcdLab
from .ivr_support import IvrLab, make_sound, prompts_for, registry_for, step_of

aiosmtpd = pytest.importorskip("aiosmtpd.controller")
pytestmark = [pytest.mark.lab, pytest.mark.asyncio]

MAILBOXES = Path(__file__).parent / "mailboxes.yaml"
AFTER_HOURS = "8005550210"  # menus/voicemail.yaml: closed, mailbox 300 with its greeting
LONG_GREETING = "8005550206"  # menus/hours-long.yaml: mailbox 100, vm-intro (5.7 s)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp():
    from asterisk_conf import ports
    inbox = Inbox()
    controller = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=ports.free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


def settings_for(root: Path, recordings: Path, store: Path, smtp_port: int,
                 transcribe: bool) -> Settings:
    settings = Settings()
    settings.recording.policy_file = str(MAILBOXES)
    settings.recording.store_dir = str(store)
    model = packaged_model_path() if transcribe else None
    settings.recording.transcribe = model is not None
    settings.recording.vosk_model = str(model or "")
    settings.ivr.recordings_dir = "/" + str(recordings.relative_to(root))
    settings.mail.smtp_port = smtp_port
    settings.mail.sender = "voicemail@example.org"
    return settings


def voicemail_for(lab, sessions, recordings: Path, store: Path, smtp_port: int, *,
                  transcribe: bool, dialled_of=None):
    """The voicemail parts exactly as the platform builds them."""
    root = lab.pbx.root
    settings = settings_for(root, recordings, store, smtp_port, transcribe)
    mailboxes = voicemail_setup.mailboxes_of(settings)
    voicemail_setup.check_mailboxes(mailboxes, registry_for(root))  # the start-up check
    return voicemail_setup.build_voicemail(settings, sessions, mailboxes=mailboxes,
                                           registry=registry_for(root), sandbox_root=root,
                                           dialled_of=dialled_of)


def greetings(lab):
    """greeting_for, as the platform hands it to the IVR and the ACD."""
    return voicemail_setup.make_greetings(load_mailboxes(MAILBOXES), prompts_for(lab.pbx.root))


async def until(check, timeout: float, what: str):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.2)


def add_customer(sessions, name: str, phone: str) -> int:
    with sessions.begin() as s:
        return customers.create_customer(s, {"name": name, "phones": [phone]}).customer.id


async def test_an_after_hours_voicemail_lands_is_called_back_mailed_and_transcribed(
        lab, sessions, smtp, tmp_path):
    port, inbox = smtp
    ada = add_customer(sessions, "Ada Lovelace", "+15552000061")
    message = make_sound(lab.pbx.root, "vm-ko-message", "내일 아침에 다시 전화해 주세요 감사합니다",
                         voice="ko")
    async with IvrLab(lab, sessions, greeting_for=greetings(lab)) as ivr:
        parts = voicemail_for(lab, sessions, ivr.recordings, tmp_path / "store", port,
                              transcribe=True, dialled_of=ivr.engine.dialled_number)
        parts.attach(ivr.bus)
        await parts.start()
        try:
            # The greeting ("Please leave a message.", ~1.3 s) and the beep; then the
            # caller speaks (~3 s) and hangs up, the usual end of a message.
            await ivr.call(AFTER_HOURS, "+15552000061",
                           CallerScript(audio=message, delay=2.6, hold=0.5))
            (ended,) = await ivr.ended()
            linkedid = ended["linkedid"]
            await ivr.ivr.wait("ivr.voicemail", timeout=10)
            await parts.service.flush(timeout=20)
            detail = await ivr.ivr_segment(linkedid)
            await until(lambda: inbox.messages, 20, "the e-mail")
            transcript = await until(lambda: done_transcript(sessions, linkedid), 60,
                                     "the transcript")
            spooled = (ivr.recordings / "voicemail" / f"{linkedid}.wav").read_bytes()
        finally:
            await parts.stop()
    assert ivr.engine.agi.errors == 0
    assert step_of(detail, "after_hours")["greeting"] == "mailbox"
    assert step_of(detail, "after_hours")["message"] is True
    with sessions() as s:
        vm = s.scalar(select(Interaction).where(Interaction.linkedid == f"vm-{linkedid}"))
        timeline = card.customer_card(s, ada).interactions
        (callback,) = s.scalars(select(Callback)).all()
        (recording,) = s.scalars(select(Recording)).all()
        (mail,) = s.scalars(select(MailOutbox)).all()
    # On the customer's timeline, next to the call it came from.
    assert (vm.channel, vm.customer_id, vm.caller_number) == ("voicemail", ada, "+15552000061")
    assert vm.dialled_number == AFTER_HOURS
    assert {i["id"] for i in timeline} >= {vm.id} and len(timeline) == 2
    # Called back from the mailbox's queue ("never" opens: due now).
    assert (callback.queue, callback.customer_id, callback.phone_e164, callback.state) == (
        "support", ada, "+15552000061", "pending")
    # Mailed to the mailbox's team with the very WAV attached.
    (envelope,) = inbox.messages
    assert envelope.rcpt_tos == ["support-team@example.org", "night-shift@example.org"]
    msg = message_from_bytes(envelope.original_content, policy=default)
    assert msg["Subject"] == "Voicemail from Ada Lovelace (+15552000061) in mailbox 300"
    (attached,) = list(msg.iter_attachments())
    stored = (tmp_path / "store" / recording.path).read_bytes()
    assert attached.get_content_type() == "audio/wav" and attached.get_content() == stored
    assert stored == spooled  # the recording as Asterisk wrote it
    assert mail.status == "sent"
    # Transcribed: words with timings inside the message (the text itself: see
    # tests/unit/test_recording_transcribe.py for why it is not asserted).
    assert transcript.words and transcript.language == "ko"
    for word in transcript.words:
        assert word["speaker"] == "mixed"
        assert 0 <= word["start"] <= word["end"] <= recording.duration + 0.05
    assert recording.duration > 1.0


def done_transcript(sessions, linkedid: str):
    with sessions() as s:
        vm = s.scalar(select(Interaction).where(Interaction.linkedid == f"vm-{linkedid}"))
        found = transcripts.of_interaction(s, vm.id) if vm else []
    return found[0] if found and found[0].status in ("done", "failed") else None


async def test_a_caller_who_hangs_up_during_the_greeting_leaves_nothing(
        lab, sessions, smtp, tmp_path):
    port, inbox = smtp
    add_customer(sessions, "Grace Hopper", "+15552000062")
    async with IvrLab(lab, sessions, greeting_for=greetings(lab)) as ivr:
        parts = voicemail_for(lab, sessions, ivr.recordings, tmp_path / "store", port,
                              transcribe=False)
        parts.attach(ivr.bus)
        await parts.start()
        try:
            # Mailbox 100 has no greeting of its own: the node's vm-intro (5.7 s) plays,
            # and the caller is gone after 1.5 s.
            await ivr.call(LONG_GREETING, "+15552000062", CallerScript(delay=0, hold=1.5))
            (ended,) = await ivr.ended()
            detail = await ivr.ivr_segment(ended["linkedid"])
            await parts.service.flush(timeout=10)
            await parts.sender.send_due()
        finally:
            await parts.stop()
    assert detail["outcome"] == "caller_hung_up"
    assert "greeting" not in step_of(detail, "after_hours")
    with sessions() as s:
        assert s.scalars(select(Interaction).where(Interaction.channel == "voicemail")).all() == []
        assert s.scalars(select(Callback)).all() == []
        assert s.scalars(select(MailOutbox)).all() == []
    assert inbox.messages == [] and parts.service.landed == 0


async def test_the_acd_overflow_to_voicemail_lands_on_a_new_unknown_caller(
        lab, sessions, smtp, tmp_path):
    port, inbox = smtp
    spoken = make_sound(lab.pbx.root, "acd-call-me", "Please call me back about my order")
    async with AcdLab(lab, sessions, greeting_for=greetings(lab)) as acd:
        parts = voicemail_for(lab, sessions, acd.recordings, tmp_path / "store", port,
                              transcribe=False, dialled_of=acd.engine.dialled_number)
        parts.attach(acd.bus)
        await parts.start()
        try:
            # max_wait 3 s, the mailbox's greeting (~1.3 s) and the beep; then the caller speaks.
            await acd.world.place_call(LATE, "+15553000093", "",
                                       CallerScript(audio=spoken, delay=6.5, hold=0.5))
            linkedid = await acd.queued("+15553000093")
            stored = await acd.wait_bus("acd.voicemail", 25, linkedid=linkedid)
            await parts.service.flush(timeout=20)
            await until(lambda: inbox.messages, 20, "the e-mail")
        finally:
            await parts.stop()
    # 3.9 s measured: the short greeting played. After vm-intro (5.7 s) the caller
    # would have spoken before the beep, leaving well under a second.
    assert stored["mailbox"] == "200" and stored["seconds"] > 2.5
    with sessions() as s:
        vm = s.scalar(select(Interaction).where(Interaction.linkedid == f"vm-{linkedid}"))
        unknown = customers.get_customer(s, vm.customer_id)
        (callback,) = s.scalars(select(Callback)).all()
    assert unknown.name == "Unknown caller +15553000093"
    assert [t.tag for t in unknown.tags] == ["unknown-caller"]
    assert (callback.queue, callback.customer_id) == ("support", unknown.id)
    (envelope,) = inbox.messages
    assert envelope.rcpt_tos == ["late-desk@example.org"]
