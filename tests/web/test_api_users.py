"""Users and tokens over HTTP (administrators only)."""
import pytest

from .test_api_support import api_template, world  # noqa: F401 (fixtures)


def test_create_a_user_and_issue_a_token_that_works(world):
    reply = world.post("/users", role="admin", json={
        "username": "li.na", "password": "s3cret-enough", "role": "agent",
        "display_name": "李娜", "team": "Sales"})
    assert reply.status_code == 201
    user = reply.get_json()
    assert user["display_name"] == "李娜" and user["role"] == "agent" and user["team_id"]
    assert "password" not in user and "password_hash" not in user
    issued = world.post(f"/users/{user['id']}/tokens", role="admin", json={"label": "softphone"})
    assert issued.status_code == 201
    token = issued.get_json()["token"]
    mine = world.get("/dispositions", role=None, headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200
    merge = world.post("/customers/1/merge", role=None, json={"absorb_id": 2},
                       headers={"Authorization": f"Bearer {token}"})
    assert merge.status_code == 403  # an agent's token carries an agent's rights


@pytest.mark.parametrize("body,field", [
    ({"username": "Bad Name", "password": "long enough!", "role": "agent"}, "username"),
    ({"username": "ok", "password": "short", "role": "agent"}, "password"),
    ({"username": "ok", "password": "long enough!", "role": "root"}, "role"),
    ({"username": "ok", "password": "long enough!"}, "role"),
])
def test_a_new_user_is_checked(world, body, field):
    reply = world.post("/users", role="admin", json=body)
    assert reply.status_code == 422 and field in reply.get_json()["fields"]


def test_a_taken_username_is_409(world):
    reply = world.post("/users", role="admin", json={"username": "agent1",
                                                     "password": "long enough!", "role": "agent"})
    assert reply.status_code == 409


def test_tokens_for_unknown_users_are_404(world):
    assert world.post("/users/999/tokens", role="admin", json={}).status_code == 404
