"""Callbacks on both databases: local times to UTC, refusals, the due list, states."""
from datetime import datetime, timedelta, timezone

import threading
import time

import pytest

from crm_core import audit, callbacks as C, dnc
from crm_core.errors import Conflict, NotFound, ValidationError
from crm_core.models import Callback, Customer, Interaction, User

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
PHONE = "+15551230001"


@pytest.fixture
def ids(sessions):
    with sessions.begin() as s:
        agent = User(username="agent1", password_hash="x", role="agent")
        gone = User(username="gone", password_hash="x", role="agent", active=False)
        berlin = Customer(name="Klara", timezone="Europe/Berlin")
        call = Interaction(direction="inbound", started_at=NOW)
        s.add_all([agent, gone, berlin, call])
        s.flush()
        return {"agent": agent.id, "gone": gone.id, "berlin": berlin.id, "call": call.id}


def schedule(sessions, **kw) -> dict:
    with sessions.begin() as s:
        kw.setdefault("phone", PHONE)
        kw.setdefault("queue", "sales" if "agent_id" not in kw else "")
        return C.callback_as_dict(C.schedule_callback(s, now=NOW, **kw))


def refused(sessions, **kw) -> dict:
    with pytest.raises(ValidationError) as err:
        schedule(sessions, **kw)
    with sessions() as s:
        assert s.query(Callback).count() == 0
    return err.value.errors


@pytest.mark.parametrize("wall, zone, utc", [
    (datetime(2026, 3, 10, 9, 0), "Asia/Shanghai", datetime(2026, 3, 10, 1, 0)),
    (datetime(2026, 3, 7, 9, 0), "America/New_York", datetime(2026, 3, 7, 14, 0)),   # EST
    (datetime(2026, 3, 9, 9, 0), "America/New_York", datetime(2026, 3, 9, 13, 0)),   # EDT
    (datetime(2026, 1, 20, 9, 0), "Europe/Berlin", datetime(2026, 1, 20, 8, 0)),     # CET
    (datetime(2026, 7, 20, 9, 0), "Europe/Berlin", datetime(2026, 7, 20, 7, 0)),     # CEST
    # ambiguous (clocks go back): the first occurrence, the earlier instant
    (datetime(2026, 11, 1, 1, 30), "America/New_York", datetime(2026, 11, 1, 5, 30)),
    (datetime(2026, 10, 25, 2, 30), "Europe/Berlin", datetime(2026, 10, 25, 0, 30)),
])
def test_local_wall_clock_time_is_stored_in_utc(sessions, wall, zone, utc):
    out = schedule(sessions, due=wall, timezone=zone)
    assert out["due_at"] == utc.replace(tzinfo=timezone.utc).isoformat()
    assert out["timezone"] == zone
    assert datetime.fromisoformat(out["due_local"]).replace(tzinfo=None) == wall
    with sessions() as s:
        assert s.get(Callback, out["id"]).due_at == utc.replace(tzinfo=timezone.utc)


