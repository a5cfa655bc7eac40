"""Sign-in for the web pages: roles, sessions, CSRF, logout, redirects, the
secret key, and the REST API left on bearer tokens."""
import os
import re
import stat
from datetime import datetime, timezone

import pytest

from agent_console.app import create_app
from agent_console.web_auth import SECRET_KEY_FILE, load_secret_key, login_required
from crm_core import interactions, users
from tests.backends import BACKENDS, migrated_sessions

SECRET = "test-secret-key-" + "x" * 32
PASSWORD = "correct horse battery"
ROLES = ("agent", "supervisor", "admin")
COOKIE = "callcenter_session"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(client, path="/login") -> str:
    page = client.get(path)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, page.get_data(as_text=True)
    return match.group(1)


def sign_in(client, username, password=PASSWORD, next_=None):
    token = form_token(client)
    data = {"username": username, "password": password, "csrf_token": token}
    if next_ is not None:
        data["next"] = next_
    return client.post("/login", data=data)


def session_of(client) -> dict:
    with client.session_transaction() as s:
        return dict(s)


@pytest.fixture(params=BACKENDS)
def sessions(request, tmp_path):
    with migrated_sessions(request.param, tmp_path, "web sign-in") as factory:
        with factory.begin() as s:
            for role in ROLES:
                users.create_user(s, f"{role}1", PASSWORD, role, display_name=f"The {role}")
            gone = users.create_user(s, "gone1", PASSWORD, "agent")
            users.deactivate_user(s, gone.id)
        yield factory


