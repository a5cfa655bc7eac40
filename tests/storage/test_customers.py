"""The customer service on both databases: create with the duplicate check,
similar names, optimistic locking, phones replaced, delete, search, audit."""
import json
import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from crm_core import audit, customers as C
from crm_core.errors import Conflict, DuplicateCustomer, NotFound, ValidationError
from crm_core.models import (AuditEntry, Customer, CustomerTag, Email, Interaction, Phone, Ticket,
                             User)

T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=timezone.utc)


def make_user(s, username="agent1") -> int:
    user = User(username=username, password_hash="x", role="agent")
    s.add(user)
    s.flush()
    return user.id


def create(sessions, data, **kw) -> C.CreateResult:
    with sessions.begin() as s:
        return C.create_customer(s, data, **kw)


def counts(sessions) -> tuple[int, int, int, int]:
    with sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(m))
                     for m in (Customer, Phone, Email, AuditEntry))


def stored(sessions, customer_id) -> dict:
    with sessions() as s:
        return C.customer_as_dict(C.get_customer(s, customer_id))


# -- create -------------------------------------------------------------------------

def test_phones_in_foreign_formats_are_stored_as_e164(sessions):
    made = create(sessions, {"name": "Ada Lovelace", "phones": [
        "+44 20 7946 0958", "0044 20 7946 0959", "(415) 555-2671",
        {"number": "+86 138-0013-8000", "label": "mobile"}, "415.555.2672"]})
    berlin = create(sessions, {"name": "Klaus Berliner", "phones": ["030 901820"]}, region="DE")
    phones = stored(sessions, made.customer.id)["phones"]
    assert phones == [{"e164": "+442079460958", "label": ""}, {"e164": "+442079460959", "label": ""},
                      {"e164": "+14155552671", "label": ""},
                      {"e164": "+8613800138000", "label": "mobile"},
                      {"e164": "+14155552672", "label": ""}]
    assert stored(sessions, berlin.customer.id)["phones"] == [{"e164": "+4930901820", "label": ""}]
    with sessions() as s:
        assert s.scalar(select(Phone.raw).where(Phone.e164 == "+8613800138000")) == "+86 138-0013-8000"


@pytest.mark.parametrize("data, field", [
    ({"name": "A", "phones": ["555-CALL-NOW"]}, "phones[0]"),
    ({"name": "A", "phones": ["+1 555 12"]}, "phones[0]"),
    ({"name": "A", "phones": ["12 (34) #5"]}, "phones[0]"),
    ({"name": "A", "phones": ["+1 415 555 2671", "1" * 41]}, "phones[1]"),
    ({"name": "A", "phones": ["+1 415\x00555 2671"]}, "phones[0]"),
    ({"name": "A", "phones": ["電話 12345"]}, "phones[0]"),
    ({"name": "x" * 201}, "name"),
    ({"name": "Bob\x07 Smith"}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "A", "emails": ["not-an-email"]}, "emails[0]"),
    ({"name": "A", "company_id": "abc"}, "company_id"),
    ({"name": "A", "company_id": 999}, "company_id"),
    ({"name": "A", "owner_id": 999}, "owner_id"),
    ({"name": "A", "country": "Germany"}, "country"),
    ({"name": "A", "colour": "blue"}, "colour"),
])
def test_bad_input_is_refused_with_the_field_named_and_nothing_written(sessions, data, field):
    with pytest.raises(ValidationError) as caught, sessions.begin() as s:
        C.create_customer(s, {"emails": ["ok@example.com"], **data})
    assert field in caught.value.errors
    assert caught.value.to_dict()["fields"][field]
    assert counts(sessions) == (0, 0, 0, 0)


def test_every_bad_field_is_named_at_once(sessions):
    with pytest.raises(ValidationError) as caught, sessions.begin() as s:
        C.create_customer(s, {"name": "", "phones": ["abc"], "emails": ["x@"]})
    assert set(caught.value.errors) == {"name", "phones[0]", "emails[0]"}


def test_company_must_be_a_company_and_owner_a_user(sessions):
    with sessions.begin() as s:
        owner = make_user(s)
    person = create(sessions, {"name": "Pat Person"}).customer
    acme = create(sessions, {"name": "Acme Ltd", "kind": "company"}).customer
    with pytest.raises(ValidationError) as caught, sessions.begin() as s:
        C.create_customer(s, {"name": "Cleo", "company_id": person.id, "owner_id": owner + 1})
    assert "not a company" in caught.value.errors["company_id"]
    assert caught.value.errors["owner_id"] == f"no user {owner + 1}"
    contact = create(sessions, {"name": "Cleo", "company_id": acme.id, "owner_id": owner}).customer
    assert (contact.company_id, contact.owner_id) == (acme.id, owner)


