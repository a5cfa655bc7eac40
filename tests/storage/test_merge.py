"""Merging two records of one customer, on both databases."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from crm_core import audit, customers as C
from crm_core.errors import Conflict, NotFound, ValidationError
from crm_core.merge import merge_customers
from crm_core.models import AuditEntry, Callback, Customer, Interaction, Ticket, User

T0 = datetime(2025, 3, 1, 9, 0, 0, tzinfo=timezone.utc)


def create(s, data, **kw) -> int:
    return C.create_customer(s, data, allow_duplicate=True, **kw).customer.id


@pytest.fixture
def pair(sessions):
    """Two records of one person: the kept one sparse, the absorbed one rich."""
    with sessions.begin() as s:
        owner = User(username="owner", password_hash="x", role="agent")
        s.add(owner)
        s.flush()
        keep = create(s, {"name": "Ada Lovelace", "segment": "retail", "custom_fields": {"a": 1},
                          "phones": ["+1 415 555 0001", "+1 415 555 0002"],
                          "emails": ["ada@x.org"], "tags": ["vip"]})
        absorb = create(s, {"name": "Ada King", "code": "AK-1", "segment": "b2b", "city": "London",
                            "owner_id": owner.id, "custom_fields": {"a": 2, "b": 3},
                            "phones": ["+1 415 555 0002", "+44 20 7946 0958"],
                            "emails": ["ADA@x.org", "countess@x.org"], "tags": ["vip", "math"]})
        for n in range(3):
            s.add(Interaction(direction="inbound", customer_id=absorb, linkedid=f"a.{n}",
                              started_at=T0 + timedelta(minutes=n), status="completed"))
        s.add(Interaction(direction="inbound", customer_id=keep, linkedid="k.0", started_at=T0,
                          status="completed"))
        s.add_all([Ticket(customer_id=absorb, subject="engine", status="open"),
                   Ticket(customer_id=absorb, subject="old", status="closed")])
        s.add(Callback(customer_id=absorb, phone_e164="+442079460958", due_at=T0))
    return sessions, keep, absorb, owner.id


def test_merge_moves_everything_and_fills_only_empty_fields(pair):
    sessions, keep, absorb, owner = pair
    with sessions.begin() as s:
        kept = merge_customers(s, keep, absorb)
        assert kept.id == keep and kept.version == 2
    with sessions() as s:
        data = C.customer_as_dict(C.get_customer(s, keep))
        assert s.get(Customer, absorb) is None
        assert s.scalars(select(Interaction.customer_id)).all() == [keep] * 4
        assert s.scalars(select(Ticket.customer_id)).all() == [keep, keep]
        assert s.scalars(select(Ticket.version)).all() == [2, 2]
        assert s.scalar(select(Callback.customer_id)) == keep
    assert [p["e164"] for p in data["phones"]] == ["+14155550001", "+14155550002", "+442079460958"]
    assert [e["address"] for e in data["emails"]] == ["ada@x.org", "countess@x.org"]
    assert data["tags"] == ["math", "vip"]
    assert (data["name"], data["segment"]) == ("Ada Lovelace", "retail")  # never overwritten
    assert (data["code"], data["city"], data["owner_id"]) == ("AK-1", "London", owner)
    assert data["custom_fields"] == {"a": 1, "b": 3}


def test_a_merge_is_one_audit_entry_that_explains_it(pair):
    sessions, keep, absorb, owner = pair
    with sessions.begin() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
        merge_customers(s, keep, absorb, actor_id=owner)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before + 1
        entry = audit.history(s, "customer", keep)[-1]
        interactions = s.scalars(select(Interaction.id).where(Interaction.linkedid.like("a.%"))).all()
        tickets = s.scalars(select(Ticket.id).order_by(Ticket.id)).all()
    assert (entry.action, entry.user_id, entry.entity_id) == ("merge", owner, str(keep))
    changes = entry.changes
    assert changes["absorbed"]["id"] == absorb and changes["absorbed"]["name"] == "Ada King"
    assert changes["absorbed"]["phones"][1]["e164"] == "+442079460958"
    moved = changes["moved"]
    assert moved["interactions"] == {"count": 3, "ids": sorted(interactions)}
    assert moved["tickets"] == {"count": 2, "ids": tickets}
    assert moved["phones"]["count"] == 1 and moved["emails"]["count"] == 1
    assert moved["tags"] == {"count": 1, "tags": ["math"]}
    assert moved["callbacks"]["count"] == 1 and moved["contacts"]["count"] == 0
    assert changes["dropped"] == {"phones": ["+14155550002"], "emails": ["ada@x.org"],
                                  "tags": ["vip"]}
    assert changes["filled"] == {"code": "AK-1", "city": "London", "owner_id": owner,
                                 "custom_fields": {"b": 3}}


def test_merging_companies_moves_their_contacts(sessions):
    with sessions.begin() as s:
        keep = create(s, {"name": "Acme Ltd", "kind": "company"})
        absorb = create(s, {"name": "ACME Limited", "kind": "company"})
        contacts = [create(s, {"name": n, "company_id": absorb}) for n in ("Cleo", "Dan")]
        create(s, {"name": "Eve", "company_id": keep})
    with sessions.begin() as s:
        merge_customers(s, keep, absorb)
    with sessions() as s:
        rows = s.execute(select(Customer.name, Customer.company_id, Customer.version)
                         .where(Customer.kind == "person").order_by(Customer.name)).all()
        entry = audit.history(s, "customer", keep)[-1]
    assert [tuple(r) for r in rows] == [("Cleo", keep, 2), ("Dan", keep, 2), ("Eve", keep, 1)]
    assert entry.changes["moved"]["contacts"] == {"count": 2, "ids": contacts}


def test_an_edit_read_before_the_merge_gets_a_conflict(pair):
    sessions, keep, absorb, _ = pair
    with sessions.begin() as s:
        merge_customers(s, keep, absorb)
    with pytest.raises(Conflict) as caught, sessions.begin() as s:
        C.update_customer(s, keep, {"city": "Paris"}, expected_version=1)
    assert caught.value.to_dict()["current_version"] == 2


@pytest.mark.parametrize("ids, error", [((1, 1), ValidationError), ((1, 99), NotFound),
                                        ((99, 1), NotFound)])
def test_refused_merges_change_nothing(pair, ids, error):
    sessions, *_ = pair
    with sessions() as s:
        before = [C.customer_as_dict(c) for c in s.scalars(select(Customer).order_by(Customer.id))]
    with pytest.raises(error), sessions.begin() as s:
        merge_customers(s, *ids)
    with sessions() as s:
        assert [C.customer_as_dict(c) for c in s.scalars(select(Customer).order_by(Customer.id))] \
            == before


def test_a_person_and_a_company_do_not_merge(sessions):
    with sessions.begin() as s:
        person = create(s, {"name": "Acme"})
        company = create(s, {"name": "Acme", "kind": "company"})
    with pytest.raises(ValidationError) as caught, sessions.begin() as s:
        merge_customers(s, company, person)
    assert "only records of one kind merge" in caught.value.errors["absorb_id"]
