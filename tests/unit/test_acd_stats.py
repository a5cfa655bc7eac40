"""AcdStats: KPI maths, interval and day rollover in a local time zone, snapshots."""
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from acd.model import Agent, AgentState, QueueConfig, WaitingCall
from acd.router import Router
from acd.stats import PRESENCES, AcdStats

QUEUES = {"sales": QueueConfig("sales", skills=("sales",), sl_seconds=20, sl_target=0.8),
          "support": QueueConfig("support", skills=("support",), sl_seconds=30)}
UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def ts(*args, tz=UTC) -> float:
    return datetime(*args, tzinfo=tz).timestamp()


T0 = ts(2024, 5, 6, 10, 0, 0)  # a Monday, 10:00 UTC: an interval boundary


def test_kpi_maths_on_a_hand_made_sequence():
    st = AcdStats(QUEUES)
    at = T0 + 60
    for _ in range(8):
        st.offered("sales", at)
    st.answered("sales", 5, at)
    st.answered("sales", 20, at)  # exactly T: within
    st.answered("sales", 35, at)
    st.abandoned("sales", 3, at)  # short abandon, before T: neutral
    st.abandoned("sales", 12, at)  # before T: neutral for SL, counts for abandon rate
    st.abandoned("sales", 40, at)  # after T: a miss
    st.overflowed("sales", "support", at)
    st.callback_requested("sales", at)
    st.handled("sales", 100, at)
    st.handled("sales", 200, at)
    k = st.kpis("sales")
    assert (k["offered"], k["answered"], k["answered_in_sl"]) == (8, 3, 2)
    assert (k["abandoned"], k["short_abandoned"], k["abandoned_after_sl"]) == (3, 1, 1)
    assert k["service_level"] == pytest.approx(2 / (3 + 1), abs=1e-4)
    assert k["abandon_rate"] == pytest.approx(2 / (3 + 2), abs=1e-4)
    assert k["asa"] == pytest.approx(60 / 3, abs=1e-3)
    assert k["max_answered_wait"] == 35
    assert k["avg_abandon_wait"] == pytest.approx(55 / 3, abs=1e-3)
    assert k["overflowed"] == 1 and k["overflow_to"] == {"support": 1}
    assert k["callbacks"] == 1
    assert k["handled"] == 2 and k["aht"] == 150
    assert k["sl_seconds"] == 20 and k["sl_target"] == 0.8
    assert st.aht("sales") == 150
    assert st.kpis("support")["overflowed_in"] == 1
    assert st.kpis("sales", "day") == k  # same numbers in the day so far


def test_empty_kpis_have_no_ratios_and_aht_prior_is_none():
    st = AcdStats(QUEUES)
    st.offered("sales", T0)
    k = st.kpis("sales")
    assert k["service_level"] is None and k["asa"] is None and k["aht"] is None
    assert k["abandon_rate"] is None and k["avg_abandon_wait"] is None
    assert st.aht("sales") is None and st.aht("nowhere") is None
    st.handled("sales", 90, T0)
    assert st.aht("sales") == 90


def test_sl_uses_each_queues_threshold_and_negative_waits_are_zero():
    st = AcdStats(QUEUES)
    st.answered("support", 25, T0)  # within support's 30 s, not sales' 20 s
    st.answered("sales", 25, T0)
    st.answered("sales", -3, T0)
    assert st.kpis("support")["service_level"] == 1.0
    assert st.kpis("sales")["service_level"] == 0.5
    assert st.kpis("sales")["asa"] == 12.5


def test_only_abandons_after_t_count_against_sl():
    st = AcdStats(QUEUES)
    st.abandoned("sales", 19, T0)
    assert st.kpis("sales")["service_level"] is None  # nothing answered or missed yet
    st.abandoned("sales", 21, T0)
    assert st.kpis("sales")["service_level"] == 0.0


def test_interval_rolls_over_at_the_boundary_day_keeps_counting():
    st = AcdStats(QUEUES, interval=1800)
    st.offered("sales", T0 + 10)
    st.offered("sales", T0 + 1799)
    assert st.kpis("sales")["offered"] == 2
    st.offered("sales", T0 + 1800)  # 10:30: a new interval
    assert st.kpis("sales")["offered"] == 1
    assert st.kpis("sales", "day")["offered"] == 3
    snap = st.snapshot(FakeRouter(), T0 + 1900)
    assert snap["interval"] == {"start": T0 + 1800, "end": T0 + 3600, "seconds": 1800}
    # a snapshot after the next boundary rolls over too, with no event
    snap = st.snapshot(FakeRouter(), T0 + 3600 * 2 + 5)
    assert snap["interval"]["start"] == T0 + 7200
    assert snap["queues"]["sales"]["interval"]["offered"] == 0
    assert snap["queues"]["sales"]["day"]["offered"] == 3


