"""Transcripts on both databases: the keyword search (case, % and _ taken
literally, Chinese and Korean text, only finished transcripts, paging, the
snippet), and the job states the worker moves through."""
from datetime import datetime, timedelta, timezone

import pytest

from crm_core import transcripts
from crm_core.errors import ValidationError
from crm_core.models import Customer, Interaction, InteractionLink, Recording, Transcript

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=timezone.utc)


def add(sessions, text: str, *, status: str = "done", minutes: int = 0, channel: str = "call",
        customer: str | None = "Ada") -> int:
    """An interaction with a recording and its transcript; returns the interaction id."""
    with sessions.begin() as s:
        owner = Customer(name=customer) if customer else None
        if owner:
            s.add(owner)
            s.flush()
        call = Interaction(channel=channel, direction="inbound", started_at=T0 + timedelta(minutes=minutes),
                           caller_number="+15551230001", customer_id=owner.id if owner else None)
        s.add(call)
        s.flush()
        rec = Recording(interaction_id=call.id, kind="call" if channel == "call" else "voicemail",
                        path=f"r/{call.id}.wav", format="wav", channels=2, duration=3.0, size=100,
                        sha256="0" * 64, paused=[], status="complete", meta={})
        s.add(rec)
        s.flush()
        s.add(Transcript(recording_id=rec.id, interaction_id=call.id, status=status, text=text,
                         words=[], language="en", error="", attempts=1))
        return call.id


def found(sessions, keyword, **kw) -> list[int]:
    with sessions() as s:
        return [hit.interaction_id for hit in transcripts.search_transcripts(s, keyword, **kw)]


def test_a_keyword_finds_the_interaction_whatever_its_case(sessions):
    refund = add(sessions, "caller: I want a REFUND please\nagent: of course", minutes=1)
    add(sessions, "caller: where is my parcel")
    assert found(sessions, "refund") == [refund]
    assert found(sessions, "Refund") == [refund]
    assert found(sessions, "agent: of") == [refund]  # the speaker labels are searchable too
    with sessions() as s:
        (hit,) = transcripts.search_transcripts(s, "refund")
    assert hit.snippet == "caller: I want a REFUND please agent: of course"
    assert (hit.customer_name, hit.channel, hit.caller_number) == ("Ada", "call", "+15551230001")


def test_percent_and_underscore_are_literal(sessions):
    hundred = add(sessions, "agent: 100% sure", minutes=1)
    thousand = add(sessions, "agent: 1000 dollars")
    snake = add(sessions, "caller: my id is a_c", minutes=2)
    abc = add(sessions, "caller: abc", minutes=3)
    assert found(sessions, "100%") == [hundred]
    assert found(sessions, "0%") == [hundred]
    assert found(sessions, "10%") == []  # as a wildcard it would find "1000 dollars"
    assert found(sessions, "%") == [hundred]
    assert found(sessions, "a_c") == [snake]
    assert found(sessions, "_") == [snake]
    assert abc not in found(sessions, "a_c") and thousand not in found(sessions, "0%")
    assert found(sessions, "a/c") == [] and found(sessions, "'; drop table x; --") == []


def test_chinese_and_korean_text(sessions):
    chinese = add(sessions, "caller: 我想要退款，订单号是一二三", minutes=1, customer="王小明")
    korean = add(sessions, "mixed: 주문한 물건이 아직 도착하지 않았습니다", channel="voicemail")
    assert found(sessions, "退款") == [chinese]
    assert found(sessions, "도착") == [korean]
    with sessions() as s:
        (hit,) = transcripts.search_transcripts(s, "退款")
    assert hit.customer_name == "王小明" and "退款" in hit.snippet


def test_non_ascii_case_folds_too(sessions):
    straße = add(sessions, "caller: ÉCOLE Müller")
    assert found(sessions, "école") == [straße]
    assert found(sessions, "MÜLLER") == [straße]


def test_only_finished_transcripts_newest_first_and_paged(sessions):
    ids = [add(sessions, "caller: invoice question", minutes=m) for m in range(5)]
    add(sessions, "caller: invoice", status="pending", minutes=9)
    add(sessions, "", status="failed", minutes=10)
    assert found(sessions, "invoice") == ids[::-1]
    assert found(sessions, "invoice", limit=2, offset=1) == ids[::-1][1:3]


