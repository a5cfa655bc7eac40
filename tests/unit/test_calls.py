"""CallTracker: AMI channel events folded into one call per linkedid (no I/O)."""
from cti.calls import CallTracker
from cti.events import parse_event

T0 = 1_700_000_000.0


def ev(name, **headers):
    return parse_event({"Event": name, **headers})


def chan(name, uid, linked, ts, **extra):
    base = {"Channel": f"PJSIP/carrier-{uid}", "Uniqueid": uid, "Linkedid": linked,
            "Context": "from-carrier", "Exten": "8005550100", "CallerIDNum": "+15551230001",
            "CallerIDName": "Ada", "Timestamp": f"{ts:.6f}", "ChannelState": "4"}
    base.update(extra)
    return ev(name, **base)


class Recorder:
    def __init__(self):
        self.changes = []

    def __call__(self, call, what):
        self.changes.append((what, call))

    @property
    def whats(self):
        return [w for w, _ in self.changes]


def tracker(clock=lambda: T0 + 100):
    rec = Recorder()
    return CallTracker(rec, clock=clock), rec


def test_inbound_call_from_first_channel_to_hangup():
    t, rec = tracker()
    t.apply(chan("Newchannel", "1.1", "1.1", T0))
    t.apply(chan("Newstate", "1.1", "1.1", T0 + 1.5, ChannelState="6"))
    t.apply(chan("DTMFEnd", "1.1", "1.1", T0 + 3, Digit="4", Direction="Received"))
    t.apply(chan("DTMFEnd", "1.1", "1.1", T0 + 3.2, Digit="2", Direction="Sent"))
    t.apply(chan("Hangup", "1.1", "1.1", T0 + 9, Cause="16", **{"Cause-txt": "Normal Clearing"}))
    assert rec.whats == ["started", "answered", "key", "ended"]
    call = rec.changes[-1][1]
    assert (call.linkedid, call.caller_number, call.dialled_number) == ("1.1", "+15551230001", "8005550100")
    assert (call.started_at, call.answered_at, call.ended_at) == (T0, T0 + 1.5, T0 + 9)
    assert call.keys == "4"  # the digit the pbx sent is not the caller's
    assert (call.hangup_cause, call.hangup_cause_text, call.status) == (16, "Normal Clearing", "completed")
    assert t.calls == {}


def test_call_ends_with_its_last_channel_and_keeps_the_callers_cause():
    t, rec = tracker()
    t.apply(chan("Newchannel", "1.1", "1.1", T0))
    t.apply(chan("Newchannel", "1.2", "1.1", T0 + 2, Context="agents"))
    t.apply(chan("Hangup", "1.1", "1.1", T0 + 5, Cause="16"))
    assert rec.whats == ["started"]
    t.apply(chan("Hangup", "1.2", "1.1", T0 + 6, Cause="17"))
    call = rec.changes[-1][1]
    assert (rec.whats[-1], call.ended_at, call.hangup_cause) == ("ended", T0 + 6, 16)


def test_unanswered_call_is_recorded_without_answer_time():
    t, rec = tracker()
    t.apply(chan("Newchannel", "2.1", "2.1", T0))
    t.apply(chan("Hangup", "2.1", "2.1", T0 + 1, Cause="127"))
    call = rec.changes[-1][1]
    assert call.answered_at is None and call.status == "completed" and call.hangup_cause == 127


def test_channels_of_other_contexts_and_unknown_events_are_ignored():
    t, rec = tracker()
    t.apply(chan("Newchannel", "3.1", "3.1", T0, Context="from-phones"))
    t.apply(chan("Hangup", "3.1", "3.1", T0 + 1))
    t.apply(ev("FullyBooted", Status="Fully Booted"))
    assert rec.changes == [] and t.calls == {}


def test_missing_timestamp_falls_back_to_the_clock():
    t, rec = tracker(clock=lambda: 42.0)
    t.apply(ev("Newchannel", Uniqueid="4.1", Linkedid="4.1", Context="from-carrier", Exten="1"))
    assert rec.changes[0][1].started_at == 42.0


def test_resync_closes_calls_asterisk_no_longer_has_and_adopts_new_ones():
    t, rec = tracker(clock=lambda: T0 + 100)
    t.apply(chan("Newchannel", "5.1", "5.1", T0))
    t.apply(chan("Newchannel", "6.1", "6.1", T0 + 1))
    live = [ev("CoreShowChannel", Uniqueid="6.1", Linkedid="6.1", Context="from-carrier",
               Exten="8005550100", CallerIDNum="+1555", Duration="00:01:39"),
            ev("CoreShowChannel", Uniqueid="7.1", Linkedid="7.1", Context="from-carrier",
               Exten="8005550101", CallerIDNum="+1666", Duration="00:00:30")]
    lost = t.resync(live)
    assert lost == {"5.1"}
    closed = [c for w, c in rec.changes if w == "lost"][0]
    assert closed.linkedid == "5.1" and closed.status == "lost" and closed.ended_at == T0 + 100
    adopted = [c for w, c in rec.changes if w == "started" and c.linkedid == "7.1"][0]
    assert adopted.started_at == T0 + 70 and adopted.dialled_number == "8005550101"
    assert set(t.calls) == {"6.1", "7.1"}
    t.apply(chan("Hangup", "7.1", "7.1", T0 + 120))
    assert rec.whats[-1] == "ended" and set(t.calls) == {"6.1"}


def test_snapshots_are_copies():
    t, rec = tracker()
    t.apply(chan("Newchannel", "8.1", "8.1", T0))
    t.apply(chan("DTMFEnd", "8.1", "8.1", T0 + 1, Digit="1", Direction="Received"))
    assert rec.changes[0][1].keys == "" and rec.changes[1][1].keys == "1"


def test_asterisks_unknown_caller_name_is_kept_empty():
    t, rec = tracker()
    t.apply(chan("Newchannel", "9.1", "9.1", T0, CallerIDName="<unknown>"))
    assert rec.changes[0][1].caller_name == ""
