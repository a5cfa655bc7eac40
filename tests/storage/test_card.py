"""The customer card, the timeline and notes on both databases. Tickets,
callbacks and the do-not-call list are written with the ORM models here, since
their own services belong to other modules."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from crm_core import audit, card, customers as C
from crm_core.errors import NotFound, ValidationError
from crm_core.models import Callback, DoNotCall, Interaction, Ticket, User

T0 = datetime(2025, 3, 1, 9, 0, 0, tzinfo=timezone.utc)  # before any note written now


def add_calls(s, customer_id: int, count: int, start: int = 0) -> None:
    # Every tenth call shares its start second with the one before: id decides.
    for n in range(start, start + count):
        s.add(Interaction(direction="inbound", customer_id=customer_id, linkedid=f"{customer_id}.{n}",
                          started_at=T0 + timedelta(minutes=n - n % 10 // 9), status="completed",
                          caller_number="+14155550001"))


@pytest.fixture
def ada(sessions):
    """A contact of Acme with 60 calls, tickets, callbacks and one number on the DNC list."""
    with sessions.begin() as s:
        acme = C.create_customer(s, {"name": "Acme", "kind": "company",
                                     "phones": ["+1 415 555 0100"]}).customer
        ada = C.create_customer(s, {"name": "Ada", "company_id": acme.id, "phones": [
            "+1 415 555 0001", "+1 415 555 0002", "+1 415 555 0003"]}).customer
        C.create_customer(s, {"name": "Bert", "company_id": acme.id})
        other = C.create_customer(s, {"name": "Other"}).customer
        add_calls(s, ada.id, 60)
        add_calls(s, other.id, 3)
        for n, status in enumerate(("new", "closed", "open", "resolved", "pending")):
            s.add(Ticket(customer_id=ada.id, subject=f"t{n} {status}", status=status,
                         created_at=T0 + timedelta(hours=n)))
        s.add(Ticket(customer_id=other.id, subject="not Ada's", status="open"))
        for n, state in enumerate(("pending", "done", "pending", "cancelled")):
            s.add(Callback(customer_id=ada.id, phone_e164="+14155550001", state=state,
                           due_at=T0 + timedelta(days=3 - n)))
        s.add_all([DoNotCall(e164="+14155550003"), DoNotCall(e164="+14155550001"),
                   DoNotCall(e164="+19995550000")])
    return sessions, ada.id, acme.id


def test_the_card_of_a_person(ada):
    sessions, ada_id, acme_id = ada
    with sessions() as s:
        found = card.customer_card(s, ada_id)
    assert found.customer["name"] == "Ada" and found.customer["version"] == 1
    assert found.company["id"] == acme_id and found.company["phones"][0]["e164"] == "+14155550100"
    assert found.contacts == []
    assert len(found.interactions) == 50
    assert {i["customer_id"] for i in found.interactions} == {ada_id}
    keys = [(i["started_at"], i["id"]) for i in found.interactions]
    assert keys == sorted(keys, reverse=True)
    assert found.interactions[0]["linkedid"] == f"{ada_id}.59"
    assert [t["subject"] for t in found.open_tickets] == ["t4 pending", "t2 open", "t0 new"]
    assert [c["due_at"] for c in found.pending_callbacks] == [
        (T0 + timedelta(days=1)).isoformat(), (T0 + timedelta(days=3)).isoformat()]
    assert found.do_not_call == ["+14155550001", "+14155550003"]


def test_the_card_of_a_company_lists_its_contacts(ada):
    sessions, ada_id, acme_id = ada
    with sessions() as s:
        found = card.customer_card(s, acme_id, last=5)
    assert found.company is None
    assert [c["name"] for c in found.contacts] == ["Ada", "Bert"]
    assert found.contacts[0]["phones"][0] == {"e164": "+14155550001", "label": ""}
    assert (found.interactions, found.open_tickets, found.do_not_call) == ([], [], [])


def test_last_sets_how_many_interactions(ada):
    sessions, ada_id, _ = ada
    with sessions() as s:
        assert len(card.customer_card(s, ada_id, last=7).interactions) == 7
        with pytest.raises(ValidationError):
            card.customer_card(s, ada_id, last=0)


def test_the_card_costs_the_same_few_queries_however_long_the_history(ada):
    sessions, ada_id, acme_id = ada

    def statements(customer_id):
        seen = []
        with sessions() as s:
            listener = lambda *args: seen.append(args[2])  # noqa: E731
            event.listen(s.get_bind(), "before_cursor_execute", listener)
            try:
                card.customer_card(s, customer_id)
            finally:
                event.remove(s.get_bind(), "before_cursor_execute", listener)
        return len(seen)

    before = statements(ada_id)
    with sessions.begin() as s:
        add_calls(s, ada_id, 500, start=100)
    assert statements(ada_id) == before <= 12
    assert statements(acme_id) <= 12


def test_unknown_customer_has_no_card(sessions):
    with sessions() as s, pytest.raises(NotFound):
        card.customer_card(s, 404)


def test_the_timeline_pages_newest_first(ada):
    sessions, ada_id, _ = ada
    with sessions() as s:
        pages = [card.timeline(s, ada_id, page=n, per_page=25) for n in (1, 2, 3, 4)]
        everything = card.timeline(s, ada_id, per_page=200)
    assert [len(p.items) for p in pages] == [25, 25, 10, 0]
    assert {(p.page, p.per_page, p.total) for p in pages[:1]} == {(1, 25, 60)}
    assert all(p.total == 60 for p in pages)
    ids = [i["id"] for p in pages for i in p.items]
    assert ids == [i["id"] for i in everything.items] and len(set(ids)) == 60


@pytest.mark.parametrize("page, per_page, field", [(0, 25, "page"), (1, 0, "per_page"),
                                                   (1, 201, "per_page"), ("2", 25, "page")])
def test_timeline_paging_is_checked(ada, page, per_page, field):
    sessions, ada_id, _ = ada
    with sessions() as s, pytest.raises(ValidationError) as caught:
        card.timeline(s, ada_id, page=page, per_page=per_page)
    assert field in caught.value.errors


def test_timeline_of_unknown_customer_is_not_found(sessions):
    with sessions() as s, pytest.raises(NotFound):
        card.timeline(s, 404)


def test_a_note_lands_on_top_of_the_timeline_and_is_audited(ada):
    sessions, ada_id, _ = ada
    with sessions.begin() as s:
        actor = User(username="agent", password_hash="x", role="agent")
        s.add(actor)
        s.flush()
        note = card.add_note(s, ada_id, "  Wants a call back.\nPrefers mornings.  ",
                             actor_id=actor.id, subject="Follow-up")
        data = card.interaction_as_dict(note)
    assert (data["channel"], data["direction"], data["status"], data["linkedid"]) == \
        ("note", "internal", "completed", None)
    assert data["notes"] == "Wants a call back.\nPrefers mornings."
    assert (data["subject"], data["agent_id"], data["customer_id"]) == ("Follow-up", actor.id, ada_id)
    with sessions() as s:
        newest = card.timeline(s, ada_id, per_page=1).items[0]
        [entry] = audit.history(s, "interaction", note.id)
    assert newest["id"] == note.id
    assert (entry.action, entry.user_id, entry.changes["customer_id"]) == ("create", actor.id, ada_id)


def test_a_visit_is_a_note_on_another_channel(ada):
    sessions, ada_id, _ = ada
    with sessions.begin() as s:
        assert card.add_note(s, ada_id, "Met at the fair", channel="visit").channel == "visit"


@pytest.mark.parametrize("text, kw, field", [
    ("", {}, "text"), ("   ", {}, "text"), (None, {}, "text"), ("x" * 20_001, {}, "text"),
    ("bell\x07", {}, "text"), ("nul\x00", {}, "text"), ("ok", {"channel": "call"}, "channel"),
    ("ok", {"channel": "pigeon"}, "channel"), ("ok", {"subject": "s" * 201}, "subject")])
def test_a_bad_note_is_refused_and_nothing_written(ada, text, kw, field):
    sessions, ada_id, _ = ada
    with pytest.raises(ValidationError) as caught, sessions.begin() as s:
        card.add_note(s, ada_id, text, **kw)
    assert field in caught.value.errors
    with sessions() as s:
        assert s.scalar(select(Interaction).where(Interaction.channel != "call")) is None


def test_the_longest_note_is_accepted(ada):
    sessions, ada_id, _ = ada
    with sessions.begin() as s:
        assert len(card.add_note(s, ada_id, "x" * 20_000).notes) == 20_000


def test_a_note_on_an_unknown_customer_is_not_found(sessions):
    with pytest.raises(NotFound), sessions.begin() as s:
        card.add_note(s, 404, "hello")
