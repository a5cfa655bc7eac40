"""The IVR's CRM adapter: deadlines, errors and the two questions it asks, and
the account-number check built on it."""
from __future__ import annotations

import threading

import pytest

from crm_core import customers, db, migrate, tickets
from ivr.checks import CHECKS, CheckResult, customer_code
from ivr.crm import Crm, CrmUnavailable


@pytest.fixture
def sessions(tmp_path):
    engine = db.make_engine(db.sqlite_url(tmp_path / "crm.db"))
    migrate.upgrade(engine)
    return db.session_factory(engine)


@pytest.mark.asyncio
async def test_an_answer_comes_back_from_the_thread():
    crm = Crm(sessions=object(), timeout=1.0)
    threads = []

    def double(x):
        threads.append(threading.current_thread().name)
        return x * 2
    assert await crm.ask(double, 21) == 42
    assert threads == ["ivr-crm"]


@pytest.mark.asyncio
async def test_a_slow_crm_is_given_up_on_after_the_deadline():
    crm = Crm(sessions=object(), timeout=0.05)
    release = threading.Event()
    with pytest.raises(CrmUnavailable, match="within 0.05 s"):
        await crm.ask(release.wait, 5)
    release.set()


@pytest.mark.asyncio
async def test_a_crm_error_is_unavailable_not_a_crash():
    def broken():
        raise OSError("connection refused")
    with pytest.raises(CrmUnavailable, match="OSError"):
        await Crm(sessions=object()).ask(broken)


@pytest.mark.asyncio
async def test_no_crm_configured_is_unavailable():
    crm = Crm(sessions=None)
    assert not crm.configured
    with pytest.raises(CrmUnavailable):
        await crm.ask(lambda: 1)


@pytest.mark.asyncio
async def test_too_many_unanswered_questions_fail_at_once(monkeypatch):
    monkeypatch.setattr("ivr.crm.MAX_IN_FLIGHT", 1)
    crm = Crm(sessions=object(), timeout=0.05)
    release = threading.Event()
    with pytest.raises(CrmUnavailable):
        await crm.ask(release.wait, 5)  # times out, its thread still waits
    with pytest.raises(CrmUnavailable, match="still unanswered"):
        await crm.ask(lambda: 1)
    release.set()


def test_caller_profile_knows_matches_and_open_tickets(sessions):
    with sessions.begin() as s:
        ada = customers.create_customer(s, {"name": "Ada", "phones": ["+15551230001"],
                                            "level": "vip", "language": "de"}).customer.id
        tickets.create_ticket(s, ada, "Help")
        for name in ("Office A", "Office B"):
            customers.create_customer(s, {"name": name, "phones": ["+15551230002"]},
                                      allow_duplicate=True)
    crm = Crm(sessions)
    ada_profile = crm.caller_profile("+1 555 123 0001")
    assert [(m.id, m.level, m.language) for m in ada_profile.matches] == [(ada, "vip", "de")]
    assert ada_profile.open_ticket
    shared = crm.caller_profile("+15551230002")
    assert len(shared.matches) == 2 and not shared.open_ticket
    assert crm.caller_profile("anonymous").matches == ()


def test_a_closed_ticket_is_not_open(sessions):
    with sessions.begin() as s:
        tom = customers.create_customer(s, {"name": "Tom", "phones": ["+15551230003"]}).customer.id
        ticket = tickets.create_ticket(s, tom, "Done")
        tickets.update_ticket(s, ticket.id, {"status": "closed"}, expected_version=ticket.version)
    assert not Crm(sessions).caller_profile("+15551230003").open_ticket


def test_the_customer_code_check(sessions):
    with sessions.begin() as s:
        grace = customers.create_customer(s, {"name": "Grace", "code": "4711"}).customer.id
    crm = Crm(sessions)
    assert customer_code(crm, "4711") == CheckResult(True, grace)
    assert customer_code(crm, "4712") == CheckResult(False, None)
    assert customer_code(crm, "") == CheckResult(False, None)
    assert CHECKS["customer_code"] is customer_code