def test_a_late_event_counts_in_the_current_window():
    st = AcdStats(QUEUES)
    st.offered("sales", T0 + 1800)
    st.offered("sales", T0 + 1000)  # reported late: not a rollback
    assert st.kpis("sales")["offered"] == 2


def test_interval_and_day_are_aligned_to_local_time_and_roll_at_local_midnight():
    st = AcdStats(QUEUES, interval=1800, tz=BERLIN)
    before = ts(2024, 5, 6, 23, 50, tz=BERLIN)  # 21:50 UTC
    st.offered("sales", before)
    st.answered("sales", 10, before)
    snap = st.snapshot(FakeRouter(), before)
    assert snap["day"]["start"] == ts(2024, 5, 6, 0, 0, tz=BERLIN)
    assert snap["day"]["end"] == ts(2024, 5, 7, 0, 0, tz=BERLIN)
    assert snap["interval"]["start"] == ts(2024, 5, 6, 23, 30, tz=BERLIN)
    assert snap["tz"] == "Europe/Berlin"
    # 22:00 UTC is midnight in Berlin (UTC+2): both windows start afresh
    midnight = ts(2024, 5, 7, 0, 0, tz=BERLIN)
    assert midnight == ts(2024, 5, 6, 22, 0)
    st.offered("sales", midnight + 1)
    assert st.kpis("sales", "day")["offered"] == 1
    assert st.kpis("sales", "day")["answered"] == 0
    assert st.kpis("sales")["offered"] == 1
    snap = st.snapshot(FakeRouter(), midnight + 60)
    assert snap["day"]["start"] == midnight
    assert snap["interval"]["start"] == midnight
    # the running AHT survives the rollover; the day's does not
    st2 = AcdStats(QUEUES, tz=BERLIN)
    st2.handled("sales", 120, before)
    st2.offered("sales", midnight + 5)
    assert st2.aht("sales") == 120 and st2.kpis("sales", "day")["aht"] is None


def test_an_hour_offset_zone_with_half_hours():
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30: intervals follow the local clock
    st = AcdStats(QUEUES, interval=3600, tz=kolkata)
    at = ts(2024, 5, 6, 9, 45, tz=kolkata)
    snap = st.snapshot(FakeRouter(), at)
    assert snap["interval"]["start"] == ts(2024, 5, 6, 9, 0, tz=kolkata)


def test_dst_day_is_23_hours_and_intervals_stay_on_the_clock():
    st = AcdStats(QUEUES, interval=1800, tz=BERLIN)
    at = ts(2024, 3, 31, 4, 10, tz=BERLIN)  # clocks went 02:00 -> 03:00
    snap = st.snapshot(FakeRouter(), at)
    assert snap["day"]["end"] - snap["day"]["start"] == 23 * 3600
    assert snap["interval"]["start"] == ts(2024, 3, 31, 4, 0, tz=BERLIN)


def test_bad_interval_is_refused():
    with pytest.raises(ValueError):
        AcdStats(QUEUES, interval=0)


# -- snapshots ---------------------------------------------------------------


class FakeRouter:
    def __init__(self, agents=(), calls=(), staffed=None):
        self._agents, self._calls, self._staffed = list(agents), list(calls), staffed or {}

    def agents(self):
        return list(self._agents)

    def waiting(self, queue=None):
        return [c for c in self._calls if queue is None or c.queue == queue]

    def staffed(self, queue):
        return self._staffed.get(queue, 0)


def test_empty_snapshot_is_json_and_lists_every_queue():
    st = AcdStats(QUEUES)
    snap = st.snapshot(FakeRouter(), T0 + 5)
    json.dumps(snap)
    assert snap["at"] == T0 + 5
    assert snap["interval"] == {"start": T0, "end": T0 + 1800, "seconds": 1800}
    assert set(snap["queues"]) == {"sales", "support"}
    q = snap["queues"]["sales"]
    assert (q["waiting"], q["callbacks_waiting"], q["longest_wait"], q["staffed"], q["ready"]) \
        == (0, 0, 0.0, 0, 0)
    assert q["interval"]["offered"] == 0 and q["interval"]["service_level"] is None
    assert snap["agents"] == {"counts": dict.fromkeys(PRESENCES, 0), "list": []}
    assert "logged_out" not in snap["agents"]["counts"]
    assert "pending_logout" in snap["agents"]["counts"]


