"""The history page: behind sign-in, and it escapes what callers control."""
from datetime import datetime, timezone

from agent_console.app import create_app
from crm_core import db, interactions, migrate, users

from .test_web_signin import PASSWORD, SECRET, sign_in


def signed_in(sessions):
    with sessions.begin() as s:
        users.create_user(s, "agent1", PASSWORD, "agent")
    client = create_app(sessions, secret_key=SECRET).test_client()
    assert sign_in(client, "agent1").status_code == 302
    return client


def app_with(tmp_path, **facts):
    engine = db.make_engine(db.sqlite_url(tmp_path / "crm.db"))
    migrate.upgrade(engine)
    sessions = db.session_factory(engine)
    with sessions.begin() as s:
        interactions.save_call(s, interactions.CallFacts(
            linkedid="1.1", direction="inbound", started_at=datetime.now(timezone.utc), **facts))
    return signed_in(sessions)


def test_caller_controlled_text_is_escaped(tmp_path):
    client = app_with(tmp_path, caller_number="+15551230001",
                      caller_name="<script>alert(1)</script>", dialled_number="8005550100")
    page = client.get("/history")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self';")
    assert page.headers["Cache-Control"] == "no-store"


def test_chinese_names_survive(tmp_path):
    body = app_with(tmp_path, caller_name="王小明").get("/history").get_data(as_text=True)
    assert "王小明" in body and "in progress" in body


def test_health(tmp_path):
    client = app_with(tmp_path)
    client.post("/logout", headers={"X-CSRF-Token": "x"})  # whatever happens, /healthz is open
    client.delete_cookie("callcenter_session")
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_the_customer_of_a_linked_call_is_shown(tmp_path):
    from crm_core import customers
    engine = db.make_engine(db.sqlite_url(tmp_path / "crm.db"))
    migrate.upgrade(engine)
    sessions = db.session_factory(engine)
    with sessions.begin() as s:
        ada = customers.create_customer(s, {"name": "Ada <b>Lovelace</b>"}).customer
        interactions.save_call(s, interactions.CallFacts(
            linkedid="2.2", direction="inbound", started_at=datetime.now(timezone.utc),
            caller_number="+15551230001"), customer_id=ada.id)
    body = signed_in(sessions).get("/history").get_data(as_text=True)
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in body
