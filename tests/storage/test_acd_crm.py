"""What the ACD asks the CRM, on both databases: caller context (VIP, last agent,
open tickets), agent profiles, and virtual-hold callbacks."""
from datetime import datetime, timedelta, timezone

import pytest

from acd import crm as A
from crm_core import agent_skills, callbacks, customers, dnc, interactions as I, tickets, users
from crm_core.errors import NotFound, ValidationError
from crm_core.models import Callback

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"
ADA, OFFICE = "+15551230001", "+442079460958"


@pytest.fixture
def world(sessions):
    with sessions.begin() as s:
        alice = users.create_user(s, "alice", PASSWORD, "agent").id
        bob = users.create_user(s, "bob", PASSWORD, "agent").id
        agent_skills.set_skills(s, "alice", {"sales": 8, "support": 5})
        make = lambda data, **kw: customers.create_customer(s, data, **kw).customer  # noqa
        ada = make({"name": "Ada", "level": "vip", "phones": [ADA]}).id
        alan = make({"name": "Alan", "phones": ["+15551230002", OFFICE]}).id
        joan = make({"name": "Joan", "phones": [OFFICE]}, allow_duplicate=True).id
        tickets.create_ticket(s, alan, "rotor", now=NOW)
        tickets.create_ticket(s, alan, "wiring", now=NOW)
        closed = tickets.create_ticket(s, alan, "old", now=NOW)
        tickets.update_ticket(s, closed.id, {"status": "closed"}, expected_version=1)
    return {"alice": alice, "bob": bob, "ada": ada, "alan": alan, "joan": joan}


def call(sessions, linkedid, customer_id, started, agents=()):
    """A call of the customer with 'agent' segments (agent_id, minutes after start)."""
    with sessions.begin() as s:
        I.save_call(s, I.CallFacts(linkedid=linkedid, direction="inbound", started_at=started),
                    customer_id=customer_id)
        for agent_id, minutes in agents:
            I.add_segment(s, linkedid, "agent", started + timedelta(minutes=minutes),
                          agent_id=agent_id)


def test_context_of_a_known_vip_and_of_nobody(sessions, world):
    ctx = A.caller_context(sessions, customer_id=world["ada"], caller_e164=None)
    assert ctx == A.CallerContext(customer_id=world["ada"], vip=True, last_agent=None,
                                  open_tickets=0)
    assert A.caller_context(sessions, customer_id=world["ada"], caller_e164=None,
                            vip_levels=("gold",)).vip is False
    assert A.caller_context(sessions, customer_id=None, caller_e164=None) == A.CallerContext()
    assert A.caller_context(sessions, customer_id=999999, caller_e164=None) == A.CallerContext()


def test_context_by_phone_only_when_one_customer_matches(sessions, world):
    assert A.caller_context(sessions, customer_id=None, caller_e164=ADA).customer_id == world["ada"]
    assert A.caller_context(sessions, customer_id=0, caller_e164=ADA).customer_id == world["ada"]
    assert A.caller_context(sessions, customer_id=None, caller_e164=OFFICE) == A.CallerContext()
    assert A.caller_context(sessions, customer_id=None, caller_e164="+19999999999") \
        == A.CallerContext()
    assert A.caller_context(sessions, customer_id=None, caller_e164="anonymous") \
        == A.CallerContext()


def test_open_tickets_are_counted(sessions, world):
    ctx = A.caller_context(sessions, customer_id=world["alan"], caller_e164=None)
    assert ctx.open_tickets == 2 and ctx.vip is False


def test_last_agent_is_the_latest_agent_segment_over_all_calls(sessions, world):
    call(sessions, "1.1", world["alan"], NOW - timedelta(days=2), [(world["alice"], 1)])
    call(sessions, "1.2", world["alan"], NOW - timedelta(days=1),
         [(world["alice"], 1), (world["bob"], 5)])  # transferred to bob
    call(sessions, "1.3", world["joan"], NOW, [(world["alice"], 1)])  # someone else's call
    ctx = A.caller_context(sessions, customer_id=world["alan"], caller_e164=None)
    assert ctx.last_agent == "bob"
    with sessions() as s:
        assert I.by_linkedid(s, "1.2").agent_id == world["bob"]
        assert I.by_linkedid(s, "1.1").agent_id == world["alice"]


def test_an_older_agent_segment_written_late_does_not_replace_the_last_agent(sessions, world):
    started = NOW - timedelta(hours=1)
    call(sessions, "2.1", world["ada"], started, [(world["bob"], 5)])
    with sessions.begin() as s:
        I.add_segment(s, "2.1", "agent", started + timedelta(minutes=1), agent_id=world["alice"])
        I.add_segment(s, "2.1", "queue", started, detail={"queue": "sales"})
        I.add_segment(s, "2.1", "agent", started + timedelta(minutes=2))  # no agent id
    with sessions() as s:
        assert I.by_linkedid(s, "2.1").agent_id == world["bob"]
    assert A.caller_context(sessions, customer_id=world["ada"],
                            caller_e164=None).last_agent == "bob"


def test_a_deactivated_last_agent_is_not_offered(sessions, world):
    call(sessions, "3.1", world["ada"], NOW - timedelta(days=3), [(world["alice"], 1)])
    call(sessions, "3.2", world["ada"], NOW - timedelta(days=1), [(world["bob"], 1)])
    with sessions.begin() as s:
        users.deactivate_user(s, world["bob"])
    assert A.caller_context(sessions, customer_id=world["ada"],
                            caller_e164=None).last_agent == "alice"


