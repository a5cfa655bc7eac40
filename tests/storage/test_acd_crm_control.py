"""What the ACD asks the CRM for agents' call control (acd/crm.py), on both
databases: who may supervise, who may be dialled, the audit of forced states."""
import pytest
from sqlalchemy import select

from acd import crm
from crm_core import customers, dnc, users
from crm_core.errors import NotFound, PermissionDenied, ValidationError
from crm_core.models import AuditEntry

PASSWORD = "storage-password-1234"


def test_supervisors_and_admins_may_supervise(sessions):
    with sessions.begin() as s:
        sue = users.create_user(s, "sue", PASSWORD, "supervisor").id
        ann = users.create_user(s, "ann", PASSWORD, "admin").id
        users.create_user(s, "al", PASSWORD, "agent")
        gone = users.create_user(s, "gone", PASSWORD, "supervisor").id
        users.deactivate_user(s, gone)
    assert (crm.supervisor_id(sessions, "sue"), crm.supervisor_id(sessions, "ann")) == (sue, ann)
    with pytest.raises(PermissionDenied):
        crm.supervisor_id(sessions, "al")
    for who in ("gone", "nobody", None):
        with pytest.raises(NotFound):
            crm.supervisor_id(sessions, who)


def test_may_dial_refuses_the_do_not_call_list_and_unknown_customers(sessions):
    with sessions.begin() as s:
        grace = customers.create_customer(s, {"name": "Grace",
                                              "phones": ["+15556000001"]}).customer.id
        dnc.add(s, "+15556000002")
    crm.may_dial(sessions, "+15556000001", grace, "US")
    crm.may_dial(sessions, "+15556000003", None, "US")
    with pytest.raises(ValidationError, match="do-not-call"):
        crm.may_dial(sessions, "+15556000002", None, "US")
    with pytest.raises(NotFound):
        crm.may_dial(sessions, "+15556000001", grace + 100, "US")


def test_a_forced_state_is_audited_with_its_supervisor(sessions):
    with sessions.begin() as s:
        sue = users.create_user(s, "sue", PASSWORD, "supervisor").id
    crm.audit_agent(sessions, sue, "alice", {"action": "force_logout", "by": "sue",
                                             "presence": ["on_call", "pending_logout"]})
    with sessions() as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.entity == "agent")).all()
    assert (entry.user_id, entry.entity_id, entry.action) == (sue, "alice", "update")
    assert entry.changes["presence"] == ["on_call", "pending_logout"]