def test_snapshot_agents_by_presence_with_time_in_state_and_queues():
    now = T0 + 100
    agents = [
        Agent("carol", "1003", {"support": 5}, AgentState.ON_CALL, since=now - 42, call_id="c9",
              logout_pending=True),
        Agent("alice", "1001", {"sales": 8}, AgentState.READY, since=now - 30),
        Agent("bob", "1002", {"sales": 3, "support": 9}, AgentState.NOT_READY, since=now - 5,
              reason="break"),
        Agent("dave", "1004", {"sales": 5}, AgentState.LOGGED_OUT, since=now - 900),
        Agent("erin", "1005", {"sales": 5}, AgentState.WRAP_UP, since=now - 2),
    ]
    calls = [
        WaitingCall("c1", "sales", ("sales",), arrived_at=now - 50, queued_at=now - 50),
        WaitingCall("c2", "sales", ("sales",), arrived_at=now - 20, queued_at=now - 20,
                    offered_to="alice"),
        WaitingCall("c3", "sales", ("sales",), arrived_at=now - 90, queued_at=now - 90,
                    callback="+15551230001"),
    ]
    st = AcdStats(QUEUES)
    snap = st.snapshot(FakeRouter(agents, calls, {"sales": 2, "support": 1}), now)
    json.dumps(snap)
    counts = snap["agents"]["counts"]
    assert counts["ready"] == 1 and counts["not_ready"] == 1 and counts["wrap_up"] == 1
    assert counts["pending_logout"] == 1 and counts["on_call"] == 0
    assert sum(counts.values()) == 4
    rows = snap["agents"]["list"]
    assert [r["agent"] for r in rows] == ["alice", "bob", "carol", "erin"]
    carol = rows[2]
    assert carol == {"agent": "carol", "seat": "1003", "state": "on_call",
                     "presence": "pending_logout", "reason": "", "since": now - 42,
                     "in_state": 42.0, "call_id": "c9"}
    assert rows[1]["reason"] == "break" and rows[1]["in_state"] == 5.0
    sales = snap["queues"]["sales"]
    assert sales["waiting"] == 2 and sales["ringing"] == 1 and sales["callbacks_waiting"] == 1
    assert sales["longest_wait"] == 50.0  # the callback keeps its place but is not on the line
    assert sales["staffed"] == 2 and sales["ready"] == 1
    assert snap["queues"]["support"]["ready"] == 0


def test_snapshot_with_the_real_router():
    now = T0
    router = Router(QUEUES.values())
    st = AcdStats(QUEUES)
    router.login("alice", "1001", {"sales": 8}, now)
    router.login("bob", "1002", {"support": 6}, now)
    router.ready("bob", now + 1)
    router.enqueue(WaitingCall("L1", "sales", ("sales",), arrived_at=now + 2, queued_at=now + 2),
                   now + 2)
    st.offered("sales", now + 2)
    snap = st.snapshot(router, now + 12)
    json.dumps(snap)
    assert snap["queues"]["sales"]["waiting"] == 1
    assert snap["queues"]["sales"]["longest_wait"] == 10.0
    assert snap["queues"]["sales"]["staffed"] == 0  # alice is not ready (login)
    assert snap["queues"]["support"]["staffed"] == 1 and snap["queues"]["support"]["ready"] == 1
    assert snap["queues"]["sales"]["interval"]["offered"] == 1
    assert snap["agents"]["counts"]["not_ready"] == 1 and snap["agents"]["counts"]["ready"] == 1
    alice = snap["agents"]["list"][0]
    assert alice["reason"] == "login" and alice["in_state"] == 12.0
    router.ready("alice", now + 13)  # the call is offered to alice
    snap = st.snapshot(router, now + 14)
    assert snap["queues"]["sales"]["ringing"] == 1
    assert snap["agents"]["counts"]["reserved"] == 1
    assert snap["agents"]["list"][0]["call_id"] == "L1"
