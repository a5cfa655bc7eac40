"""Accounts, passwords and API tokens on both databases."""
import hashlib

import pytest
from sqlalchemy import select

from crm_core import audit, users as U
from crm_core.errors import Conflict, NotFound, ValidationError
from crm_core.models import ApiToken, Team, User

PASSWORD = "correct horse battery"


def make_user(sessions, username="alice", **kw) -> int:
    with sessions.begin() as s:
        return U.create_user(s, username, PASSWORD, kw.pop("role", "agent"), **kw).id


def test_the_password_is_stored_only_as_a_hash(sessions):
    uid = make_user(sessions, display_name="Alice A.", team="Billing")
    with sessions() as s:
        user = s.get(User, uid)
        assert PASSWORD not in user.password_hash and user.password_hash.startswith("scrypt:")
        assert s.get(Team, user.team_id).name == "Billing"
        entries = audit.history(s, "user", uid)
        assert [e.action for e in entries] == ["create"]
        assert PASSWORD not in str(entries[0].changes)


def test_authenticate_ok_wrong_unknown_and_inactive(sessions):
    uid = make_user(sessions)
    with sessions() as s:
        assert U.authenticate(s, "alice", PASSWORD).id == uid
        assert U.authenticate(s, "Alice", PASSWORD).id == uid  # user names are lower-case
        assert U.authenticate(s, "alice", PASSWORD + "x") is None
        assert U.authenticate(s, "bob", PASSWORD) is None
        assert U.authenticate(s, "alice", None) is None
    with sessions.begin() as s:
        U.deactivate_user(s, uid)
    with sessions() as s:
        assert U.authenticate(s, "alice", PASSWORD) is None


def test_set_password_replaces_the_old_one(sessions):
    uid = make_user(sessions)
    with sessions.begin() as s:
        U.set_password(s, uid, "another long secret")
    with sessions() as s:
        assert U.authenticate(s, "alice", PASSWORD) is None
        assert U.authenticate(s, "alice", "another long secret").id == uid
        with pytest.raises(ValidationError) as err:
            U.set_password(s, uid, "short")
        assert "password" in err.value.errors


def test_duplicate_username_is_a_conflict(sessions):
    make_user(sessions)
    with pytest.raises(Conflict):
        make_user(sessions)
    with sessions() as s:
        assert len(s.scalars(select(User)).all()) == 1


@pytest.mark.parametrize("username, password, role, field", [
    ("Alice", PASSWORD, "agent", "username"),
    ("a", PASSWORD, "agent", "username"),
    ("al ice", PASSWORD, "agent", "username"),
    ("alice", "123456789", "agent", "password"),
    ("alice", PASSWORD, "root", "role"),
])
def test_bad_accounts_are_refused_and_nothing_is_written(sessions, username, password, role,
                                                         field):
    with sessions.begin() as s:
        with pytest.raises(ValidationError) as err:
            U.create_user(s, username, password, role, team="Nobody")
        assert field in err.value.errors
    with sessions() as s:
        assert s.scalars(select(User)).all() == [] and s.scalars(select(Team)).all() == []


def test_get_user_and_teams(sessions):
    with sessions.begin() as s:
        assert U.get_or_create_team(s, "Sales").id == U.get_or_create_team(s, " Sales ").id
        with pytest.raises(NotFound):
            U.get_user(s, 999)


def test_tokens_are_stored_hashed_found_and_revoked(sessions):
    uid = make_user(sessions)
    with sessions.begin() as s:
        token = U.issue_token(s, uid, "softphone")
        second = U.issue_token(s, uid)
    with sessions() as s:
        stored = s.scalars(select(ApiToken.token_hash)).all()
        assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored
        assert U.user_for_token(s, token).id == uid
        assert U.user_for_token(s, "not-a-token") is None and U.user_for_token(s, "") is None
    with sessions.begin() as s:
        assert U.revoke_tokens(s, uid) == 2
    with sessions() as s:
        assert U.user_for_token(s, token) is None and U.user_for_token(s, second) is None


def test_an_inactive_users_token_does_not_work(sessions):
    uid = make_user(sessions)
    with sessions.begin() as s:
        token = U.issue_token(s, uid)
        s.get(User, uid).active = False  # deactivated some other way: still refused
    with sessions() as s:
        assert U.user_for_token(s, token) is None
    with sessions.begin() as s:
        U.deactivate_user(s, uid)
        assert s.scalars(select(ApiToken)).all() == []
