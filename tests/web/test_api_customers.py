"""Customers over HTTP: create, duplicates, read, search, edit with versions, delete."""
import pytest

from .test_api_support import api_template, world  # noqa: F401 (fixtures)

XSS = "<script>alert(1)</script>"


def test_create_returns_201_with_location_version_and_hints(world):
    first = world.new_customer("Jonathan Smith", phones=["+1 555 123 0001"])
    reply = world.post("/customers", json={"name": "Jonathon Smith"})
    assert reply.status_code == 201
    new_id = reply.get_json()["customer"]["id"]
    assert reply.headers["Location"].endswith(f"/api/v1/customers/{new_id}")
    assert reply.headers["ETag"] == '"1"'
    body = reply.get_json()
    assert body["customer"]["version"] == 1
    assert [s["id"] for s in body["similar"]] == [first["id"]]
    assert first["phones"] == [{"e164": "+15551230001", "label": ""}]


def test_a_duplicate_phone_is_409_with_the_matches(world):
    first = world.new_customer("Ada", phones=["+15551230001"])
    reply = world.post("/customers", json={"name": "Other", "phones": ["(555) 123-0001"]})
    assert reply.status_code == 409
    body = reply.get_json()
    assert body["error"] == "duplicate_customer"
    assert body["matches"][0]["id"] == first["id"] and body["matches"][0]["matched_on"] == "phone"
    assert world.get("/customers").get_json()["items"] == [first]  # nothing was written


def test_allow_duplicate_creates_anyway(world):
    world.new_customer("Office A", phones=["+15551230001"])
    reply = world.post("/customers", json={"name": "Office B", "phones": ["+15551230001"],
                                           "allow_duplicate": True})
    assert reply.status_code == 201


def test_allow_duplicate_must_be_a_boolean(world):
    reply = world.post("/customers", json={"name": "X", "allow_duplicate": "yes"})
    assert reply.status_code == 422 and "allow_duplicate" in reply.get_json()["fields"]


@pytest.mark.parametrize("fields,field,words", [
    ({"phones": ["555-CALL-NOW"]}, "phones[0]", "contains letters"),
    ({"phones": ["+15551230001", "１２３abc"]}, "phones[1]", "contains letters"),
    ({"name": "x" * 201}, "name", "longer than 200"),
    ({"name": ""}, "name", "required"),
    ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
    ({"emails": ["not-an-address"]}, "emails[0]", "e-mail"),
    ({"colour": "red"}, "colour", "unknown field"),
])
def test_validation_errors_name_the_field(world, fields, field, words):
    reply = world.post("/customers", json={"name": "Ada", **fields})
    assert reply.status_code == 422
    body = reply.get_json()
    assert body["error"] == "validation_failed" and words in body["fields"][field]
    assert field in body["message"]


def test_chinese_names_round_trip(world):
    created = world.new_customer("王小明", city="上海", timezone="Asia/Shanghai")
    assert world.get(f"/customers/{created['id']}").get_json()["name"] == "王小明"
    found = world.get("/customers?q=小明").get_json()["items"]
    assert [c["name"] for c in found] == ["王小明"]
    raw = world.get(f"/customers/{created['id']}").get_data()
    assert "王小明".encode() in raw  # UTF-8 as is, not \\u escapes


def test_a_script_name_comes_back_as_json_data(world):
    created = world.new_customer(XSS)
    reply = world.get(f"/customers/{created['id']}")
    assert reply.mimetype == "application/json"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.get_json()["name"] == XSS
    assert b"<script>" not in reply.get_data()  # '<' travels as \u003c: never sniffed as HTML


def test_the_history_page_still_escapes_it(world):
    from .test_web_signin import sign_in
    world.save_call(caller_number="+15551230001", caller_name=XSS)
    assert sign_in(world.client, "agent1").status_code == 302  # the page needs sign-in now
    page = world.client.get("/history").get_data(as_text=True)
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_read_and_not_found(world):
    created = world.new_customer("Ada")
    reply = world.get(f"/customers/{created['id']}", role="supervisor")
    assert reply.status_code == 200 and reply.get_json() == created
    assert reply.headers["ETag"] == '"1"'
    missing = world.get("/customers/999")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_search_pages(world):
    for name in ("Anna", "Bert", "Carl"):
        world.new_customer(name)
    page = world.get("/customers?limit=2&offset=1").get_json()
    assert [c["name"] for c in page["items"]] == ["Bert", "Carl"]
    assert (page["limit"], page["offset"]) == (2, 1)
    assert [c["name"] for c in world.get("/customers?q=ber").get_json()["items"]] == ["Bert"]


def test_patch_with_the_version_in_the_body(world):
    created = world.new_customer("Ada")
    reply = world.patch(f"/customers/{created['id']}", json={"city": "London", "version": 1})
    assert reply.status_code == 200
    assert reply.get_json()["city"] == "London" and reply.get_json()["version"] == 2
    assert reply.headers["ETag"] == '"2"'


def test_patch_with_if_match(world):
    created = world.new_customer("Ada")
    reply = world.patch(f"/customers/{created['id']}", json={"city": "Paris"},
                        headers={"If-Match": '"1"'})
    assert reply.status_code == 200 and reply.get_json()["version"] == 2


def test_a_stale_version_is_409_and_changes_nothing(world):
    created = world.new_customer("Ada")
    first = world.patch(f"/customers/{created['id']}", json={"city": "A", "version": 1})
    assert first.status_code == 200
    stale = world.patch(f"/customers/{created['id']}", json={"city": "B", "version": 1})
    assert stale.status_code == 409 and stale.get_json()["error"] == "conflict"
    assert world.get(f"/customers/{created['id']}").get_json()["city"] == "A"


@pytest.mark.parametrize("body,headers,field", [
    ({"city": "X"}, {}, "version"),
    ({"city": "X", "version": "one"}, {}, "version"),
    ({"city": "X", "version": True}, {}, "version"),
    ({"city": "X"}, {"If-Match": "*"}, "If-Match"),
])
def test_patch_needs_a_version(world, body, headers, field):
    created = world.new_customer("Ada")
    reply = world.patch(f"/customers/{created['id']}", json=body, headers=headers)
    assert reply.status_code == 422 and field in reply.get_json()["fields"]


def test_patch_validates_fields(world):
    created = world.new_customer("Ada")
    reply = world.patch(f"/customers/{created['id']}",
                        json={"phones": ["call me"], "version": 1})
    assert reply.status_code == 422 and "phones[0]" in reply.get_json()["fields"]


def test_admin_deletes(world):
    created = world.new_customer("Ada")
    assert world.delete(f"/customers/{created['id']}", role="admin").status_code == 204
    assert world.get(f"/customers/{created['id']}").status_code == 404
    assert world.delete(f"/customers/{created['id']}", role="admin").status_code == 404