@pytest.mark.parametrize("kw", [{"keyword": ""}, {"keyword": "  "}, {"keyword": "a\nb"},
                                {"keyword": "x" * 101}, {"keyword": None},
                                {"keyword": "a", "limit": 0}, {"keyword": "a", "limit": 500},
                                {"keyword": "a", "offset": -1}])
def test_bad_searches_are_refused(sessions, kw):
    with sessions() as s, pytest.raises(ValidationError):
        transcripts.search_transcripts(s, **kw)


def test_long_text_gives_a_short_snippet():
    text = "caller: " + "blah " * 40 + "password reset " + "more " * 40
    snip = transcripts.snippet(text, "password")
    assert snip.startswith("…") and snip.endswith("…") and "password reset" in snip
    assert len(snip) < 100


# -- jobs ----------------------------------------------------------------------------

def recording(sessions, kind: str = "call", channels: int = 2) -> tuple[int, int]:
    with sessions.begin() as s:
        call = Interaction(direction="inbound", started_at=T0)
        s.add(call)
        s.flush()
        rec = Recording(interaction_id=call.id, kind=kind, path=f"{kind}/{call.id}.wav",
                        format="wav", channels=channels, duration=1.0, size=10, sha256="0" * 64,
                        paused=[], status="complete", meta={})
        s.add(rec)
        s.flush()
        return rec.id, call.id


def test_a_call_recording_without_a_transcript_row_is_a_job(sessions):
    rec_id, call_id = recording(sessions)
    with sessions.begin() as s:
        (job,) = transcripts.waiting(s)
        assert (job.recording_id, job.interaction_id, job.kind, job.channels) == (
            rec_id, call_id, "call", 2)
        transcript_id = transcripts.claim(s, job)
        assert transcript_id is not None
        assert transcripts.claim(s, job) is None  # a second worker gets nothing
        assert transcripts.waiting(s) == []
    with sessions.begin() as s:
        transcripts.finish(s, transcript_id, text="caller: hi", words=[{"word": "hi"}],
                           language="ko")
    with sessions() as s:
        done = transcripts.of_recording(s, rec_id)
        links = s.query(InteractionLink).filter_by(interaction_id=call_id).all()
    assert (done.status, done.text, done.language, done.attempts) == ("done", "caller: hi", "ko", 1)
    assert [(link.kind, link.ref) for link in links] == [("transcript", f"transcript:{done.id}")]


def test_a_queued_voicemail_job_and_a_failure_with_its_reason(sessions):
    rec_id, vm_id = recording(sessions, "voicemail", 1)
    with sessions.begin() as s:
        transcripts.queue_transcript(s, rec_id, vm_id)
    with sessions.begin() as s:
        (job,) = transcripts.waiting(s)
        transcript_id = transcripts.claim(s, job)
    with sessions.begin() as s:
        transcripts.fail(s, transcript_id, "cannot read the audio:\nnot a WAV")
    with sessions() as s:
        failed = transcripts.of_recording(s, rec_id)
        assert transcripts.waiting(s) == []  # failed for good: not retried
    assert (failed.status, failed.error) == ("failed", "cannot read the audio: not a WAV")


def test_running_jobs_of_a_stopped_worker_go_back_to_pending(sessions):
    recording(sessions)
    with sessions.begin() as s:
        transcripts.claim(s, transcripts.waiting(s)[0])
    with sessions.begin() as s:
        assert transcripts.release_running(s) == 1
        assert len(transcripts.waiting(s)) == 1


def test_an_agent_searches_only_the_calls_they_handled(sessions):
    from crm_core import users
    with sessions.begin() as s:
        ann = users.create_user(s, "ann", "correct horse battery", "agent").id
    mine = add(sessions, "caller: refund for ann", minutes=1)
    theirs = add(sessions, "caller: refund for bob")
    with sessions.begin() as s:
        s.get(Interaction, mine).agent_id = ann
    assert found(sessions, "refund") == [mine, theirs]
    assert found(sessions, "refund", agent_id=ann) == [mine]