def test_codes_are_unique(sessions):
    create(sessions, {"name": "First", "code": "C-1"})
    with pytest.raises(ValidationError) as caught, sessions.begin() as s:
        C.create_customer(s, {"name": "Second", "code": "C-1"})
    assert caught.value.errors == {"code": "already used by customer 1"}


def test_non_latin_names_are_stored_and_found(sessions):
    names = ["王小明", "Иван Петров", "Jürgen Müller", "김민수", "محمد علي", "山田 太郎"]
    ids = {name: create(sessions, {"name": name}).customer.id for name in names}
    with sessions() as s:
        assert [stored(sessions, ids[n])["name"] for n in names] == names
        assert [c.name for c in C.search_customers(s, "小明")] == ["王小明"]
        assert [c.name for c in C.search_customers(s, "иван")] == ["Иван Петров"]
        assert [c.name for c in C.search_customers(s, "MÜLLER")] == ["Jürgen Müller"]
        assert [c.name for c in C.search_customers(s, "민수")] == ["김민수"]
        assert [c.name for c in C.search_customers(s, "علي")] == ["محمد علي"]
        similar = C.find_similar(s, "王晓明")
        assert [(x.id, x.name) for x in similar] == [(ids["王小明"], "王小明")]
        assert similar[0].score >= 85
        assert C.find_similar(s, "王大伟") == []  # same surname, another given name
        assert [x.name for x in C.find_similar(s, "ИВАН ПЕТРОВ")] == ["Иван Петров"]


def test_duplicate_phone_or_email_is_blocked_with_who_owns_it(sessions):
    with sessions.begin() as s:
        owner = make_user(s)
    first = create(sessions, {"name": "Ann Owner", "owner_id": owner, "phones": ["+1 415 555 2671"],
                              "emails": ["ann@example.com"]}).customer
    before = counts(sessions)
    with pytest.raises(DuplicateCustomer) as caught, sessions.begin() as s:
        C.create_customer(s, {"name": "Someone Else", "phones": ["(415) 555-2671"],
                              "emails": ["ANN@Example.com"]})
    assert caught.value.details["matches"] == [
        {"id": first.id, "name": "Ann Owner", "owner_id": owner, "matched_on": "email",
         "value": "ann@example.com"},
        {"id": first.id, "name": "Ann Owner", "owner_id": owner, "matched_on": "phone",
         "value": "+14155552671"}]
    assert caught.value.status == 409
    assert "Ann Owner" in caught.value.to_dict()["message"]
    assert counts(sessions) == before


def test_allow_duplicate_lets_a_shared_office_number_through(sessions):
    create(sessions, {"name": "Ann", "phones": ["+1 415 555 0100"]})
    second = create(sessions, {"name": "Bob", "phones": ["415-555-0100"]}, allow_duplicate=True)
    with sessions() as s:
        owners = s.scalars(select(Phone.customer_id).where(Phone.e164 == "+14155550100")).all()
    assert sorted(owners) == [1, second.customer.id]


def test_similar_names_are_suggested_never_blocking(sessions):
    with sessions.begin() as s:
        owner = make_user(s)
    jon = create(sessions, {"name": "Jonathan Smith", "owner_id": owner}).customer
    create(sessions, {"name": "Alice Cooper"})
    result = create(sessions, {"name": "Jonathon Smith"})
    assert [(x.id, x.name, x.owner_id) for x in result.similar] == [(jon.id, "Jonathan Smith", owner)]
    assert 85 <= result.similar[0].score < 100
    with sessions() as s:
        found = C.find_similar(s, "smith jonathan")
        assert [x.name for x in found] == ["Jonathan Smith", "Jonathon Smith"]
        assert found[0].score >= 95  # the same words in another order
        assert [x.name for x in C.find_similar(s, "JONATHAN SMITH", exclude_id=jon.id)] == \
            ["Jonathon Smith"]
        assert C.find_similar(s, "Bob Marley") == []
        assert C.find_similar(s, "") == []
        assert len(C.find_similar(s, "Jonathan Smith", limit=1)) == 1
    assert create(sessions, {"name": "Alice Cooper"}).similar[0].score == 100


