"""The new-customer page: creating a person or a company, errors next to their
fields with nothing written, the duplicate check and "create anyway", and a
call from an unknown number linked to the customer just created."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from crm_core import audit, interactions
from crm_core.models import Customer, Email, Interaction, Phone

from .crm_pages_support import agent, assert_escaped, crm  # noqa: F401 (fixtures)

NEW = "/crm/customers/new"


def confirmed_ids(body: str) -> str:
    start = body.index('name="confirmed" value="') + len('name="confirmed" value="')
    return body[start:body.index('"', start)]


def a_call(crm, linkedid: str = "1700000000.42", number: str = "+14155550077") -> None:
    with crm.sessions.begin() as s:
        interactions.save_call(s, interactions.CallFacts(
            linkedid=linkedid, direction="inbound", started_at=datetime.now(timezone.utc),
            caller_number=number))


def test_the_form_is_prefilled_from_a_screen_pop(agent):
    body = agent.page(f"{NEW}?phone=%2B14155550077&linkedid=1700000000.42")
    assert 'name="phone" value="+14155550077"' in body
    assert 'name="linkedid" value="1700000000.42"' in body
    assert f'<option value="{agent.user_ids["agent1"]}" selected>' in body  # the agent owns it
    assert_escaped(agent.page(f"{NEW}?phone=%3Cscript%3E"), "<script>", 'value="&lt;script&gt;"')


def test_a_person_with_phones_and_emails(agent):
    reply = agent.post(NEW, {
        "kind": "person", "name": "王小明", "code": "CN-7", "level": "vip",
        "language": "zh", "timezone": "Asia/Shanghai", "country": "CN",
        "owner_id": str(agent.user_ids["agent2"]), "tags": "重要，北京, press",
        "custom_fields": "口味 = 辣\nfloor = 3",
        "phone": ["+86 138 0013 8000", "", "(415) 555-0101"],
        "phone_label": ["mobile", "", "work"],
        "email": ["WANG@Example.com", ""], "email_label": ["", ""]})
    assert reply.status_code == 303
    with agent.sessions() as s:
        wang = s.scalar(select(Customer).where(Customer.code == "CN-7"))
        assert reply.headers["Location"] == f"/crm/customers/{wang.id}"
        assert (wang.name, wang.level, wang.language, wang.timezone, wang.owner_id) == \
            ("王小明", "vip", "zh", "Asia/Shanghai", agent.user_ids["agent2"])
        assert wang.custom_fields == {"口味": "辣", "floor": "3"}
        assert sorted(t.tag for t in wang.tags) == ["press", "北京", "重要"]
        assert sorted((p.e164, p.label) for p in wang.phones) == \
            [("+14155550101", "work"), ("+8613800138000", "mobile")]
        assert [e.address for e in wang.emails] == ["wang@example.com"]
        assert audit.history(s, "customer", wang.id)[0].user_id == agent.user_ids["agent1"]
    assert "王小明" in agent.page(reply.headers["Location"])


def test_a_company(agent):
    reply = agent.post(NEW, {"kind": "company", "name": "Acme Ltd", "phone": ["+1 415 555 0100"]})
    assert reply.status_code == 303
    with agent.sessions() as s:
        assert s.scalar(select(Customer.kind).where(Customer.name == "Acme Ltd")) == "company"


def test_errors_are_shown_next_to_their_fields_and_nothing_is_written(agent):
    before = agent.counts()
    reply = agent.post(NEW, {"name": "  ", "code": "no spaces allowed", "timezone": "Mars/Base",
                             "phone": ["+1 415 555 0001", "1-800-FLOWERS", ""],
                             "email": ["", "not-an-email"], "custom_fields": "no equals sign",
                             "company_id": "acme"})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert '<span class="field-error" id="error-name">is required</span>' in body
    assert 'id="error-phone-1">&#39;1-800-FLOWERS&#39; contains letters' in body
    assert 'id="error-email-1">&#39;not-an-email&#39; is not an e-mail address' in body
    assert 'id="error-company_id"' in body and 'id="error-custom_fields"' in body
    # The form's own shape is checked first; the rest comes once that is right.
    reply = agent.post(NEW, {"name": "", "code": "no spaces allowed", "timezone": "Mars/Base",
                             "phone": ["+1 415 555 0001", "1-800-FLOWERS"],
                             "email": ["not-an-email"]})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 422
    for field in ("name", "code", "timezone", "phone-1", "email-0"):
        assert f'id="error-{field}"' in body, field
    assert 'value="+1 415 555 0001"' in body and 'value="1-800-FLOWERS"' in body
    assert 'value="no spaces allowed"' in body and 'value="Mars/Base"' in body
    assert 'id="phone-0" name="phone" value="+1 415 555 0001" type="tel" maxlength="40">' in body
    assert agent.counts() == before


def test_control_characters_are_refused_in_every_field(agent):
    # PostgreSQL cannot store or compare NUL: refused before the database sees it.
    before = agent.counts()
    for form, field in (({"email": ["a\x00b@example.com"]}, "email-0"),
                        ({"phone": ["", "+1 415\x00 555 0001"]}, "phone-1"),
                        ({"phone": ["+1 415 555 0001"], "phone_label": ["mo\x07bile"]},
                         "phone_label-0"),
                        ({"custom_fields": "floor = 3\nkey\x00 = value"}, "custom_fields"),
                        ({"city": "Bei\x1bjing"}, "city")):
        reply = agent.post(NEW, {"name": "Nul", **form})
        body = reply.get_data(as_text=True)
        assert reply.status_code == 422, form
        assert f'id="error-{field}">contains control characters' in body, form
    assert agent.post(NEW, {"name": "Ok", "custom_fields": "a = 1\r\n\tb = 2"}).status_code == 303
    assert agent.counts()[0] == before[0] + 1


def test_an_existing_phone_is_refused_naming_its_owner_then_created_anyway(agent):
    owned = agent.customer("Ada Lovelace", phones=["+1 415 555 0001"],
                           owner_id=agent.user_ids["agent2"])
    form = {"name": "Front desk", "phone": ["(415) 555-0001"], "email": ["desk@example.com"]}
    before = agent.counts()
    reply = agent.post(NEW, form)
    body = reply.get_data(as_text=True)
    assert reply.status_code == 409
    assert "Already on file" in body and f'href="/crm/customers/{owned}">Ada Lovelace</a>' in body
    assert "phone +14155550001" in body and "Bo Owner" in body and "Create anyway" in body
    assert 'value="Front desk"' in body and 'value="desk@example.com"' in body
    assert agent.counts() == before
    assert confirmed_ids(body) == str(owned)
    reply = agent.post(NEW, {**form, "confirmed": confirmed_ids(body)})
    assert reply.status_code == 303
    with agent.sessions() as s:
        holders = s.scalars(select(Phone.customer_id).where(Phone.e164 == "+14155550001"))
        assert sorted(holders) == sorted([owned, int(reply.headers["Location"].split("/")[-1])])


def test_create_anyway_covers_only_the_customers_shown(agent):
    first = agent.customer("Ada", emails=["ada@example.com"])
    form = {"name": "Someone new", "email": ["ada@example.com"]}
    shown = confirmed_ids(agent.post(NEW, form).get_data(as_text=True))
    assert shown == str(first)
    agent.customer("Ada again", emails=["ada@example.com"])  # arrives meanwhile
    before = agent.counts()
    reply = agent.post(NEW, {**form, "confirmed": shown})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 409 and "Ada again" in body
    assert agent.counts() == before
    assert agent.post(NEW, {**form, "confirmed": "1,x"}).status_code == 422
    assert agent.post(NEW, {**form, "confirmed": confirmed_ids(body)}).status_code == 303
    with agent.sessions() as s:
        assert len(list(s.scalars(select(Email).where(Email.address == "ada@example.com")))) == 3


def test_a_similar_name_is_shown_before_creating(agent):
    jon = agent.customer("Jonathan Smith", owner_id=agent.user_ids["agent2"])
    before = agent.counts()
    reply = agent.post(NEW, {"name": "Jonathon Smith"})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 409 and "similar name" in body
    assert f'href="/crm/customers/{jon}">Jonathan Smith</a>' in body and "Bo Owner" in body
    assert agent.counts() == before  # the customer created to find them was rolled back
    reply = agent.post(NEW, {"name": "Jonathon Smith", "confirmed": confirmed_ids(body)})
    assert reply.status_code == 303


def test_a_similar_name_arriving_after_a_duplicate_shows_both(agent):
    owned = agent.customer("Front desk", phones=["+1 415 555 0001"])
    form = {"name": "Ada Lovelace", "phone": ["+1 415 555 0001"]}
    shown = confirmed_ids(agent.post(NEW, form).get_data(as_text=True))
    assert shown == str(owned)
    similar = agent.customer("Ada Lovelaze")  # typed in by someone else meanwhile
    reply = agent.post(NEW, {**form, "confirmed": shown})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 409 and "Front desk" in body and "Ada Lovelaze" in body
    assert confirmed_ids(body) == f"{owned},{similar}"
    assert agent.post(NEW, {**form, "confirmed": confirmed_ids(body)}).status_code == 303


def test_a_call_is_linked_to_the_new_customer(agent):
    a_call(agent)
    reply = agent.post(NEW, {"name": "New caller", "phone": ["+14155550077"],
                             "linkedid": "1700000000.42"})
    assert reply.status_code == 303 and reply.headers["Location"] == "/agent"
    with agent.sessions() as s:
        customer_id = s.scalar(select(Customer.id).where(Customer.name == "New caller"))
        call = interactions.by_linkedid(s, "1700000000.42")
        assert call.customer_id == customer_id
        entry = audit.history(s, "interaction", call.id)[-1]
        assert entry.user_id == agent.user_ids["agent1"] and entry.action == "update"
        assert entry.changes == {"customer_id": [None, customer_id]}
    assert agent.feeds.linked == [("1700000000.42", customer_id)]
    assert "+14155550077" in agent.page(f"/crm/customers/{customer_id}")


def test_a_broken_feed_does_not_undo_the_link(agent):
    a_call(agent)

    def broken(linkedid, customer_id):
        raise RuntimeError("push hub gone")
    agent.feeds.customer_linked = broken
    reply = agent.post(NEW, {"name": "New caller", "linkedid": "1700000000.42"})
    assert reply.status_code == 303 and reply.headers["Location"] == "/agent"
    with agent.sessions() as s:
        assert interactions.by_linkedid(s, "1700000000.42").customer_id is not None


def test_a_nonsense_linkedid_is_refused(agent):
    a_call(agent)
    body = agent.page(f"{NEW}?linkedid=" + "9" * 65, 422)
    assert "at most 64 characters" in body
    before = agent.counts()
    for linkedid, says in (("1700000000.42\x07", "control characters"),
                           ("x" * 65, "at most 64"),
                           ("1700000000.99", "no call with this id")):
        reply = agent.post(NEW, {"name": "New caller", "linkedid": linkedid})
        assert reply.status_code == 422 and says in reply.get_data(as_text=True), linkedid
        assert 'value="New caller"' in reply.get_data(as_text=True)
    assert agent.counts() == before and agent.feeds.linked == []
    with agent.sessions() as s:
        assert s.scalar(select(Interaction.customer_id)) is None


def test_too_many_rows_are_refused(agent):
    before = agent.counts()
    reply = agent.post(NEW, {"name": "Many", "phone": [f"+1 415 555 01{n:02}" for n in range(11)]})
    assert reply.status_code == 422 and "at most 10" in reply.get_data(as_text=True)
    assert agent.counts() == before
