"""The card, the timeline, notes, the caller-ID lookup and merging, over HTTP."""
from .test_api_support import api_template, world  # noqa: F401 (fixtures)


def test_the_card_has_the_customer_and_its_history(world):
    ada = world.new_customer("Ada", phones=["+15551230001"])
    world.post(f"/customers/{ada['id']}/notes", json={"text": "Asked about invoices"})
    world.post("/dnc", role="supervisor", json={"number": "+15551230001"})
    card = world.get(f"/customers/{ada['id']}/card?last=5").get_json()
    assert card["customer"]["name"] == "Ada"
    assert [i["notes"] for i in card["interactions"]] == ["Asked about invoices"]
    assert card["do_not_call"] == ["+15551230001"]
    assert set(card) >= {"company", "contacts", "open_tickets", "pending_callbacks"}


def test_card_of_an_unknown_customer_is_404(world):
    assert world.get("/customers/42/card").status_code == 404


def test_notes_land_on_the_timeline_newest_first(world):
    ada = world.new_customer("Ada")
    for text in ("first", "second", "third"):
        reply = world.post(f"/customers/{ada['id']}/notes", json={"text": text, "subject": "概要"})
        assert reply.status_code == 201
        assert reply.get_json()["agent_id"] == world.user_ids["agent"]
    page = world.get(f"/customers/{ada['id']}/timeline?page=1&per_page=2").get_json()
    assert page["total"] == 3 and (page["page"], page["per_page"]) == (1, 2)
    assert [i["notes"] for i in page["items"]] == ["third", "second"]
    assert page["items"][0]["subject"] == "概要"
    page2 = world.get(f"/customers/{ada['id']}/timeline?page=2&per_page=2").get_json()
    assert [i["notes"] for i in page2["items"]] == ["first"]


def test_a_note_is_checked(world):
    ada = world.new_customer("Ada")
    empty = world.post(f"/customers/{ada['id']}/notes", json={"text": "  "})
    assert empty.status_code == 422 and "text" in empty.get_json()["fields"]
    call = world.post(f"/customers/{ada['id']}/notes", json={"text": "x", "channel": "call"})
    assert call.status_code == 422 and "channel" in call.get_json()["fields"]
    assert world.post("/customers/99/notes", json={"text": "x"}).status_code == 404


def test_lookup_by_phone_in_any_format(world):
    ada = world.new_customer("Ada", phones=["+15551230001"])
    reply = world.get("/lookup?number=(555) 123-0001").get_json()
    assert [m["id"] for m in reply["matches"]] == [ada["id"]]
    assert set(reply["matches"][0]) == {"id", "name", "kind", "level", "owner_id", "language"}
    assert world.get("/lookup?number=anonymous").get_json()["matches"] == []


def test_lookup_needs_a_number(world):
    reply = world.get("/lookup")
    assert reply.status_code == 422 and "number" in reply.get_json()["fields"]


def test_a_supervisor_merges_two_records(world):
    keep = world.new_customer("Ada", phones=["+15551230001"])
    absorb = world.new_customer("Ada L.", emails=["ada@example.org"], city="London")
    world.post(f"/customers/{absorb['id']}/notes", json={"text": "old note"})
    reply = world.post(f"/customers/{keep['id']}/merge", role="supervisor",
                       json={"absorb_id": absorb["id"]})
    assert reply.status_code == 200
    kept = reply.get_json()
    assert kept["emails"] == [{"address": "ada@example.org", "label": ""}]
    assert kept["city"] == "London" and kept["version"] == 2
    assert world.get(f"/customers/{absorb['id']}").status_code == 404
    timeline = world.get(f"/customers/{keep['id']}/timeline").get_json()
    assert [i["notes"] for i in timeline["items"]] == ["old note"]


def test_merge_checks_its_body(world):
    ada = world.new_customer("Ada")
    itself = world.post(f"/customers/{ada['id']}/merge", role="admin",
                        json={"absorb_id": ada["id"]})
    assert itself.status_code == 422 and "absorb_id" in itself.get_json()["fields"]
    missing = world.post(f"/customers/{ada['id']}/merge", role="admin", json={})
    assert missing.status_code == 422 and "absorb_id" in missing.get_json()["fields"]
    bad = world.post(f"/customers/{ada['id']}/merge", role="admin", json={"absorb_id": "2"})
    assert bad.status_code == 422
    assert world.post(f"/customers/{ada['id']}/merge", role="admin",
                      json={"absorb_id": 999}).status_code == 404
