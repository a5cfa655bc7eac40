"""Errors of the API, all JSON from one place: bad bodies, bad parameters,
unknown routes, wrong methods, oversize bodies and unexpected failures."""
import pytest

from crm_core import dispositions

from .test_api_support import api_template, world  # noqa: F401 (fixtures)


@pytest.mark.parametrize("data,content_type,reason", [
    ("{not json", "application/json", "not valid JSON"),
    ('{"name": NaN}', "application/json", "not valid JSON"),
    ('["a", "list"]', "application/json", "must be a JSON object"),
    ("name=Ada", "application/x-www-form-urlencoded", "Content-Type: application/json"),
    ("", "application/json", "not valid JSON"),
    (b"\xff\xfe{}", "application/json", "not UTF-8"),
    ('{"a": ' + "[" * 100_000, "application/json", "nested too deeply"),
])
def test_a_body_that_is_not_a_json_object_is_400_naming_body(world, data, content_type, reason):
    reply = world.post("/customers", data=data, content_type=content_type)
    assert reply.status_code == 400
    body = reply.get_json()
    assert body["error"] == "malformed_body" and reason in body["fields"]["body"]


def test_an_oversize_body_is_413_json(world):
    big = '{"name": "' + "x" * (1024 * 1024) + '"}'
    reply = world.post("/customers", data=big, content_type="application/json")
    assert reply.status_code == 413
    assert reply.mimetype == "application/json"
    assert reply.get_json()["error"] == "request_entity_too_large"


def test_a_body_just_under_the_limit_is_read(world):
    reply = world.post("/customers", json={"name": "x" * 500_000})
    assert reply.status_code == 422 and "name" in reply.get_json()["fields"]


@pytest.mark.parametrize("query,param", [
    ("limit=abc", "limit"), ("limit=0", "limit"), ("limit=201", "limit"), ("limit=-1", "limit"),
    ("limit=1.5", "limit"), ("limit=1_0", "limit"), ("offset=-1", "offset"),
    ("offset=x", "offset"),
])
def test_bad_paging_parameters_are_422_naming_them(world, query, param):
    reply = world.get(f"/customers?{query}")
    assert reply.status_code == 422
    body = reply.get_json()
    assert body["error"] == "validation_failed" and list(body["fields"]) == [param]


@pytest.mark.parametrize("path,param", [
    ("/customers/1/timeline?page=0", "page"), ("/customers/1/timeline?per_page=500", "per_page"),
    ("/callbacks/due?limit=x", "limit"), ("/tickets?assignee_id=me", "assignee_id"),
    ("/dnc?limit=1000", "limit"), ("/dispositions?active_only=maybe", "active_only"),
    ("/customers/1/card?last=0", "last"),
])
def test_other_query_parameters_are_checked(world, path, param):
    reply = world.get(path, role="admin")
    assert reply.status_code == 422 and param in reply.get_json()["fields"]


def test_unknown_routes_are_404_json(world):
    reply = world.get("/no/such/thing")
    assert reply.status_code == 404 and reply.get_json()["error"] == "not_found"
    assert world.get("/customers/0").status_code == 404  # ids start at 1
    assert world.get("/customers/99999999999").status_code == 404


def test_a_wrong_method_is_405_json_with_allow(world):
    reply = world.call("PUT", "/customers")
    assert reply.status_code == 405
    assert reply.get_json()["error"] == "method_not_allowed"
    assert "POST" in reply.headers["Allow"]


def test_pages_outside_the_api_keep_their_html_errors(world):
    reply = world.client.get("/no-such-page")
    assert reply.status_code == 404 and reply.mimetype == "text/html"


def test_an_unexpected_failure_is_500_json_without_internals(world, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/db")
    monkeypatch.setattr(dispositions, "list_dispositions", broken)
    reply = world.get("/dispositions")
    assert reply.status_code == 500
    body = reply.get_json()
    assert body["error"] == "internal_error"
    assert "secret" not in reply.get_data(as_text=True)
    assert "Traceback" not in reply.get_data(as_text=True)
    assert "secret internals" in caplog.text  # but it is logged


def test_a_failed_request_changes_nothing(world, monkeypatch):
    # The handler owns the transaction: an error after a write rolls it back.
    original = dispositions.create_disposition

    def create_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("after the write")
    monkeypatch.setattr(dispositions, "create_disposition", create_then_fail)
    reply = world.post("/dispositions", role="admin", json={"code": "ghost", "label": "Ghost"})
    assert reply.status_code == 500
    monkeypatch.undo()
    codes = [d["code"] for d in world.get("/dispositions").get_json()["items"]]
    assert "ghost" not in codes


def test_unknown_body_fields_are_named(world):
    reply = world.post("/tickets", json={"customer_id": 1, "subject": "x", "colour": "red"})
    assert reply.status_code == 422 and reply.get_json()["fields"]["colour"] == "unknown field"


def test_replies_are_not_cached_and_not_sniffed(world):
    reply = world.get("/dispositions")
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
