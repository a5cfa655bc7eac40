"""Click-to-dial from the card: only the customer's own numbers, never one on the
do-not-call list, and the engine's refusal or absence said on the card."""
from __future__ import annotations

from acd.model import AcdError
from agent_console.app import create_app
from agent_console.desk import DeskUnavailable
from crm_core.models import DoNotCall

from .crm_pages_support import agent, crm  # noqa: F401 (fixtures)
from .test_web_signin import SECRET, sign_in


def ada(crm) -> int:
    customer_id = crm.customer("Ada", phones=["+1 415 555 0001", "+1 415 555 0003"])
    crm.customer("Bert", phones=["+1 415 555 0009"])
    with crm.sessions.begin() as s:
        s.add(DoNotCall(e164="+14155550003", reason="asked us"))
    return customer_id


def test_dialling_one_of_the_customers_numbers(agent):
    customer_id = ada(agent)
    reply = agent.post(f"/crm/customers/{customer_id}/dial", {"phone": "(415) 555-0001"})
    assert reply.status_code == 303 and reply.headers["Location"] == "/agent"
    assert agent.desk.calls == [("dial", ("agent1", "+14155550001"),
                                 {"customer_id": customer_id})]


def test_a_number_on_the_dnc_list_is_not_dialled(agent):
    customer_id = ada(agent)
    reply = agent.post(f"/crm/customers/{customer_id}/dial", {"phone": "+14155550003"})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 409 and "+14155550003 is on the do-not-call list" in body
    assert 'role="alert"' in body and "Ada" in body  # said on the card itself
    assert agent.desk.calls == []


def test_a_number_of_someone_else_or_junk_is_not_dialled(agent):
    customer_id = ada(agent)
    for phone, says in (("+14155550009", "not one of this customer"),
                        ("+14155550999", "not one of this customer"),
                        ("call me", "contains letters"), ("", "a phone number is required")):
        reply = agent.post(f"/crm/customers/{customer_id}/dial", {"phone": phone})
        assert reply.status_code == 422 and says in reply.get_data(as_text=True), phone
    assert agent.desk.calls == []


def test_the_engine_refusing_is_shown_on_the_card(agent):
    customer_id = ada(agent)
    agent.desk.error = AcdError("agent agent1 is not logged in to a seat")
    reply = agent.post(f"/crm/customers/{customer_id}/dial", {"phone": "+14155550001"})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 409
    assert "The call was not placed: agent agent1 is not logged in to a seat" in body
    assert len(agent.desk.calls) == 1


def test_the_engine_away_is_a_503(agent):
    customer_id = ada(agent)
    agent.desk.error = DeskUnavailable("the engine did not answer within 10 s; try again")
    reply = agent.post(f"/crm/customers/{customer_id}/dial", {"phone": "+14155550001"})
    assert reply.status_code == 503
    assert "did not answer within 10 s" in reply.get_data(as_text=True)


def test_without_an_engine_the_card_says_so(crm):
    customer_id = ada(crm)
    client = create_app(crm.sessions, secret_key=SECRET).test_client()  # the real, idle Desk
    sign_in(client, "agent1")
    assert "dialling is not possible now" in client.get(f"/crm/customers/{customer_id}") \
        .get_data(as_text=True)
    with client.session_transaction() as s:
        token = s["csrf"]
    reply = client.post(f"/crm/customers/{customer_id}/dial",
                        data={"phone": "+14155550001", "csrf_token": token})
    assert reply.status_code == 503 and "not running" in reply.get_data(as_text=True)