def test_create_is_audited_with_the_created_fields(sessions):
    with sessions.begin() as s:
        actor = make_user(s)
    made = create(sessions, {"name": "Ada", "phones": ["+44 20 7946 0958"], "tags": ["vip"]},
                  actor_id=actor).customer
    with sessions() as s:
        [entry] = audit.history(s, "customer", made.id)
    assert (entry.action, entry.user_id) == ("create", actor)
    assert entry.changes["name"] == "Ada" and entry.changes["tags"] == ["vip"]
    assert entry.changes["phones"] == [{"e164": "+442079460958", "label": ""}]


def test_customer_as_dict_is_json_ready(sessions):
    made = create(sessions, {"name": "Ada", "custom_fields": {"shoe": 42}, "emails": ["a@b.org"],
                             "tags": ["z", "a"]}).customer
    data = stored(sessions, made.id)
    assert json.loads(json.dumps(data)) == data
    assert data["version"] == 1 and data["tags"] == ["a", "z"]
    assert datetime.fromisoformat(data["created_at"]).tzinfo is not None
    assert data["emails"] == [{"address": "a@b.org", "label": ""}]
    assert data["custom_fields"] == {"shoe": 42}


def test_get_unknown_customer_is_not_found(sessions):
    with sessions() as s, pytest.raises(NotFound) as caught:
        C.get_customer(s, 42)
    assert caught.value.status == 404


# -- update -------------------------------------------------------------------------

def test_update_changes_fields_bumps_version_and_audits_the_diff(sessions):
    with sessions.begin() as s:
        actor = make_user(s)
    made = create(sessions, {"name": "Ada", "city": "London"}).customer
    with sessions.begin() as s:
        updated = C.update_customer(s, made.id, {"city": "Paris", "level": "gold"},
                                    expected_version=1, actor_id=actor)
        assert updated.version == 2
    data = stored(sessions, made.id)
    assert (data["city"], data["level"], data["name"], data["version"]) == ("Paris", "gold", "Ada", 2)
    with sessions() as s:
        entry = audit.history(s, "customer", made.id)[-1]
    assert entry.action == "update" and entry.user_id == actor
    assert entry.changes == {"city": ["London", "Paris"], "level": ["standard", "gold"]}


def test_an_update_that_changes_nothing_writes_nothing(sessions):
    made = create(sessions, {"name": "Ada", "city": "London"}).customer
    with sessions.begin() as s:
        assert C.update_customer(s, made.id, {"city": "London"}, expected_version=1).version == 1
    with sessions() as s:
        assert len(audit.history(s, "customer", made.id)) == 1


def test_stale_version_is_a_conflict_and_nothing_changes(sessions):
    made = create(sessions, {"name": "Ada", "phones": ["+1 415 555 2671"]}).customer
    with sessions.begin() as s:
        C.update_customer(s, made.id, {"city": "Paris"}, expected_version=1)
    before = stored(sessions, made.id)
    with pytest.raises(Conflict) as caught, sessions.begin() as s:
        C.update_customer(s, made.id, {"city": "Rome", "phones": []}, expected_version=1)
    assert caught.value.message == ("customer 1 was changed by someone else (version 2, you had 1); "
                                    "reload and retry")
    assert caught.value.details == {"current_version": 2}
    assert stored(sessions, made.id) == before


def test_two_sessions_editing_the_same_customer_the_second_gets_a_conflict(sessions):
    made = create(sessions, {"name": "Ada"}).customer
    first, second = sessions(), sessions()
    with first, second:
        first.begin()
        second.begin()
        read_first = C.get_customer(first, made.id).version
        read_second = C.get_customer(second, made.id).version
        C.update_customer(first, made.id, {"city": "Paris"}, expected_version=read_first)
        first.commit()
        with pytest.raises(Conflict) as caught:
            C.update_customer(second, made.id, {"city": "Rome"}, expected_version=read_second)
        second.rollback()
    assert caught.value.details == {"current_version": 2}
    assert stored(sessions, made.id)["city"] == "Paris"


