"""What the ACD adapter reads from Asterisk, checked before it reaches the router."""
from __future__ import annotations

import pytest

from acd.adapter_calls import CallBook, LiveCall
from acd.adapter_parse import (BadEvent, callback_number, caller_display, check_seat,
                               dial_outcome, dialled_number, duration_seconds, file_id,
                               originate_failure_reason, parse_enqueue, parse_key, ring_timeout)
from acd.announce import announcement
from acd.model import QueueConfig
from cti.events import parse_event

QUEUES = {"sales": QueueConfig("sales", skills=("sales",)),
          "support": QueueConfig("support", skills=("support",), ring_timeout=12.5)}


def enqueue_event(**headers):
    base = {"Event": "UserEvent", "UserEvent": "AcdEnqueue", "Channel": "PJSIP/carrier-00000001",
            "Uniqueid": "pbx-1712.4", "Linkedid": "pbx-1712.3", "CallerIDNum": "+15551230001",
            "Timestamp": "1712000000.25", "Queue": "support", "Skills": "support+vip",
            "CallPriority": "50", "Customer": "42"}
    base.update(headers)
    return parse_event({k: v for k, v in base.items() if v is not None})


def test_a_good_enqueue():
    req = parse_enqueue(enqueue_event(), QUEUES, "sales")
    assert (req.call_id, req.channel, req.uniqueid) == ("pbx-1712.3", "PJSIP/carrier-00000001",
                                                         "pbx-1712.4")
    assert (req.queue, req.skills, req.priority, req.customer_id) == \
        ("support", ("support", "vip"), 50, 42)
    assert (req.caller, req.at, req.problems) == ("+15551230001", 1712000000.25, ())


def test_the_queues_own_skills_always_apply():
    req = parse_enqueue(enqueue_event(Skills="english"), QUEUES, "sales")
    assert req.skills == ("support", "english")
    assert parse_enqueue(enqueue_event(Skills=""), QUEUES, "sales").skills == ("support",)


@pytest.mark.parametrize("headers, field, value, problem", [
    ({"Queue": "nope"}, "queue", "sales", "unknown queue 'nope'"),
    ({"Queue": ""}, "queue", "sales", "unknown queue ''"),
    ({"Queue": "sales\r\nAction: Originate"}, "queue", "sales", "unknown queue"),
    ({"Skills": "support+bad skill"}, "skills", ("support",), "bad skill list"),
    ({"Skills": "+".join(f"s{i}" for i in range(40))}, "skills", ("support",), "bad skill list"),
    ({"CallPriority": "high"}, "priority", 0, "bad priority"),
    ({"CallPriority": "1001"}, "priority", 0, "bad priority"),
    ({"CallPriority": "-1"}, "priority", 0, "bad priority"),
    ({"CallPriority": "٣"}, "priority", 0, "bad priority"),  # a digit, but not ASCII
    ({"Customer": "-5"}, "customer_id", None, "bad customer id"),
    ({"Customer": "12abc"}, "customer_id", None, "bad customer id"),
])
def test_bad_values_are_replaced_and_named(headers, field, value, problem):
    req = parse_enqueue(enqueue_event(**headers), QUEUES, "sales")
    assert getattr(req, field) == value
    assert any(problem in p for p in req.problems), req.problems


def test_absent_values_are_defaults_not_problems():
    req = parse_enqueue(enqueue_event(CallPriority=None, Customer="0", Skills=None), QUEUES, "sales")
    assert (req.priority, req.customer_id, req.skills, req.problems) == (0, None, ("support",), ())


def test_a_header_sent_twice_takes_the_last():
    # A body header named like a snapshot header arrives as a list from panoramisk.
    req = parse_enqueue(enqueue_event(Queue=["sales", "support"]), QUEUES, "sales")
    assert req.queue == "support"


@pytest.mark.parametrize("headers", [{"Channel": None}, {"Uniqueid": None},
                                     {"Channel": "PJSIP/x\nAction: Hangup"},
                                     {"Uniqueid": "a b"}])
