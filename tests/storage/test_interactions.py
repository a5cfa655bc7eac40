"""The call history on both databases: upsert by linkedid, final rows, lost calls."""
from datetime import datetime, timedelta, timezone

import pytest

from crm_core import interactions as I

T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)


def facts(**kw):
    base = dict(linkedid="1700000000.1", direction="inbound", started_at=T0,
                caller_number="+15551230001", dialled_number="8005550100")
    base.update(kw)
    return I.CallFacts(**base)


def test_a_call_is_one_row_updated_in_place(sessions):
    with sessions.begin() as s:
        I.save_call(s, facts())
        I.save_call(s, facts(answered_at=T0 + timedelta(seconds=2), keys_pressed="1"))
        I.save_call(s, facts(answered_at=T0 + timedelta(seconds=2), keys_pressed="12",
                             ended_at=T0 + timedelta(seconds=9), hangup_cause=16,
                             hangup_cause_text="Normal Clearing", status="completed"))
    with sessions() as s:
        rows = I.recent(s)
        assert len(rows) == 1
        r = rows[0]
        assert (r.keys_pressed, r.hangup_cause, r.status) == ("12", 16, "completed")
        assert r.started_at == T0 and r.ended_at == T0 + timedelta(seconds=9)
        assert r.started_at.tzinfo is not None


def test_a_final_row_is_never_reopened_by_a_late_snapshot(sessions):
    with sessions.begin() as s:
        I.save_call(s, facts(status="completed", keys_pressed="9", ended_at=T0))
        I.save_call(s, facts(status="in_progress", keys_pressed=""))
    with sessions() as s:
        r = I.by_linkedid(s, "1700000000.1")
        assert (r.status, r.keys_pressed) == ("completed", "9")


def test_caller_controlled_text_is_stored_safely(sessions):
    evil = "'); DROP TABLE interactions; --\x07\n" + "9" * 500
    with sessions.begin() as s:
        I.save_call(s, facts(caller_number=evil, caller_name="王小明 <script>"))
    with sessions() as s:
        r = I.by_linkedid(s, "1700000000.1")
        assert r.caller_number.startswith("'); DROP TABLE") and len(r.caller_number) == 64
        assert "\x07" not in r.caller_number and "\n" not in r.caller_number
        assert r.caller_name == "王小明 <script>"


def test_open_calls_can_be_marked_lost(sessions):
    with sessions.begin() as s:
        I.save_call(s, facts(linkedid="a"))
        I.save_call(s, facts(linkedid="b"))
        I.save_call(s, facts(linkedid="c", status="completed", ended_at=T0))
    with sessions.begin() as s:
        assert I.open_call_ids(s) == {"a", "b"}
        assert I.mark_lost(s, {"a", "c"}, T0 + timedelta(minutes=1), "Asterisk restarted") == 1
    with sessions() as s:
        a, c = I.by_linkedid(s, "a"), I.by_linkedid(s, "c")
        assert (a.status, a.hangup_cause_text, a.ended_at) == ("lost", "Asterisk restarted",
                                                               T0 + timedelta(minutes=1))
        assert c.status == "completed"


def test_bad_status_and_naive_times_are_refused(sessions):
    with sessions.begin() as s:
        with pytest.raises(ValueError, match="status"):
            I.save_call(s, facts(status="maybe"))
    with pytest.raises(Exception, match="naive"):
        with sessions.begin() as s:
            I.save_call(s, facts(started_at=datetime(2026, 1, 1)))
    with sessions() as s:
        assert I.recent(s) == []


def test_segments_and_links_belong_to_the_call(sessions):
    from crm_core.errors import NotFound, ValidationError
    with sessions.begin() as s:
        I.save_call(s, facts(linkedid="seg.1"))
    with sessions.begin() as s:
        I.add_segment(s, "seg.1", "ivr", T0, ended_at=T0 + timedelta(seconds=20),
                      detail={"path": ["welcome", "menu", "sales"], "keys": "12"})
        I.add_segment(s, "seg.1", "queue", T0 + timedelta(seconds=20), detail={"queue": "sales"})
        I.add_link(s, "seg.1", "recording", "recordings/2026/11/seg.1.wav", meta={"sha256": "ab"})
    with sessions() as s:
        call = I.by_linkedid(s, "seg.1")
        kinds = [(seg.kind, seg.detail) for seg in I.segments_of(s, call.id)]
        assert kinds[0] == ("ivr", {"path": ["welcome", "menu", "sales"], "keys": "12"})
        assert kinds[1][0] == "queue"
        assert [l.ref for l in I.links_of(s, call.id)] == ["recordings/2026/11/seg.1.wav"]
    with sessions.begin() as s:
        with pytest.raises(ValidationError, match="kind"):
            I.add_segment(s, "seg.1", "coffee", T0)
        with pytest.raises(ValidationError, match="ended_at"):
            I.add_segment(s, "seg.1", "ivr", T0, ended_at=T0 - timedelta(seconds=1))
        with pytest.raises(NotFound):
            I.add_link(s, "nope", "recording", "x.wav")
        with pytest.raises(ValidationError, match="ref"):
            I.add_link(s, "seg.1", "recording", "bad\nref")
