"""Voicemails landing in the CRM on both databases: on the known customer's
timeline, on a new unknown-caller record made once per number, on nobody for
an anonymous caller; with the recording published whole, a callback for the
mailbox's queue, the e-mail in the outbox and a transcription job, all in one
transaction; and the retry when the database is away."""
import asyncio
import hashlib
import wave
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from crm_core import customers, dnc
from crm_core.models import Callback, Customer, CustomerTag, Interaction, InteractionLink, \
    MailOutbox, Recording, Transcript
from cti.bus import InProcessBus
from recording.mailboxes import Mailbox
from recording.voicemail import VoicemailService

BOX = Mailbox("100", "support", ("team@example.org", "night@example.org"))


class Lab:
    """A spool folder the IVR would record into, a store, and the service."""

    def __init__(self, sessions, tmp_path, **kwargs):
        self.spool = tmp_path / "spool" / "voicemail"
        self.spool.mkdir(parents=True)
        self.store = tmp_path / "store"
        self.bus = InProcessBus()
        self.stored = []
        self.bus.subscribe("voicemail.stored", lambda topic, p: self.stored.append(p))
        self.woken = []
        kwargs.setdefault("mailboxes", {"100": BOX})
        self.service = VoicemailService(sessions, store_dir=self.store, spool_dir=self.spool,
                                        bus=self.bus, on_landed=(lambda: self.woken.append(1),),
                                        retry_first=0.05, retry_max=0.2, **kwargs)
        self.sessions = sessions

    def message(self, linkedid: str, seconds: float = 1.5) -> str:
        path = self.spool / f"{linkedid}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\x10\x20" * int(8000 * seconds))
        return str(path)

    def event(self, linkedid: str, caller: str, topic="ivr.voicemail", **extra) -> dict:
        payload = {"linkedid": linkedid, "file": self.message(linkedid), "mailbox": "100",
                   "caller": caller, "customer_id": None, **extra}
        return topic, payload

    def leave(self, *events):
        async def go():
            self.service.start()
            for topic, payload in events:
                self.service.on_event(topic, payload)
            await self.service.flush(timeout=20)
            await self.service.stop()
        asyncio.run(go())


def add_customer(sessions, name: str, phone: str | None = None) -> int:
    with sessions.begin() as s:
        data = {"name": name, "timezone": "Europe/Berlin"}
        if phone:
            data["phones"] = [phone]
        return customers.create_customer(s, data, allow_duplicate=True).customer.id


def voicemails_of(sessions):
    with sessions() as s:
        return list(s.scalars(select(Interaction).where(Interaction.channel == "voicemail")
                              .order_by(Interaction.id)))


def test_a_known_customer_s_voicemail_lands_whole(sessions, tmp_path):
    ada = add_customer(sessions, "Ada Lovelace", "+15551230001")
    lab = Lab(sessions, tmp_path)
    lab.leave(lab.event("1712.1", "+15551230001"))
    (vm,) = voicemails_of(sessions)
    assert (vm.customer_id, vm.direction, vm.status, vm.linkedid) == (ada, "inbound",
                                                                      "completed", "vm-1712.1")
    assert vm.caller_number == "+15551230001" and vm.ended_at >= vm.started_at
    assert (vm.ended_at - vm.started_at) == timedelta(seconds=1.5)
    with sessions() as s:
        (rec,) = s.scalars(select(Recording)).all()
        (callback,) = s.scalars(select(Callback)).all()
        (mail,) = s.scalars(select(MailOutbox)).all()
        (job,) = s.scalars(select(Transcript)).all()
        (link,) = s.scalars(select(InteractionLink).where(
            InteractionLink.interaction_id == vm.id)).all()
    # The recording: published whole into the store, its checksum the file's.
    published = lab.store / rec.path
    assert (rec.kind, rec.interaction_id, rec.channels, rec.duration) == ("voicemail", vm.id, 1, 1.5)
    assert rec.sha256 == hashlib.sha256(published.read_bytes()).hexdigest()
    assert rec.size == published.stat().st_size
    assert published.read_bytes() == (lab.spool / "1712.1.wav").read_bytes()  # the spool kept
    assert rec.meta["linkedid"] == "1712.1" and rec.meta["mailbox"] == "100"
    assert not list(lab.store.rglob(".*"))  # nothing half-written left behind
    assert (link.kind, link.ref, link.meta["recording_id"]) == ("recording", rec.path, rec.id)
    # The callback: the mailbox's queue, the customer's number and zone, now (no hours known).
    assert (callback.queue, callback.phone_e164, callback.customer_id) == (
        "support", "+15551230001", ada)
    assert callback.interaction_id == vm.id and callback.state == "pending"
    assert callback.timezone == "Europe/Berlin" and callback.due_at <= vm.ended_at
    # The e-mail: to the mailbox's team, the recording attached.
    assert mail.to_addresses == "team@example.org, night@example.org"
    assert mail.subject == "Voicemail from Ada Lovelace (+15551230001) in mailbox 100"
    assert (mail.attachment, mail.status, mail.interaction_id) == (rec.path, "pending", vm.id)
    assert "Customer: Ada Lovelace" in mail.body and "queue support" in mail.body
    # The transcription job, and the news.
    assert (job.status, job.recording_id, job.interaction_id) == ("pending", rec.id, vm.id)
    (stored,) = lab.stored
    assert stored["interaction_id"] == vm.id and stored["customer_id"] == ada
    assert stored["callback_id"] == callback.id and stored["mail_id"] == mail.id
    assert lab.woken == [1]