def test_an_event_without_a_usable_channel_is_refused(headers):
    with pytest.raises(BadEvent, match="without a usable channel"):
        parse_enqueue(enqueue_event(**headers), QUEUES, "sales")


def test_keys():
    event = enqueue_event(UserEvent="AcdKey", Key="1")
    assert parse_key(event) == ("pbx-1712.3", "pbx-1712.4", "1")
    for bad in ("", "12", "A", "x"):
        with pytest.raises(BadEvent):
            parse_key(enqueue_event(UserEvent="AcdKey", Key=bad))


def test_seats():
    assert check_seat("1001") == "1001" and check_seat("desk_7-b") == "desk_7-b"
    for bad in ("1", "10/01", "1001&PJSIP/1002", "a" * 41, None, "1001\n"):
        with pytest.raises(ValueError):
            check_seat(bad)


@pytest.mark.parametrize("status, outcome", [
    ("ANSWER", ("answered", "")), ("CANCEL", ("abandoned", "")),
    ("NOANSWER", ("failed", "ring-no-answer")), ("BUSY", ("failed", "phone-unavailable")),
    ("CHANUNAVAIL", ("failed", "phone-unavailable")),
    ("CONGESTION", ("failed", "phone-unavailable")), ("TORTURE", ("failed", "phone-unavailable")),
    (None, ("failed", "phone-unavailable")), ("answer", ("answered", ""))])
def test_dial_outcomes(status, outcome):
    assert dial_outcome(status) == outcome


def test_originate_failures():
    assert originate_failure_reason(3) == "ring-no-answer"
    assert {originate_failure_reason(r) for r in (0, 1, 5, 8, None)} == {"phone-unavailable"}


def test_callback_numbers():
    assert callback_number("+15551230001", "US") == "+15551230001"
    assert callback_number("(555) 123-0001", "US") == "+15551230001"
    for bad in ("", "anonymous", "<unknown>", "Restricted", "12", "call me"):
        assert callback_number(bad, "US") is None


def test_display_values():
    assert caller_display("<unknown>") == "" and caller_display("+1555") == "+1555"
    assert caller_display("x" * 80) == "x" * 40 and caller_display("a\x00b") == ""
    assert dialled_number("8005550100") == "8005550100" and dialled_number("s") == ""
    assert dialled_number(None) == ""


def test_channel_ages_and_timeouts():
    assert duration_seconds("01:02:03") == 3723.0
    assert duration_seconds("") == 0.0 and duration_seconds("1:2") == 0.0
    assert ring_timeout(QUEUES["support"]) == 13 and ring_timeout(QueueConfig("q", ring_timeout=0.2)) == 1


def test_file_ids():
    assert file_id("pbx-1712.3") == "pbx-1712.3"
    assert file_id("../etc") is None and file_id("") is None


def test_the_announcement():
    assert announcement(1, None) == [("sound", "queue-youarenext"), ("sound", "queue-thankyou")]
    assert announcement(3, None) == [("sound", "queue-thereare"), ("number", 3),
                                     ("sound", "queue-callswaiting"), ("sound", "queue-thankyou")]
    assert announcement(2, 30.0)[3:] == [("sound", "queue-holdtime"), ("sound", "queue-less-than"),
                                         ("number", 1), ("sound", "queue-minute"),
                                         ("sound", "queue-thankyou")]
    assert announcement(4, 150.0)[3:6] == [("sound", "queue-holdtime"), ("number", 3),
                                           ("sound", "queue-minutes")]


def test_the_call_book_follows_both_legs():
    book = CallBook()
    live = LiveCall(call_id="c1", channel="PJSIP/carrier-1", uniqueid="u1", queue="sales",
                    caller="", customer_id=None, arrived_at=1.0, stay_started=1.0)
    book.add(live)
    book.set_agent_leg(live, "u2")
    assert book.by_caller("u1") is live and book.by_agent_leg("u2") is live
    book.set_agent_leg(live, "u3")
    assert book.by_agent_leg("u2") is None and book.by_agent_leg("u3") is live
    book.caller_left(live)
    assert book.by_caller("u1") is None and book.get("c1") is live
    book.remove(live)
    assert len(book) == 0 and book.by_agent_leg("u3") is None
