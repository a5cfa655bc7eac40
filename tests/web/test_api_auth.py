"""Every endpoint of the API behind its token and its roles: the whole matrix."""
import shutil

import pytest

from crm_core import users

from .test_api_support import API, ROLES, api_template, world, world_over  # noqa: F401 (fixtures)

EVERYONE = ("agent", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")
ADMINS = ("admin",)

# (method, path, roles allowed): the access matrix, written out independently of the code.
MATRIX = [
    ("GET", "/customers", EVERYONE),
    ("POST", "/customers", EVERYONE),
    ("GET", "/customers/1", EVERYONE),
    ("PATCH", "/customers/1", EVERYONE),
    ("DELETE", "/customers/1", ADMINS),
    ("GET", "/customers/1/card", EVERYONE),
    ("GET", "/customers/1/timeline", EVERYONE),
    ("POST", "/customers/1/notes", EVERYONE),
    ("POST", "/customers/1/merge", SUPERVISORS),
    ("GET", "/lookup?number=%2B15551230001", EVERYONE),
    ("GET", "/tickets", EVERYONE),
    ("POST", "/tickets", EVERYONE),
    ("GET", "/tickets/1", EVERYONE),
    ("PATCH", "/tickets/1", EVERYONE),
    ("POST", "/tickets/1/interactions", EVERYONE),
    ("POST", "/tickets/escalate", SUPERVISORS),
    ("POST", "/callbacks", EVERYONE),
    ("GET", "/callbacks/due", EVERYONE),
    ("PATCH", "/callbacks/1", EVERYONE),
    ("GET", "/dispositions", EVERYONE),
    ("POST", "/dispositions", ADMINS),
    ("PATCH", "/dispositions/sale", ADMINS),
    ("POST", "/interactions/1/disposition", EVERYONE),
    ("GET", "/dnc", SUPERVISORS),
    ("POST", "/dnc", SUPERVISORS),
    ("DELETE", "/dnc/+15551230001", ADMINS),
    ("GET", "/dnc/check?number=%2B15551230001", EVERYONE),
    ("POST", "/users", ADMINS),
    ("POST", "/users/1/tokens", ADMINS),
    ("GET", "/transcripts?q=refund", EVERYONE),
]
IDS = [f"{m} {p.split('?')[0]}" for m, p, _ in MATRIX]
FORBIDDEN = [pytest.param(m, p, role, id=f"{m} {p.split('?')[0]} as {role}")
             for m, p, allowed in MATRIX for role in ROLES if role not in allowed]
ALLOWED = [pytest.param(m, p, role, id=f"{m} {p.split('?')[0]} as {role}")
           for m, p, allowed in MATRIX for role in allowed]


@pytest.fixture(scope="module")
def shared(api_template, tmp_path_factory):
    """One database for the module: these requests are refused before they change anything."""
    path = tmp_path_factory.mktemp("api-auth") / "crm.db"
    shutil.copy(api_template.path, path)
    w = world_over(path, api_template)
    yield w
    w.engine.dispose()


def test_the_matrix_covers_every_route_with_the_same_roles(shared):
    app = shared.client.application
    adapter = app.url_map.bind("localhost")
    covered = {}
    for method, path, roles in MATRIX:
        endpoint, _ = adapter.match(API + path.split("?")[0], method=method)
        covered[(endpoint, method)] = roles
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api_v1.") and rule.endpoint != "api_v1.openapi"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert set(covered) == routes
    for (endpoint, _), roles in covered.items():
        assert app.view_functions[endpoint].allowed_roles == roles, endpoint


@pytest.mark.parametrize("method,path,roles", MATRIX, ids=IDS)
def test_no_token_is_401_with_a_challenge(shared, method, path, roles):
    reply = shared.call(method, path, role=None, json={})
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="callcenter-api"'
    assert reply.get_json()["error"] == "unauthenticated"


@pytest.mark.parametrize("method,path,roles", MATRIX, ids=IDS)
def test_bad_token_is_401(shared, method, path, roles):
    reply = shared.call(method, path, role=None, json={},
                        headers={"Authorization": "Bearer not-a-real-token"})
    assert reply.status_code == 401
    assert 'error="invalid_token"' in reply.headers["WWW-Authenticate"]
    assert reply.mimetype == "application/json"


@pytest.mark.parametrize("method,path,role", FORBIDDEN)
def test_roles_not_allowed_get_403(shared, method, path, role):
    reply = shared.call(method, path, role=role, json={})
    assert reply.status_code == 403
    body = reply.get_json()
    assert body["error"] == "forbidden" and role not in body["allowed_roles"]


@pytest.mark.parametrize("method,path,role", ALLOWED)
def test_allowed_roles_pass_the_guard(shared, method, path, role):
    # No body: an allowed call gets past auth and stops at its own checks.
    reply = shared.call(method, path, role=role)
    assert reply.status_code not in (401, 403), reply.get_json()
    assert reply.status_code < 500, reply.get_json()


@pytest.mark.parametrize("header", ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer a b",
                                    "Bearer " + "x" * 300, "token abc"])
def test_malformed_authorization_headers_are_401(shared, header):
    reply = shared.get("/customers", role=None, headers={"Authorization": header})
    assert reply.status_code == 401


def test_scheme_is_case_insensitive(shared):
    reply = shared.get("/dispositions", role=None,
                       headers={"Authorization": f"bearer {shared.tokens['agent']}"})
    assert reply.status_code == 200


def test_an_inactive_users_token_is_refused(world):
    with world.sessions.begin() as s:
        users.deactivate_user(s, world.user_ids["agent"])
    assert world.get("/dispositions", role="agent").status_code == 401


def test_openapi_is_public(shared):
    reply = shared.get("/openapi.yml", role=None)
    assert reply.status_code == 200 and "openapi: 3.1" in reply.get_data(as_text=True)


def test_no_cookies_are_set(shared):
    reply = shared.get("/customers", role="agent")
    assert "Set-Cookie" not in reply.headers
