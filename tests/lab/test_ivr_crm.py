"""The IVR and the CRM on real calls: account numbers checked, callers routed by
who they are (VIP, open ticket, known, unknown, preferred language), and a CRM
that is down or hangs never leaves a caller in dead air."""
from __future__ import annotations

import socket

import pytest

from asterisk_conf import ports
from callcenter.world import CallerScript
from crm_core import customers, db, tickets

from .ivr_support import IvrLab, step_of, steps

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]

ACCOUNT = "8005550203"
CRM = "8005550204"


def add_customer(sessions, name: str, **fields) -> int:
    with sessions.begin() as s:
        return customers.create_customer(s, {"name": name, **fields}).customer.id


async def test_a_valid_account_number_identifies_the_customer(lab, sessions):
    grace = add_customer(sessions, "Grace Hopper", code="4711")
    async with IvrLab(lab, sessions) as ivr:
        await ivr.call(ACCOUNT, "+15552000011", CallerScript(keys="4711#", delay=1.0, hold=20))
        (queued,) = await ivr.ivr.wait("ivr.queue", timeout=20)
        assert (queued["queue"], queued["customer_id"]) == ("customers", grace)
        ivr.hang_up_all()
        await ivr.ended()
        detail = await ivr.ivr_segment(queued["linkedid"])
    account = step_of(detail, "account")
    assert (account["number"], account["customer_id"], account["attempts"]) == ("4711", grace, 1)
    assert (detail["account"], detail["customer_id"], detail["outcome"]) == ("4711", grace, "queue")
    assert steps(detail) == [("account", "collect"), ("customers", "queue")]
    # The number was read back with Asterisk's own SAY DIGITS, and it played.
    said = [e for e in ivr.ami.seen if e.name == "AGIExecEnd"
            and str(e.get("Command", "")).startswith("SAY DIGITS 4711")]
    assert said and said[0].get("ResultCode") == "200"


async def test_an_unknown_account_number_is_asked_again(lab, sessions):
    grace = add_customer(sessions, "Grace Hopper", code="4711")
    async with IvrLab(lab, sessions) as ivr:
        await ivr.call(ACCOUNT, "+15552000012",
                       CallerScript(keys="9999#wwww4711#", delay=1.0, hold=20))
        (queued,) = await ivr.ivr.wait("ivr.queue", timeout=20)
        ivr.hang_up_all()
        await ivr.ended()
        detail = await ivr.ivr_segment(queued["linkedid"])
    account = step_of(detail, "account")
    assert (account["rejected"], account["number"], account["attempts"]) == (["9999"], "4711", 2)
    assert (detail["customer_id"], queued["queue"]) == (grace, "customers")


async def test_wrong_numbers_until_the_retries_run_out_go_on_fail(lab, sessions):
    async with IvrLab(lab, sessions) as ivr:
        await ivr.call(ACCOUNT, "+15552000013", CallerScript(keys="12#wwww9999#", delay=1.0,
                                                             hold=20))
        (queued,) = await ivr.ivr.wait("ivr.queue", timeout=20)
        assert queued["queue"] == "general" and queued["customer_id"] is None
        ivr.hang_up_all()
        await ivr.ended()
        detail = await ivr.ivr_segment(queued["linkedid"])
    account = step_of(detail, "account")
    assert (account["rejected"], account["failed"], account["next"]) == (["12", "9999"], True,
                                                                         "general")
    assert detail["account"] is None


async def test_callers_are_routed_by_who_they_are(lab, sessions):
    vip = add_customer(sessions, "Ada VIP", phones=["+15552000021"], level="vip")
    ticketed = add_customer(sessions, "Tom Ticket", phones=["+15552000022"])
    known = add_customer(sessions, "Karl Known", phones=["+15552000023"], language="de")
    with sessions.begin() as s:
        tickets.create_ticket(s, ticketed, "Broken router")
    callers = {"+15552000021": "vip", "+15552000022": "tickets", "+15552000023": "known",
               "+15552000024": "general"}
    async with IvrLab(lab, sessions) as ivr:
        for number in callers:
            await ivr.call(CRM, number, CallerScript(hold=20))
        queued = await ivr.ivr.wait("ivr.queue", count=4, timeout=30)
        assert {q["caller"]: q["queue"] for q in queued} == callers
        ids = {q["caller"]: q["customer_id"] for q in queued}
        assert ids == {"+15552000021": vip, "+15552000022": ticketed, "+15552000023": known,
                       "+15552000024": None}
        german = next(q["linkedid"] for q in queued if q["caller"] == "+15552000023")
        assert (await ivr.channel_in("ivr-queue", german)).language == "de"  # Asterisk's too
        ivr.hang_up_all()
        await ivr.ended(count=4)
        details = {q["caller"]: await ivr.ivr_segment(q["linkedid"]) for q in queued}
    branch = {number: step_of(d, "identify")["branch"] for number, d in details.items()}
    assert branch == {"+15552000021": "vip", "+15552000022": "open_ticket",
                      "+15552000023": "known", "+15552000024": "unknown"}
    # The known caller heard the greeting, in German: his language has a prompt.
    greeted = details["+15552000023"]
    assert steps(greeted) == [("identify", "lookup"), ("greet", "play"), ("known", "queue")]
    assert step_of(greeted, "identify")["language"] == "de" and greeted["language"] == "de"
    assert details["+15552000021"]["language"] == "en"  # no language change asked


@pytest.fixture
def blackhole():
    """A port that accepts TCP connections and never says a word (a hung database)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]
    # Closing resets the waiting connections: the stuck CRM thread ends too.


@pytest.mark.parametrize("database", ["refused", "hangs"])
async def test_a_crm_that_is_down_sends_the_caller_on_at_once(lab, sessions, database, request):
    port = ports.free_port() if database == "refused" else request.getfixturevalue("blackhole")
    down = db.session_factory(db.make_engine(f"postgresql+psycopg://ivr@127.0.0.1:{port}/crm"))
    async with IvrLab(lab, sessions, crm_sessions=down, crm_timeout=1.0) as ivr:
        await ivr.call(CRM, "+15552000031", CallerScript(hold=20))
        (queued,) = await ivr.ivr.wait("ivr.queue", timeout=20)
        assert queued["queue"] == "fallback"
        ivr.hang_up_all()
        await ivr.ended()
        detail = await ivr.ivr_segment(queued["linkedid"])
    identify = step_of(detail, "identify")
    assert (identify["branch"], identify["error"]) == ("on_error", "crm_unavailable")
    # The caller waited at most the CRM deadline (1 s) before being routed.
    assert step_of(detail, "fallback")["t"] - identify["t"] < 1.8
