"""The CRM pages as a whole: sign-in, roles, CSRF on every form, escaping,
Chinese text, unknown ids, and the customer search."""
from __future__ import annotations

import pytest

from crm_core import tickets
from crm_core.models import Customer

from .crm_pages_support import ROLES, Crm, agent, assert_escaped, crm  # noqa: F401 (fixtures)

EVIL = "<script>alert(1)</script>"
EVIL_SHOWN = "&lt;script&gt;alert(1)&lt;/script&gt;"


def a_customer_with_a_ticket(crm: Crm, name: str = "Ada") -> tuple[int, int]:
    customer_id = crm.customer(name, phones=["+1 415 555 0001"])
    with crm.sessions.begin() as s:
        ticket_id = tickets.create_ticket(s, customer_id, f"{name}'s printer").id
    return customer_id, ticket_id


def get_paths(customer_id: int, ticket_id: int) -> list[str]:
    return ["/crm/customers", "/crm/customers?q=Ada", f"/crm/customers/{customer_id}",
            "/crm/customers/new", "/crm/tickets", f"/crm/tickets/{ticket_id}"]


def post_forms(customer_id: int, ticket_id: int) -> list[tuple[str, dict]]:
    return [(f"/crm/customers/{customer_id}/notes", {"text": "hello"}),
            (f"/crm/customers/{customer_id}/dial", {"phone": "+14155550001"}),
            ("/crm/customers/new", {"name": "Bea", "phone": "+1 415 555 0009"}),
            (f"/crm/customers/{customer_id}/tickets", {"subject": "More", "priority": "normal"}),
            (f"/crm/tickets/{ticket_id}", {"subject": "Changed", "status": "open",
                                           "priority": "high", "version": "1"})]


def test_every_page_needs_sign_in(crm):
    customer_id, ticket_id = a_customer_with_a_ticket(crm)
    for path in get_paths(customer_id, ticket_id):
        reply = crm.get(path)
        assert reply.status_code == 302, path
        assert reply.headers["Location"].startswith("/login?next=/crm/"), path
        assert crm.get(path, headers={"Accept": "application/json"}).status_code == 401
    before = crm.counts()
    crm.get("/login")  # an anonymous session with a CSRF token: the form is not the problem
    for path, data in post_forms(customer_id, ticket_id):
        reply = crm.post(path, data)
        assert reply.status_code == 302 and reply.headers["Location"].startswith("/login"), path
    assert crm.counts() == before and crm.desk.calls == []


@pytest.mark.parametrize("role", ROLES)
def test_every_role_opens_every_page(crm, role):
    customer_id, ticket_id = a_customer_with_a_ticket(crm)
    crm.sign_in(f"{role}1")
    for path in get_paths(customer_id, ticket_id):
        reply = crm.get(path)
        assert reply.status_code == 200, path
        assert reply.headers["Cache-Control"] == "no-store"
        assert f"The {role} ({role})" in reply.get_data(as_text=True)
    assert crm.post(f"/crm/customers/{customer_id}/notes", {"text": f"by {role}"}) \
        .status_code == 303


def test_every_form_needs_the_csrf_token(agent):
    customer_id, ticket_id = a_customer_with_a_ticket(agent)
    before = agent.counts()
    for path, data in post_forms(customer_id, ticket_id):
        for token in (None, "forged", ""):
            sent = data if token is None else {**data, "csrf_token": token}
            reply = agent.post(path, sent, token=False)
            assert reply.status_code == 400 and "CSRF" in reply.get_data(as_text=True), path
    assert agent.counts() == before and agent.desk.calls == []


def test_every_form_carries_the_csrf_token(agent):
    customer_id, ticket_id = a_customer_with_a_ticket(agent)
    token = agent.csrf()
    for path in get_paths(customer_id, ticket_id):
        body = agent.page(path)
        forms = body.count('method="post"')
        assert body.count(f'name="csrf_token" value="{token}"') >= forms, path