def test_a_write_racing_an_uncommitted_edit_gets_a_conflict(sessions):
    """The second editor reads version 1 while the first has written but not yet
    committed; its UPDATE waits on the row, then finds the version gone (the
    version_id_col guard, StaleDataError) and is told so as a Conflict."""
    made = create(sessions, {"name": "Ada"}).customer
    outcome = {}

    def second_editor():
        try:
            with sessions.begin() as s:
                C.update_customer(s, made.id, {"city": "Rome"}, expected_version=1)
            outcome["result"] = "saved"
        except Exception as exc:  # noqa: BLE001 - the test reports whatever happened
            outcome["result"] = exc

    with sessions() as first:
        first.begin()
        C.update_customer(first, made.id, {"city": "Paris"}, expected_version=1)
        thread = threading.Thread(target=second_editor)
        thread.start()
        time.sleep(0.5)  # let the second editor read and block on the row
        first.commit()
    thread.join(timeout=60)
    assert isinstance(outcome["result"], Conflict), outcome
    assert outcome["result"].details == {"current_version": 2}
    assert stored(sessions, made.id)["city"] == "Paris"


def test_given_phones_emails_and_tags_replace_the_current_ones(sessions):
    made = create(sessions, {"name": "Ada", "phones": ["+1 415 555 0001", "+1 415 555 0002"],
                             "emails": ["a@x.org"], "tags": ["old", "keep"]}).customer
    with sessions.begin() as s:
        C.update_customer(s, made.id, {
            "phones": [{"number": "415 555 0002", "label": "work"}, "+44 20 7946 0958"],
            "emails": ["B@x.org"], "tags": ["keep", "new"]}, expected_version=1)
    data = stored(sessions, made.id)
    assert data["phones"] == [{"e164": "+14155550002", "label": "work"},
                              {"e164": "+442079460958", "label": ""}]
    assert data["emails"] == [{"address": "b@x.org", "label": ""}]
    assert data["tags"] == ["keep", "new"] and data["version"] == 2
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Phone)) == 2
        assert audit.history(s, "customer", made.id)[-1].changes["phones"][0] == [
            {"e164": "+14155550001", "label": ""}, {"e164": "+14155550002", "label": ""}]


def test_an_update_only_to_phones_still_moves_the_version(sessions):
    made = create(sessions, {"name": "Ada", "phones": ["+1 415 555 0001"]}).customer
    with sessions.begin() as s:
        C.update_customer(s, made.id, {"phones": ["+1 415 555 0009"]}, expected_version=1)
    with pytest.raises(Conflict), sessions.begin() as s:
        C.update_customer(s, made.id, {"phones": []}, expected_version=1)


def test_update_refuses_numbers_of_other_customers_but_keeps_its_own_shared_one(sessions):
    create(sessions, {"name": "Ann", "phones": ["+1 415 555 0100", "+1 415 555 0111"]})
    bob = create(sessions, {"name": "Bob", "phones": ["+1 415 555 0100"]},
                 allow_duplicate=True).customer
    with sessions.begin() as s:  # the shared office number is already Bob's: fine
        C.update_customer(s, bob.id, {"phones": ["+1 415 555 0100", "+1 415 555 0122"]},
                          expected_version=1)
    with pytest.raises(DuplicateCustomer) as caught, sessions.begin() as s:
        C.update_customer(s, bob.id, {"phones": ["+1 415 555 0111"]}, expected_version=2)
    assert [(m["id"], m["value"]) for m in caught.value.details["matches"]] == [(1, "+14155550111")]
    assert stored(sessions, bob.id)["version"] == 2
    with sessions.begin() as s:
        C.update_customer(s, bob.id, {"phones": ["+1 415 555 0111"]}, expected_version=2,
                          allow_duplicate=True)
    assert stored(sessions, bob.id)["phones"] == [{"e164": "+14155550111", "label": ""}]


@pytest.mark.parametrize("changes, field", [
    (lambda own_id: {"name": ""}, "name"),
    (lambda own_id: {"phones": ["+1 415 555 0002", "12ab"]}, "phones[1]"),
    (lambda own_id: {"company_id": own_id}, "company_id"),
    (lambda own_id: {"code": "C-1"}, "code"),
    (lambda own_id: {"emails": ["nope"]}, "emails[0]"),
    (lambda own_id: {"kind": "robot"}, "kind")])
def test_a_refused_update_writes_nothing(sessions, changes, field):
    create(sessions, {"name": "Other", "code": "C-1"})
    made = create(sessions, {"name": "Ada", "phones": ["+1 415 555 0001"]}).customer
    before = stored(sessions, made.id)
    with pytest.raises(ValidationError) as caught, sessions.begin() as s:
        C.update_customer(s, made.id, changes(made.id), expected_version=1)
    assert field in caught.value.errors
    assert stored(sessions, made.id) == before


