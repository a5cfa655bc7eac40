"""An outbound call's customer link (crm_core.outbound), on both databases: it
lands whether the history writer's row is there yet or not, even final, and
never replaces a customer already linked."""
from datetime import datetime, timedelta, timezone

import pytest

from crm_core import customers, interactions as I, outbound
from crm_core.errors import NotFound

T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)


def facts(**kw):
    base = dict(linkedid="out-1", direction="outbound", started_at=T0,
                caller_number="+18005550300", dialled_number="+15556000001")
    base.update(kw)
    return I.CallFacts(**base)


def customer(s, name: str, phone: str) -> int:
    return customers.create_customer(s, {"name": name, "phones": [phone]}).customer.id


def row(sessions):
    with sessions() as s:
        return I.by_linkedid(s, "out-1")


def test_the_link_comes_first_then_the_history_fills_the_call(sessions):
    with sessions.begin() as s:
        grace = customer(s, "Grace", "+15556000001")
        outbound.claim_customer(s, facts(), grace)
    with sessions.begin() as s:
        I.save_call(s, facts(answered_at=T0 + timedelta(seconds=3), ended_at=T0 +
                             timedelta(seconds=9), hangup_cause=16, status="completed"))
    r = row(sessions)
    assert (r.customer_id, r.direction, r.status, r.hangup_cause) == (grace, "outbound",
                                                                     "completed", 16)


def test_a_late_link_fills_a_final_row_but_never_replaces_one(sessions):
    with sessions.begin() as s:
        grace = customer(s, "Grace", "+15556000001")
        ada = customer(s, "Ada", "+15556000009")
        I.save_call(s, facts(ended_at=T0 + timedelta(seconds=4), status="completed"))
        outbound.claim_customer(s, facts(), grace)
    assert (row(sessions).customer_id, row(sessions).status) == (grace, "completed")
    with sessions.begin() as s:
        outbound.claim_customer(s, facts(), ada)
    assert row(sessions).customer_id == grace


@pytest.mark.parametrize("bad", [424242, True, "1"])
def test_an_unknown_customer_is_refused_and_nothing_is_written(sessions, bad):
    with pytest.raises(NotFound):
        with sessions.begin() as s:
            outbound.claim_customer(s, facts(), bad)
    assert row(sessions) is None