def test_names_are_escaped_everywhere(agent):
    customer_id, ticket_id = a_customer_with_a_ticket(agent, EVIL)
    agent.add_calls(customer_id, 1, caller_name="<b>bold</b>", notes="<img src=x onerror=1>")
    for path in ["/crm/customers?q=script", f"/crm/customers/{customer_id}", "/crm/tickets",
                 f"/crm/tickets/{ticket_id}"]:
        body = agent.page(path)
        assert_escaped(body, EVIL, EVIL_SHOWN)
        assert "<script" not in body and "onerror=1>" not in body
    card = agent.page(f"/crm/customers/{customer_id}")
    assert "&lt;b&gt;bold&lt;/b&gt;" in card and "&lt;img src=x onerror=1&gt;" in card
    assert 'style="' not in card and "<style" not in card  # the CSP allows neither


def test_chinese_text_is_shown_as_is(agent):
    customer_id = agent.customer("王小明", phones=["+86 138 0013 8000"], address="北京市朝阳区",
                                 tags=["重要客户"], custom_fields={"备注": "喜欢辣"})
    card = agent.page(f"/crm/customers/{customer_id}")
    for text in ("王小明", "北京市朝阳区", "重要客户", "备注", "喜欢辣"):
        assert text in card
    found = agent.page("/crm/customers?q=小明")
    assert "王小明" in found and f"/crm/customers/{customer_id}" in found
    assert agent.get("/crm/customers?q=小明").content_type == "text/html; charset=utf-8"


def test_unknown_ids_are_404_pages(agent):
    customer_id, _ = a_customer_with_a_ticket(agent)
    before = agent.counts()
    for path in ("/crm/customers/999999", "/crm/tickets/999999"):
        reply = agent.get(path)
        assert reply.status_code == 404 and "Not found" in reply.get_data(as_text=True)
    for path in ("/crm/customers/0", "/crm/customers/99999999999", "/crm/customers/abc",
                 "/crm/tickets/-1"):
        assert agent.get(path).status_code == 404, path
    for path, data in (("/crm/customers/999999/notes", {"text": "x"}),
                       ("/crm/customers/999999/dial", {"phone": "+14155550001"}),
                       ("/crm/customers/999999/tickets", {"subject": "x", "priority": "low"}),
                       ("/crm/tickets/999999", {"subject": "x", "version": "1",
                                                "status": "new", "priority": "low"})):
        assert agent.post(path, data).status_code == 404, path
    assert agent.counts() == before and agent.desk.calls == []
    assert f"/crm/customers/{customer_id}" in agent.page("/crm/customers?q=Ada")


# -- search ----------------------------------------------------------------------

def test_an_empty_query_is_a_short_form(agent):
    agent.customer("Ada")
    body = agent.page("/crm/customers")
    assert 'name="q"' in body and "Ada" not in body and "<table" not in body


def test_search_by_name_code_phone_and_email(agent):
    ada = agent.customer("Ada Lovelace", code="C-1001", phones=["+1 415 555 0001"],
                         emails=["ada@example.com"])
    agent.customer("Bert", phones=["+1 415 555 0002"])
    link = f'href="/crm/customers/{ada}"'
    for query in ("lovelace", "ADA", "C-1001", "c-10", "(415) 555-0001", "+14155550001",
                  "ada@example"):
        body = agent.page(f"/crm/customers?q={query}")
        assert link in body and "Bert" not in body, query
    assert "No customer matches" in agent.page("/crm/customers?q=nobody")


def test_search_pages(agent):
    with agent.sessions.begin() as s:
        s.add_all(Customer(name=f"Page {n:02}") for n in range(45))
    first = agent.page("/crm/customers?q=page")
    assert "Page 00" in first and "Page 19" in first and "Page 20" not in first
    assert 'href="/crm/customers?page=2&amp;q=page"' in first and 'rel="prev"' not in first
    last = agent.page("/crm/customers?q=page&page=3")
    assert "Page 40" in last and "Page 44" in last and "Page 39" not in last
    assert 'rel="next"' not in last and 'href="/crm/customers?page=2&amp;q=page"' in last
    for bad in ("0", "x", "-1", "1000000"):
        body = agent.page(f"/crm/customers?q=page&page={bad}", 422)
        assert "a whole number" in body
    assert "longer than 200" in agent.page("/crm/customers?q=" + "a" * 201, 422)
    assert "control characters" in agent.page("/crm/customers?q=a%00b", 422)