def test_a_company_with_contacts_cannot_become_a_person(sessions):
    acme = create(sessions, {"name": "Acme", "kind": "company"}).customer
    create(sessions, {"name": "Cleo", "company_id": acme.id})
    with pytest.raises(ValidationError) as caught, sessions.begin() as s:
        C.update_customer(s, acme.id, {"kind": "person"}, expected_version=1)
    assert "1 contacts" in caught.value.errors["kind"]


def test_update_of_unknown_customer_is_not_found(sessions):
    with pytest.raises(NotFound), sessions.begin() as s:
        C.update_customer(s, 7, {"city": "Paris"}, expected_version=1)


# -- delete -------------------------------------------------------------------------

def test_delete_cascades_keeps_the_history_and_is_audited(sessions):
    with sessions.begin() as s:
        actor = make_user(s)
    made = create(sessions, {"name": "Ada", "phones": ["+1 415 555 0001"], "emails": ["a@x.org"],
                             "tags": ["vip"]}).customer
    with sessions.begin() as s:
        s.add(Interaction(direction="inbound", customer_id=made.id, started_at=T0,
                          linkedid="1.1", status="completed"))
        s.add(Ticket(customer_id=made.id, subject="Broken"))
    with sessions.begin() as s:
        C.delete_customer(s, made.id, actor_id=actor)
    with sessions() as s:
        assert s.get(Customer, made.id) is None
        for model in (Phone, Email, CustomerTag, Ticket):
            assert s.scalar(select(func.count()).select_from(model)) == 0
        call = s.scalar(select(Interaction))
        assert call.linkedid == "1.1" and call.customer_id is None
        entry = audit.history(s, "customer", made.id)[-1]
    assert (entry.action, entry.user_id) == ("delete", actor)
    assert entry.changes["name"] == "Ada" and entry.changes["emails"][0]["address"] == "a@x.org"


def test_delete_of_unknown_customer_is_not_found(sessions):
    with pytest.raises(NotFound), sessions.begin() as s:
        C.delete_customer(s, 5)


# -- search -------------------------------------------------------------------------

@pytest.fixture
def directory(sessions):
    for data in ({"name": "Zoe Zhang", "code": "Z-9", "phones": ["+1 415 555 0001"],
                  "emails": ["zoe@acme.com"]},
                 {"name": "adam apple", "code": "A-1", "emails": ["adam@apple.example"]},
                 {"name": "Bob Acme", "code": "B_2", "phones": ["+44 20 7946 0958"]},
                 {"name": "100% Pure", "code": "P-100"},
                 {"name": "Foo_Bar"}, {"name": "FooXBar"}, {"name": "back\\slash"}):
        create(sessions, data)
    return sessions


def names(sessions, query, **kw):
    with sessions() as s:
        return [c.name for c in C.search_customers(s, query, **kw)]


def test_search_by_phone_in_any_format(directory):
    assert names(directory, "(415) 555-0001") == ["Zoe Zhang"]
    assert names(directory, "0044 20 7946 0958") == ["Bob Acme"]
    assert names(directory, "+1 415 555 0999") == []


def test_search_by_email(directory):
    assert names(directory, "ZOE@ACME.COM") == ["Zoe Zhang"]
    assert names(directory, "@apple.example") == ["adam apple"]


def test_search_by_name_or_code_case_insensitive_ordered_by_name(directory):
    assert names(directory, "ACME") == ["Bob Acme"]
    assert names(directory, "z-9") == ["Zoe Zhang"]
    found = names(directory, "a")
    assert set(found) == {"adam apple", "back\\slash", "Bob Acme", "Foo_Bar", "FooXBar", "Zoe Zhang"}
    assert found.index("Bob Acme") < found.index("Zoe Zhang")
    assert names(directory, "") == names(directory, "   ")
    assert len(names(directory, "")) == 7


def test_like_wildcards_in_the_query_are_taken_literally(directory):
    assert names(directory, "100%") == ["100% Pure"]
    assert names(directory, "%") == ["100% Pure"]
    assert names(directory, "o_B") == ["Foo_Bar"]
    assert names(directory, "_") == ["Bob Acme", "Foo_Bar"]  # Bob by his code B_2
    assert names(directory, "k\\s") == ["back\\slash"]
    assert names(directory, "'; DROP TABLE customers; --") == []


def test_search_pages_with_limit_and_offset(directory):
    everyone = names(directory, "")
    assert names(directory, "", limit=3) == everyone[:3]
    assert names(directory, "", limit=3, offset=3) == everyone[3:6]
    with pytest.raises(ValidationError):
        names(directory, "", limit=0)
    with pytest.raises(ValidationError):
        names(directory, "", offset=-1)