def test_an_unknown_number_gets_one_record_however_often_it_calls(sessions, tmp_path):
    lab = Lab(sessions, tmp_path)
    lab.leave(lab.event("1712.2", "+4930123456"), lab.event("1712.3", "+49 30 123456",
                                                            topic="acd.voicemail"))
    first, second = voicemails_of(sessions)
    assert first.customer_id is not None and second.customer_id == first.customer_id
    with sessions() as s:
        (unknown,) = s.scalars(select(Customer)).all()
        tags = [t.tag for t in s.scalars(select(CustomerTag))]
        phones = [p.e164 for p in customers.get_customer(s, unknown.id).phones]
        mails = list(s.scalars(select(MailOutbox).order_by(MailOutbox.id)))
    assert unknown.name == "Unknown caller +4930123456" and tags == ["unknown-caller"]
    assert phones == ["+4930123456"]
    assert "a new unknown-caller record" in mails[0].body
    assert "a new unknown-caller record" not in mails[1].body
    assert [p["created_customer"] for p in lab.stored] == [True, False]


def test_an_anonymous_caller_is_linked_to_nobody_and_not_called_back(sessions, tmp_path):
    lab = Lab(sessions, tmp_path)
    lab.leave(lab.event("1712.4", "anonymous"), lab.event("1712.5", "12ab"))
    anonymous, garbled = voicemails_of(sessions)
    assert anonymous.customer_id is None and garbled.customer_id is None
    with sessions() as s:
        assert s.scalars(select(Customer)).all() == []
        assert s.scalars(select(Callback)).all() == []
        bodies = [m.body for m in s.scalars(select(MailOutbox).order_by(MailOutbox.id))]
        recordings = list(s.scalars(select(Recording).order_by(Recording.id)))
    assert "not linked: anonymous caller" in bodies[0]
    assert "not linked: caller ID '12ab' is not a phone number" in bodies[1]
    assert recordings[0].meta["customer"].startswith("anonymous caller")
    assert [p["notes"] for p in lab.stored][0] == [
        "anonymous caller: no number to match or call back", "no callback: no number to call"]


def test_a_shared_number_and_a_customer_the_ivr_already_knew(sessions, tmp_path):
    office_a = add_customer(sessions, "Office A", "+15557770000")
    add_customer(sessions, "Office B", "+15557770000")
    account = add_customer(sessions, "Typed Account")
    lab = Lab(sessions, tmp_path)
    lab.leave(lab.event("1712.6", "+15557770000"),
              lab.event("1712.7", "+15557770000", customer_id=account))
    shared, typed = voicemails_of(sessions)
    assert shared.customer_id is None and typed.customer_id == account
    assert office_a != account
    with sessions() as s:
        callbacks_ = list(s.scalars(select(Callback).order_by(Callback.id)))
    # Both can be called back: the number is a real one.
    assert [c.customer_id for c in callbacks_] == [None, account]


def test_a_do_not_call_number_lands_without_a_callback(sessions, tmp_path):
    with sessions.begin() as s:
        dnc.add(s, "+15551239999", reason="asked")
    lab = Lab(sessions, tmp_path)
    lab.leave(lab.event("1712.8", "+15551239999"))
    (vm,) = voicemails_of(sessions)
    with sessions() as s:
        assert s.scalars(select(Callback)).all() == []
        assert len(s.scalars(select(MailOutbox)).all()) == 1
    assert any("do-not-call" in note for note in lab.stored[0]["notes"])


def test_the_callback_is_due_when_the_hours_open(sessions, tmp_path):
    opens = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    asked = []

    def opening(flow, schedule, at):
        asked.append((flow, schedule))
        return opens

    lab = Lab(sessions, tmp_path, opening=opening)
    lab.leave(lab.event("1712.9", "+15551230002", flow="main", schedule="office"),
              lab.event("1712.10", "+15551230003", topic="acd.voicemail", queue="late"))
    with sessions() as s:
        after_hours, overflow = s.scalars(select(Callback).order_by(Callback.id)).all()
    assert asked == [("main", "office")]  # the ACD's overflow has no schedule: due now
    assert after_hours.due_at == opens
    assert overflow.due_at < opens and overflow.queue == "support"