def test_the_customers_time_zone_is_the_default_and_aware_times_are_kept(sessions, ids):
    out = schedule(sessions, due=datetime(2026, 2, 1, 9, 0), customer_id=ids["berlin"])
    assert (out["due_at"], out["timezone"]) == ("2026-02-01T08:00:00+00:00", "Europe/Berlin")
    assert out["due_local"] == "2026-02-01T09:00:00+01:00"
    assert schedule(sessions, due=datetime(2026, 2, 1, 9, 0))["timezone"] == "UTC"
    aware = datetime(2026, 2, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    out = schedule(sessions, due=aware, timezone="Asia/Shanghai")
    assert (out["due_at"], out["due_local"]) == ("2026-02-01T01:00:00+00:00",
                                                 "2026-02-01T09:00:00+08:00")


@pytest.mark.parametrize("wall, zone", [(datetime(2026, 3, 8, 2, 30), "America/New_York"),
                                        (datetime(2026, 3, 29, 2, 30), "Europe/Berlin")])
def test_a_local_time_the_clocks_skip_is_refused(sessions, wall, zone):
    assert "due" in refused(sessions, due=wall, timezone=zone)


def test_past_times_are_refused_with_a_minute_of_grace(sessions):
    assert "due" in refused(sessions, due=NOW - timedelta(minutes=2))
    assert schedule(sessions, due=NOW - timedelta(seconds=30))["state"] == "pending"


def test_a_number_on_the_dnc_list_is_refused(sessions):
    with sessions.begin() as s:
        dnc.add(s, "(555) 123-0001")
    assert refused(sessions, due=NOW + timedelta(hours=1)) == {"phone": "on the do-not-call list"}
    assert "phone" in refused(sessions, due=NOW + timedelta(hours=1), phone="call me")


def test_exactly_one_known_target_and_known_links(sessions, ids):
    later = NOW + timedelta(hours=1)
    assert "target" in refused(sessions, due=later, queue="")
    assert "target" in refused(sessions, due=later, agent_id=ids["agent"], queue="sales")
    assert "agent_id" in refused(sessions, due=later, agent_id=999)
    assert "agent_id" in refused(sessions, due=later, agent_id=ids["gone"])
    errors = refused(sessions, due=later, customer_id=999, interaction_id=999, timezone="Mars/Base")
    assert {"customer_id", "interaction_id", "timezone"} <= set(errors)
    out = schedule(sessions, due=later, agent_id=ids["agent"], interaction_id=ids["call"],
                   note="Ask for Klara.\nAfter lunch.")
    assert (out["agent_id"], out["queue"], out["note"]) == (ids["agent"], "",
                                                            "Ask for Klara.\nAfter lunch.")
    with sessions() as s:
        assert [e.action for e in audit.history(s, "callback", out["id"])] == ["create"]


def test_due_callbacks_oldest_first_and_pending_only(sessions, ids):
    made = [schedule(sessions, due=NOW + timedelta(minutes=m), customer_id=ids["berlin"])["id"]
            for m in (30, 10, 20, 90)]
    with sessions.begin() as s:
        C.set_state(s, made[2], "cancelled")
    with sessions() as s:
        assert C.due_callbacks(s, now=NOW) == []
        assert [c.id for c in C.due_callbacks(s, now=NOW + timedelta(minutes=30))] == [
            made[1], made[0]]
        assert [c.id for c in C.due_callbacks(s, now=NOW + timedelta(hours=2), limit=2)] == [
            made[1], made[0]]
        assert [c.id for c in C.pending_for_customer(s, ids["berlin"])] == [
            made[1], made[0], made[3]]


def test_the_state_machine(sessions):
    cid = schedule(sessions, due=NOW + timedelta(hours=1))["id"]
    with sessions.begin() as s:
        C.set_state(s, cid, "in_progress")
        retried = C.set_state(s, cid, "pending")
        assert (retried.state, retried.attempts) == ("pending", 1)
        C.set_state(s, cid, "in_progress")
        assert C.set_state(s, cid, "done").state == "done"
    with sessions.begin() as s:
        for state in ("pending", "in_progress", "cancelled", "asleep"):
            with pytest.raises(ValidationError) as err:
                C.set_state(s, cid, state)
            assert list(err.value.errors) == ["state"]
        with pytest.raises(NotFound):
            C.set_state(s, 999, "done")
    with sessions() as s:
        changes = [e.changes["state"] for e in audit.history(s, "callback", cid)[1:]]
        assert changes == [["pending", "in_progress"], ["in_progress", "pending"],
                           ["pending", "in_progress"], ["in_progress", "done"]]


def test_two_dialers_cannot_both_start_one_callback(sessions):
    """The second dialer read 'pending' before the first committed: its
    compare-and-set waits for the first and then finds nothing to change."""
    cid = schedule(sessions, due=NOW)["id"]
    started = threading.Event()

    def first_dialer():
        with sessions.begin() as s:
            C.set_state(s, cid, "in_progress")
            started.set()
            time.sleep(0.5)  # hold the row while the second dialer tries

    worker = threading.Thread(target=first_dialer)
    worker.start()
    try:
        assert started.wait(10)
        with sessions.begin() as s:
            with pytest.raises(Conflict):
                C.set_state(s, cid, "in_progress")
    finally:
        worker.join()
    with sessions() as s:
        assert [e.changes["state"] for e in audit.history(s, "callback", cid)[1:]] == [
            ["pending", "in_progress"]]
