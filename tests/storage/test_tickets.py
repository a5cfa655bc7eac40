"""Tickets on both databases: SLA clock, status rules, optimistic edits, escalation."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from crm_core import audit, tickets as T
from crm_core.errors import Conflict, NotFound, ValidationError
from crm_core.models import Customer, Interaction, Ticket, TicketInteraction, User

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def ids(sessions):
    """A customer, an agent and an interaction to hang tickets on."""
    with sessions.begin() as s:
        customer = Customer(name="Ada Lovelace")
        agent = User(username="agent1", password_hash="x", role="agent")
        call = Interaction(direction="inbound", started_at=T0, linkedid="1.1")
        s.add_all([customer, agent, call])
        s.flush()
        return {"customer": customer.id, "agent": agent.id, "call": call.id}


def new_ticket(sessions, ids, **kw) -> int:
    with sessions.begin() as s:
        return T.create_ticket(s, ids["customer"], kw.pop("subject", "Router broken"),
                               now=kw.pop("now", T0), **kw).id


def update(sessions, ticket_id, changes, now=T0):
    with sessions.begin() as s:
        version = T.get_ticket(s, ticket_id).version
        return T.ticket_as_dict(T.update_ticket(s, ticket_id, changes, expected_version=version,
                                                now=now))


@pytest.mark.parametrize("priority, hours", sorted(T.SLA_HOURS.items()))
def test_sla_due_defaults_per_priority(sessions, ids, priority, hours):
    tid = new_ticket(sessions, ids, priority=priority)
    with sessions() as s:
        t = T.get_ticket(s, tid)
        assert (t.status, t.sla_due_at, t.created_at) == ("new", T0 + timedelta(hours=hours), T0)
        assert [e.action for e in audit.history(s, "ticket", tid)] == ["create"]


def test_an_explicit_sla_due_wins_and_bad_input_writes_nothing(sessions, ids):
    due = T0 + timedelta(hours=1)
    assert T.ticket_as_dict(_get(sessions, new_ticket(sessions, ids, sla_due_at=due)))[
        "sla_due_at"] == due.isoformat()
    with sessions.begin() as s:
        with pytest.raises(ValidationError) as err:
            T.create_ticket(s, 999, "", priority="asap", assignee_id=12345,
                            sla_due_at=datetime(2026, 1, 1))
        assert set(err.value.errors) == {"customer_id", "subject", "priority", "assignee_id",
                                         "sla_due_at"}
    with sessions() as s:
        assert len(s.scalars(select(Ticket)).all()) == 1


def _get(sessions, tid):
    with sessions() as s:
        return T.get_ticket(s, tid)


@pytest.mark.parametrize("path", [["open", "pending", "open", "resolved", "closed"],
                                  ["closed"], ["pending", "resolved"], ["resolved", "open"]])
def test_allowed_transitions(sessions, ids, path):
    tid = new_ticket(sessions, ids)
    for status in path:
        assert update(sessions, tid, {"status": status})["status"] == status


@pytest.mark.parametrize("path, refused", [(["open"], "new"), (["closed"], "resolved"),
                                           (["closed"], "pending"), (["resolved"], "pending"),
                                           ([], "archived")])
def test_refused_transitions(sessions, ids, path, refused):
    tid = new_ticket(sessions, ids)
    for status in path:
        update(sessions, tid, {"status": status})
    with pytest.raises(ValidationError) as err:
        update(sessions, tid, {"status": refused, "subject": "changed"})
    assert list(err.value.errors) == ["status"]
    assert _get(sessions, tid).subject == "Router broken"


def test_closing_sets_closed_at_and_reopening_restarts_the_sla(sessions, ids):
    tid = new_ticket(sessions, ids, priority="high")
    later, much_later = T0 + timedelta(days=1), T0 + timedelta(days=3)
    closed = update(sessions, tid, {"status": "resolved"}, now=later)
    assert closed["closed_at"] == later.isoformat()
    assert update(sessions, tid, {"status": "closed"}, now=later + timedelta(hours=1))[
        "closed_at"] == later.isoformat()  # still when it stopped being open
    reopened = update(sessions, tid, {"status": "open"}, now=much_later)
    assert reopened["closed_at"] is None
    assert reopened["sla_due_at"] == (much_later + timedelta(hours=8)).isoformat()
    with sessions() as s:
        changes = [e.changes for e in audit.history(s, "ticket", tid)]
        assert changes[-1]["status"] == ["closed", "open"]
        assert changes[-1]["closed_at"] == [later.isoformat(), None]


def test_editable_fields_and_unknown_ones(sessions, ids):
    tid = new_ticket(sessions, ids)
    out = update(sessions, tid, {"subject": "Router still broken", "priority": "urgent",
                                 "category": "hardware", "assignee_id": ids["agent"],
                                 "description": "Line 1\nLine 2"})
    assert (out["priority"], out["assignee_id"], out["description"]) == (
        "urgent", ids["agent"], "Line 1\nLine 2")
    assert out["version"] == 2
    with pytest.raises(ValidationError) as err:
        update(sessions, tid, {"customer_id": 5, "assignee_id": 999})
    assert set(err.value.errors) == {"customer_id", "assignee_id"}
    with sessions.begin() as s:
        with pytest.raises(NotFound):
            T.update_ticket(s, 999, {}, expected_version=1)


def test_a_stale_version_is_a_conflict(sessions, ids):
    tid = new_ticket(sessions, ids)
    update(sessions, tid, {"subject": "v2"})
    with sessions.begin() as s:
        with pytest.raises(Conflict):
            T.update_ticket(s, tid, {"subject": "from an old form"}, expected_version=1)
    assert _get(sessions, tid).subject == "v2"


def test_concurrent_edits_in_two_sessions_give_one_conflict(sessions, ids):
    tid = new_ticket(sessions, ids)
    first, second = sessions(), sessions()
    try:
        assert T.get_ticket(first, tid).version == T.get_ticket(second, tid).version == 1
        T.update_ticket(first, tid, {"subject": "first"}, expected_version=1)
        first.commit()
        with pytest.raises(Conflict):
            T.update_ticket(second, tid, {"subject": "second"}, expected_version=1)
        second.rollback()
    finally:
        first.close()
        second.close()
    t = _get(sessions, tid)
    assert (t.subject, t.version) == ("first", 2)


def test_escalation_bumps_priority_once_per_sla_period(sessions, ids):
    late = new_ticket(sessions, ids, priority="low")              # due T0 + 72h
    urgent = new_ticket(sessions, ids, priority="urgent")         # due T0 + 4h
    on_time = new_ticket(sessions, ids, priority="low", now=T0 + timedelta(days=2))
    closed = new_ticket(sessions, ids, priority="urgent")
    update(sessions, closed, {"status": "closed"})
    now = T0 + timedelta(hours=80)
    for expected in ([urgent, late], []):  # the second run at the same time does nothing
        with sessions.begin() as s:
            assert [t.id for t in T.escalate_overdue(s, now=now, actor_id=ids["agent"])] == \
                expected
    with sessions() as s:
        assert [(t.priority, t.escalation_level, t.escalated_at) for t in
                (s.get(Ticket, late), s.get(Ticket, urgent))] == [("normal", 1, now),
                                                                   ("urgent", 1, now)]
        assert s.get(Ticket, on_time).escalation_level == 0
        assert s.get(Ticket, closed).escalation_level == 0
        entry = audit.history(s, "ticket", late)[-1]
        assert (entry.action, entry.user_id, entry.changes) == (
            "escalate", ids["agent"], {"priority": ["low", "normal"], "escalation_level": [0, 1]})
    # the next step comes one SLA period of the new priority later (urgent 4 h, normal 24 h)
    with sessions.begin() as s:
        assert T.escalate_overdue(s, now=now + timedelta(hours=3)) == []
        assert [t.id for t in T.escalate_overdue(s, now=now + timedelta(hours=4))] == [urgent]
        assert [t.id for t in T.escalate_overdue(s, now=now + timedelta(hours=24))] == [
            urgent, late]
    assert [(t.priority, t.escalation_level) for t in (_get(sessions, late), _get(
        sessions, urgent))] == [("high", 2), ("urgent", 3)]


def test_linking_an_interaction_is_idempotent(sessions, ids):
    tid = new_ticket(sessions, ids)
    with sessions.begin() as s:
        T.link_interaction(s, tid, ids["call"])
        T.link_interaction(s, tid, ids["call"])
    with sessions.begin() as s:
        T.link_interaction(s, tid, ids["call"])
        assert T.linked_interactions(s, tid) == [ids["call"]]
        assert len(s.scalars(select(TicketInteraction)).all()) == 1
        with pytest.raises(NotFound):
            T.link_interaction(s, tid, 999)


def test_open_and_listed_tickets(sessions, ids):
    a = new_ticket(sessions, ids, priority="low")
    b = new_ticket(sessions, ids, priority="urgent", assignee_id=ids["agent"])
    c = new_ticket(sessions, ids)
    update(sessions, c, {"status": "resolved"})
    with sessions() as s:
        assert [t.id for t in T.open_tickets(s, ids["customer"])] == [b, a]
        assert [t.id for t in T.list_tickets(s)] == [c, b, a]
        assert [t.id for t in T.list_tickets(s, status="resolved")] == [c]
        assert [t.id for t in T.list_tickets(s, assignee_id=ids["agent"])] == [b]
        assert [t.id for t in T.list_tickets(s, overdue_at=T0 + timedelta(hours=5))] == [b]
        assert [t.id for t in T.list_tickets(s, limit=1, offset=1)] == [b]
        with pytest.raises(ValidationError):
            T.list_tickets(s, status="lost")