def test_a_mailbox_that_is_not_configured_still_lands_and_calls_back_from_the_queue(
        sessions, tmp_path):
    lab = Lab(sessions, tmp_path, mailboxes={})
    lab.leave(lab.event("1712.11", "+15551230004", topic="acd.voicemail", queue="late"))
    (vm,) = voicemails_of(sessions)
    with sessions() as s:
        (callback,) = s.scalars(select(Callback)).all()
        assert s.scalars(select(MailOutbox)).all() == []
    assert callback.queue == "late"
    assert "mailbox 100 is not configured: no e-mail" in lab.stored[0]["notes"]


def test_nothing_lands_for_a_caller_who_left_no_sound(sessions, tmp_path):
    lab = Lab(sessions, tmp_path)
    topic, payload = lab.event("1712.12", "+15551230005")
    (lab.spool / "1712.12.wav").write_bytes(b"RIFF" + bytes(40))  # a bare header
    lab.leave((topic, payload), ("ivr.voicemail", {**payload, "linkedid": "1712.13",
                                                   "file": str(lab.spool / "gone.wav")}))
    assert voicemails_of(sessions) == []
    assert not lab.store.exists() or not any(lab.store.rglob("*.wav"))
    assert lab.stored == []


def test_a_repeated_event_lands_once_and_bad_events_change_nothing(sessions, tmp_path):
    lab = Lab(sessions, tmp_path)
    topic, payload = lab.event("1712.14", "+15551230006")
    lab.leave((topic, payload), (topic, payload), (topic, {**payload, "file": "/etc/passwd"}),
              (topic, {**payload, "mailbox": "1;2"}), (topic, "not a mapping"))
    assert len(voicemails_of(sessions)) == 1
    with sessions() as s:
        assert len(s.scalars(select(MailOutbox)).all()) == 1


def test_a_database_that_is_away_delays_the_voicemail_and_loses_nothing(sessions, tmp_path):
    lab = Lab(sessions, tmp_path)
    real = lab.service._write
    failures = []

    def flaky(session, *args):
        if len(failures) < 2:
            failures.append(1)
            raise ConnectionError("database is down")
        return real(session, *args)

    lab.service._write = flaky
    lab.leave(lab.event("1712.15", "+15551230007"), lab.event("1712.16", "+15551230008"))
    assert sorted(v.linkedid for v in voicemails_of(sessions)) == ["vm-1712.15", "vm-1712.16"]
    assert lab.service.failures == 2 and lab.service.landed == 2
    with sessions() as s:  # one transaction each: no half voicemail from the failed tries
        assert len(s.scalars(select(Recording)).all()) == 2
        assert len(s.scalars(select(Callback)).all()) == 2


def test_a_message_found_again_at_start(sessions, tmp_path):
    """The engine stopped between the recording and the landing: the call's
    voicemail link (written by the history) brings it back."""
    lab = Lab(sessions, tmp_path)
    _, payload = lab.event("1712.17", "+15551230009")
    with sessions.begin() as s:
        call = Interaction(channel="call", direction="inbound", linkedid="1712.17",
                           started_at=datetime.now(timezone.utc), status="completed",
                           dialled_number="8005550205")
        s.add(call)
        s.flush()
        s.add(InteractionLink(interaction_id=call.id, kind="voicemail", ref=payload["file"],
                              meta={"mailbox": "100", "caller": "+15551230009",
                                    "customer_id": None, "flow": "main"}))

    async def go():
        lab.service.start()
        assert await lab.service.recover() == 1
        await lab.service.flush(timeout=20)
        assert await lab.service.recover() == 0  # landed: not found again
        await lab.service.stop()
    asyncio.run(go())
    (vm,) = voicemails_of(sessions)
    assert vm.linkedid == "vm-1712.17" and vm.dialled_number == "8005550205"


def test_a_message_stored_before_a_crash_is_taken_as_it_is(sessions, tmp_path):
    """Published, then the engine stopped before the CRM: the same bytes under the
    same name are that message; other bytes there are refused, never overwritten."""
    from recording.errors import StoreError
    from recording.voicemail import parse_event
    lab = Lab(sessions, tmp_path)
    topic, payload = lab.event("1712.18", "+15551230010")
    message = parse_event(topic, payload, lab.spool, datetime.now(timezone.utc))
    message.relative = "2026/03/05/vm-1712.18-101010.wav"
    first = lab.service._store(message)
    again = lab.service._store(message)
    assert (again.path, again.sha256, again.size) == (first.path, first.sha256, first.size)
    lab.message("1712.18", seconds=0.5)  # another recording under that name
    with pytest.raises(StoreError, match="published already"):
        lab.service._store(message)
    assert hashlib.sha256((lab.store / first.path).read_bytes()).hexdigest() == first.sha256