@pytest.fixture
def app(sessions):
    app = create_app(sessions, secret_key=SECRET)

    @app.route("/admin-only", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @login_required("admin")
    def admin_only():
        return "admin page"
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def user_id(sessions, username):
    from sqlalchemy import select
    from crm_core.models import User
    with sessions() as s:
        return s.scalar(select(User.id).where(User.username == username))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_and_sees_the_history(client, sessions, role):
    reply = sign_in(client, f"{role}1")
    assert reply.status_code == 302 and reply.headers["Location"] == "/"
    stored = session_of(client)
    assert stored["user_id"] == user_id(sessions, f"{role}1") and stored["role"] == role
    page = client.get("/history")
    assert page.status_code == 200 and f"The {role} ({role})" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_the_session_cookie_is_httponly_lax_and_expires(client):
    cookie = sign_in(client, "agent1").headers["Set-Cookie"]
    assert cookie.startswith(COOKIE + "=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie


def test_secure_cookies_when_asked(sessions):
    client = create_app(sessions, secret_key=SECRET, secure_cookies=True).test_client()
    assert "Secure" in client.get("/login").headers["Set-Cookie"]


def test_wrong_password_and_unknown_user_look_the_same(client):
    wrong = sign_in(client, "agent1", "not the password")
    unknown = sign_in(client, "nobody1", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "Unknown username or wrong password." in wrong.get_data(as_text=True)
    assert wrong.get_data(as_text=True).replace("agent1", "NAME") \
        == unknown.get_data(as_text=True).replace("nobody1", "NAME")
    assert "user_id" not in session_of(client)
    assert client.get("/").status_code == 302


def test_an_inactive_user_is_refused(client):
    reply = sign_in(client, "gone1")
    assert reply.status_code == 401 and "wrong password" in reply.get_data(as_text=True)
    assert "user_id" not in session_of(client)


def test_deactivation_ends_a_running_session(client, sessions):
    sign_in(client, "agent1")
    assert client.get("/history").status_code == 200
    with sessions.begin() as s:
        users.deactivate_user(s, user_id(sessions, "agent1"))
    assert client.get("/history").status_code == 302


def test_logout_clears_the_session(client):
    sign_in(client, "agent1")
    token = session_of(client)["csrf"]
    reply = client.post("/logout", data={"csrf_token": token})
    assert reply.status_code == 302 and reply.headers["Location"] == "/login"
    assert "user_id" not in session_of(client)
    again = client.get("/")
    assert again.status_code == 302 and again.headers["Location"].startswith("/login")


def test_the_history_page_needs_sign_in(client):
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/"
    assert client.get("/", headers={"Accept": "application/json"}).status_code == 401
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_a_wrong_role_gets_403(client):
    sign_in(client, "agent1")
    assert client.get("/admin-only").status_code == 403
    client.post("/logout", data={"csrf_token": session_of(client)["csrf"]})
    sign_in(client, "admin1")
    assert client.get("/admin-only").get_data(as_text=True) == "admin page"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_state_changes_need_the_csrf_token(client, method):
    sign_in(client, "admin1")
    token = session_of(client)["csrf"]
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
        refused = client.open("/admin-only", method=method, headers=headers)
        assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    accepted = client.open("/admin-only", method=method, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 200


def test_logout_without_the_token_changes_nothing(client):
    sign_in(client, "agent1")
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": "guess"}).status_code == 400
    assert client.get("/history").status_code == 200  # still signed in
    assert client.post("/logout", headers={"X-CSRF-Token": session_of(client)["csrf"]}) \
        .status_code == 302
    assert client.get("/history").status_code == 302


def test_login_csrf(app, client):
    # No token, or another browser's token: refused even with the right password.
    data = {"username": "agent1", "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 400
    other = app.test_client()
    assert client.post("/login", data={**data, "csrf_token": form_token(other)}).status_code == 400
    assert "user_id" not in session_of(client)
    assert client.post("/login", data={**data, "csrf_token": form_token(client)}).status_code == 302


@pytest.mark.parametrize("target, location", [
    ("/?page=2", "/?page=2"),
    ("//evil.example/", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("\\\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
    ("/\r\nX: y", "/"),
])
def test_no_open_redirect(client, target, location):
    reply = sign_in(client, "agent1", next_=target)
    assert reply.status_code == 302 and reply.headers["Location"] == location


def test_next_survives_the_login_page(client):
    page = client.get("/login?next=//evil.example").get_data(as_text=True)
    assert 'name="next" value="/"' in page
    page = client.get("/login?next=/admin-only").get_data(as_text=True)
    assert 'name="next" value="/admin-only"' in page


def test_a_new_session_after_sign_in(client):
    # An attacker-planted anonymous session: none of it survives sign-in.
    with client.session_transaction() as s:
        s["csrf"] = "planted-token"
        s["planted"] = "yes"
    reply = client.post("/login", data={"username": "agent1", "password": PASSWORD,
                                        "csrf_token": "planted-token"})
    assert reply.status_code == 302
    after = session_of(client)
    assert "planted" not in after and after["csrf"] != "planted-token"
    assert set(after) == {"user_id", "role", "csrf", "_permanent"}


def test_escaped_names_on_the_history_page(client, sessions):
    from crm_core import customers
    with sessions.begin() as s:
        evil = customers.create_customer(s, {"name": "<script>alert(1)</script>"}).customer
        interactions.save_call(s, interactions.CallFacts(
            linkedid="3.3", direction="inbound", started_at=datetime.now(timezone.utc),
            caller_number="+15551230001", caller_name="<b>x</b>"), customer_id=evil.id)
    assert "alert" not in client.get("/history", follow_redirects=True).get_data(as_text=True)
    sign_in(client, "agent1")
    body = client.get("/history").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "<b>x</b>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "&lt;b&gt;x&lt;/b&gt;" in body


def test_the_api_takes_bearer_tokens_or_the_session_with_its_csrf_token(client, sessions):
    with sessions.begin() as s:
        token = users.issue_token(s, user_id(sessions, "agent1"), "tests")
    sign_in(client, "admin1")  # the browser now holds an admin session cookie
    # The cookie alone is no credential: a cross-site page could make the browser send it.
    assert client.get("/api/v1/customers").status_code == 401
    assert client.post("/api/v1/customers", json={"name": "Ada"}).status_code == 401
    wrong = {"X-CSRF-Token": "not-the-token"}
    assert client.get("/api/v1/customers", headers=wrong).status_code == 401
    console = {"X-CSRF-Token": session_of(client)["csrf"]}  # what the console's scripts send
    mine = client.post("/api/v1/customers", json={"name": "Grace"}, headers=console)
    assert mine.status_code == 201
    grace = mine.get_json()["customer"]["id"]
    bearer = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/customers", json={"name": "Ada"}, headers=bearer)
    assert created.status_code == 201  # no CSRF token needed: bearer tokens are not ambient
    assert "Set-Cookie" not in created.headers  # the API never touches the session
    # ... and a bearer token acts as its agent, not as the session's admin.
    customer = created.get_json()["customer"]["id"]
    assert client.delete(f"/api/v1/customers/{customer}", headers=bearer).status_code == 403
    assert client.delete(f"/api/v1/customers/{grace}",
                         headers={**bearer, **console}).status_code == 403
    assert client.delete(f"/api/v1/customers/{grace}", headers=console).status_code == 204
    plain = create_app(sessions, secret_key=SECRET).test_client()
    assert plain.get("/api/v1/customers", headers=bearer).status_code == 200


def test_a_deactivated_users_console_session_is_refused_by_the_api(client, sessions):
    sign_in(client, "agent1")
    console = {"X-CSRF-Token": session_of(client)["csrf"]}
    assert client.get("/api/v1/customers", headers=console).status_code == 200
    with sessions.begin() as s:
        users.deactivate_user(s, user_id(sessions, "agent1"))
    assert client.get("/api/v1/customers", headers=console).status_code == 401


def test_home_sends_agents_to_the_console_and_supervisors_to_the_wallboard(client):
    sign_in(client, "agent1")
    assert client.get("/").headers["Location"] == "/agent"
    client.post("/logout", data={"csrf_token": session_of(client)["csrf"]})
    sign_in(client, "supervisor1")
    assert client.get("/").headers["Location"] == "/wallboard"


def test_no_app_without_a_secret_key(sessions):
    for key in (None, "", "too short"):
        with pytest.raises(ValueError, match="secret key"):
            create_app(sessions, secret_key=key)


def test_the_secret_key_file_is_private_and_reused(tmp_path):
    folder = tmp_path / "data"
    key = load_secret_key("", folder)
    path = folder / SECRET_KEY_FILE
    assert len(key) >= 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_secret_key("", folder) == key  # sessions survive a restart
    assert load_secret_key("configured-" + "k" * 32, folder) == "configured-" + "k" * 32
    os.chmod(path, 0o644)
    assert load_secret_key("", folder) == key and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    path.write_text("\n")
    with pytest.raises(ValueError, match="delete it"):
        load_secret_key("", folder)


def test_sessions_survive_a_new_app_with_the_same_key(sessions, client):
    sign_in(client, "agent1")
    cookie = client.get_cookie(COOKIE).value
    again = create_app(sessions, secret_key=SECRET).test_client()
    again.set_cookie(COOKIE, cookie)
    assert again.get("/history").status_code == 200
    other = create_app(sessions, secret_key="another-" + "k" * 32).test_client()
    other.set_cookie(COOKIE, cookie)
    assert other.get("/history").status_code == 302



def test_guessing_a_password_is_held_after_five_failures(client, app, sessions):
    for _ in range(5):
        assert sign_in(client, "agent1", "guess").status_code == 401
    held = sign_in(client, "agent1")  # even the right password is not checked now
    assert held.status_code == 429
    assert 0 < int(held.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins. Try again in 15 minutes." in held.get_data(as_text=True)
    assert "user_id" not in session_of(client)
    # an unknown username is held the same way (no account enumeration)
    for _ in range(5):
        sign_in(client, "nobody1", "guess")
    assert sign_in(client, "nobody1", "guess").status_code == 429
    # another account signs in from the same place
    assert sign_in(client, "supervisor1").status_code == 302


def test_a_success_resets_the_count_and_the_address_limit_holds_spraying(client, app):
    for _ in range(4):
        sign_in(client, "admin1", "guess")
    assert sign_in(client, "admin1").status_code == 302
    for _ in range(4):
        assert sign_in(client, "admin1", "guess").status_code == 401  # counted afresh
    for n in range(30 - 8):  # one address trying many names: 30 failures in the window
        sign_in(client, f"spray{n}", "guess")
    held = sign_in(client, "agent1")
    assert held.status_code == 429 and held.headers["Retry-After"]
