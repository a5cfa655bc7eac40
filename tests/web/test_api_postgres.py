"""One smoke test of the API on each backend: SQLite, and PostgreSQL where reachable."""
import pytest

from agent_console.app import create_app
from tests.backends import BACKENDS, migrated_sessions

from .test_api_support import API, seed_users


@pytest.fixture(params=BACKENDS)
def sessions(request, tmp_path):
    with migrated_sessions(request.param, tmp_path, "the API") as factory:
        yield factory


def test_smoke(sessions):
    tokens, _ = seed_users(sessions)
    client = create_app(sessions, secret_key="t" * 40).test_client()

    def call(method, path, role="agent", **kw):
        return client.open(API + path, method=method,
                           headers={"Authorization": f"Bearer {tokens[role]}"}, **kw)

    created = call("POST", "/customers", json={"name": "王小明", "phones": ["+86 138 0013 8000"]})
    assert created.status_code == 201
    customer = created.get_json()["customer"]
    dup = call("POST", "/customers", json={"name": "Wang", "phones": ["+8613800138000"]})
    assert dup.status_code == 409 and dup.get_json()["matches"][0]["id"] == customer["id"]
    assert call("GET", "/customers?q=小明").get_json()["items"][0]["id"] == customer["id"]
    edited = call("PATCH", f"/customers/{customer['id']}", json={"city": "上海", "version": 1})
    assert edited.status_code == 200 and edited.get_json()["version"] == 2
    stale = call("PATCH", f"/customers/{customer['id']}", json={"city": "北京", "version": 1})
    assert stale.status_code == 409
    ticket = call("POST", "/tickets", json={"customer_id": customer["id"], "subject": "退款"})
    assert ticket.status_code == 201
    card = call("GET", f"/customers/{customer['id']}/card").get_json()
    assert card["customer"]["city"] == "上海" and len(card["open_tickets"]) == 1
    assert call("GET", "/customers/2147483647").status_code == 404
    assert call("DELETE", f"/customers/{customer['id']}", role="agent").status_code == 403
    assert call("DELETE", f"/customers/{customer['id']}", role="admin").status_code == 204


def test_control_characters_are_refused_before_the_database(sessions):
    """PostgreSQL cannot store or even compare a NUL: a 422 naming the field, never a 500."""
    tokens, _ = seed_users(sessions)
    client = create_app(sessions, secret_key="t" * 40).test_client()
    bearer = {"Authorization": f"Bearer {tokens['agent']}"}
    reply = client.get(API + "/customers?q=ab%00c", headers=bearer)
    assert reply.status_code == 422 and "q" in reply.get_json()["fields"]
    for body, field in (({"name": "Ada", "emails": ["ada\x00@example.org"]}, "emails[0]"),
                        ({"name": "Ada", "custom_fields": {"note": "a\x00b"}}, "custom_fields"),
                        ({"name": "Ada", "custom_fields": {"n\x00": "x"}}, "custom_fields")):
        reply = client.post(API + "/customers", json=body, headers=bearer)
        assert reply.status_code == 422 and field in reply.get_json()["fields"], reply.get_json()
    assert client.get(API + "/customers?q=Ada", headers=bearer).get_json()["items"] == []