def test_agent_profile(sessions, world):
    assert A.agent_profile(sessions, "alice") == (world["alice"], {"sales": 8, "support": 5})
    assert A.agent_profile(sessions, "bob") == (world["bob"], {})
    with pytest.raises(NotFound):
        A.agent_profile(sessions, "nobody")
    with sessions.begin() as s:
        users.deactivate_user(s, world["bob"])
    with pytest.raises(NotFound):
        A.agent_profile(sessions, "bob")


def test_virtual_hold_is_saved_pending_due_now_linked_to_the_call(sessions, world):
    call(sessions, "4.1", world["ada"], NOW - timedelta(minutes=2))
    cid = A.save_virtual_hold(sessions, phone_e164=ADA, queue="support",
                              customer_id=world["ada"], linkedid="4.1", now=NOW)
    with sessions() as s:
        cb = s.get(Callback, cid)
        interaction = I.by_linkedid(s, "4.1")
        assert (cb.state, cb.queue, cb.agent_id, cb.phone_e164) == ("pending", "support", None, ADA)
        assert cb.due_at == NOW and cb.customer_id == world["ada"]
        assert cb.interaction_id == interaction.id
        assert "waiting in queue support" in cb.note
    due = A.due_callbacks(sessions, NOW.timestamp())
    assert [d.id for d in due] == [cid]
    assert due[0].due_at == NOW.timestamp() and due[0].queue == "support" and due[0].agent is None
    assert A.due_callbacks(sessions, NOW, exclude={cid}) == []


def test_virtual_hold_without_call_row_or_customer(sessions, world):
    cid = A.save_virtual_hold(sessions, phone_e164="+15557654321", queue="sales",
                              customer_id=None, linkedid="not.there", now=NOW.timestamp())
    gone = A.save_virtual_hold(sessions, phone_e164="+15557654321", queue="sales",
                               customer_id=987654, linkedid=None, now=NOW)
    with sessions() as s:
        assert s.get(Callback, cid).interaction_id is None
        assert s.get(Callback, gone).customer_id is None


def test_virtual_hold_refused_changes_nothing(sessions, world):
    with sessions.begin() as s:
        dnc.add(s, "+15557654321")
    for phone in ("+15557654321", "anonymous", ""):
        with pytest.raises(ValidationError):
            A.save_virtual_hold(sessions, phone_e164=phone, queue="sales", customer_id=None,
                                linkedid=None, now=NOW)
    with pytest.raises(ValidationError):
        A.save_virtual_hold(sessions, phone_e164=ADA, queue="x" * 65, customer_id=None,
                            linkedid=None, now=NOW)
    with sessions() as s:
        assert s.query(Callback).count() == 0


def test_mark_callback_moves_states_and_adds_notes(sessions, world):
    cid = A.save_virtual_hold(sessions, phone_e164=ADA, queue="support", customer_id=None,
                              linkedid=None, now=NOW)
    A.mark_callback(sessions, cid, "in_progress", "placed to alice")
    A.mark_callback(sessions, cid, "pending", "no answer")  # a retry counts an attempt
    A.mark_callback(sessions, cid, "in_progress", "")
    A.mark_callback(sessions, cid, "done", "talked to the customer")
    with sessions() as s:
        cb = s.get(Callback, cid)
        assert cb.state == "done" and cb.attempts == 1
        assert cb.note.splitlines()[1:] == ["placed to alice", "no answer",
                                            "talked to the customer"]
    with pytest.raises(ValidationError):
        A.mark_callback(sessions, cid, "pending", "")  # done is final
    with pytest.raises(NotFound):
        A.mark_callback(sessions, 999999, "in_progress", "")
    with pytest.raises(ValidationError):
        A.mark_callback(sessions, cid, "done", "bad\x00note")


def test_a_callback_claimed_by_another_process_is_a_conflict(sessions, world):
    cid = A.save_virtual_hold(sessions, phone_e164=ADA, queue="support", customer_id=None,
                              linkedid=None, now=NOW)
    A.mark_callback(sessions, cid, "in_progress")
    with pytest.raises(ValidationError):  # already taken: not pending any more
        A.mark_callback(sessions, cid, "in_progress")


def test_due_callbacks_for_agents_with_their_username(sessions, world):
    with sessions.begin() as s:
        later = callbacks.schedule_callback(s, phone=ADA, due=NOW + timedelta(hours=1),
                                            agent_id=world["alice"], now=NOW).id
        soon = callbacks.schedule_callback(s, phone="+15551230002", due=NOW + timedelta(minutes=5),
                                           agent_id=world["alice"], customer_id=world["alan"],
                                           note="about the rotor", now=NOW).id
    assert A.due_callbacks(sessions, NOW) == []
    due = A.due_callbacks(sessions, NOW + timedelta(hours=2), limit=10)
    assert [d.id for d in due] == [soon, later]
    assert due[0] == A.DueCallback(id=soon, phone_e164="+15551230002", queue="", agent="alice",
                                   agent_id=world["alice"], customer_id=world["alan"],
                                   due_at=(NOW + timedelta(minutes=5)).timestamp(), attempts=0,
                                   note="about the rotor", interaction_id=None)
    assert [d.id for d in A.due_callbacks(sessions, NOW + timedelta(hours=2), limit=1)] == [soon]
    assert [d.id for d in A.due_callbacks(sessions, NOW + timedelta(hours=2), limit=1,
                                          exclude=[soon])] == [later]
    with pytest.raises(ValidationError):
        A.due_callbacks(sessions, NOW, limit=0)
    with pytest.raises(ValueError):
        A.due_callbacks(sessions, datetime(2026, 1, 1))  # naive
