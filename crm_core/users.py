"""People who use the platform: accounts, passwords, teams and API tokens.

Passwords are kept only as werkzeug scrypt hashes and tokens only as their
SHA-256; neither plain value is ever stored, logged or audited.
"""
from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .errors import Conflict, NotFound, ValidationError
from .models import ROLES, ApiToken, Team, User
from .validation import clean_text

USERNAME = re.compile(r"^[a-z0-9_.-]{2,64}$")
PASSWORD_MIN = 10
PASSWORD_MAX = 1024  # scrypt on megabytes of input would be a cheap denial of service
_dummy_hash: str | None = None


def _check_password(password, errors: dict) -> None:
    if not isinstance(password, str):
        errors["password"] = "must be text"
    elif len(password) < PASSWORD_MIN:
        errors["password"] = f"at least {PASSWORD_MIN} characters"
    elif len(password) > PASSWORD_MAX:
        errors["password"] = f"at most {PASSWORD_MAX} characters"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clean_new_user(username, password, role, display_name, team) -> dict:
    errors: dict[str, str] = {}
    if not isinstance(username, str) or not USERNAME.match(username):
        errors["username"] = "2-64 lower-case letters, digits, '_', '.' or '-'"
    if role not in ROLES:
        errors["role"] = f"must be one of {', '.join(ROLES)}"
    _check_password(password, errors)
    name = clean_text(display_name, "display_name", 128, errors)
    team_name = clean_text(team, "team", 80, errors) if team is not None else None
    if errors:
        raise ValidationError(errors)
    return {"display_name": name, "team": team_name or None}


def create_user(session: Session, username: str, password: str, role: str, *,
                display_name: str = "", team: str | None = None,
                actor_id: int | None = None) -> User:
    clean = _clean_new_user(username, password, role, display_name, team)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken", field="username")
    team_id = get_or_create_team(session, clean["team"]).id if clean["team"] else None
    user = User(username=username, display_name=clean["display_name"], role=role,
                team_id=team_id, active=True, password_hash=generate_password_hash(password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # taken by a concurrent transaction since the check above
        raise Conflict(f"username {username!r} is taken", field="username") from None
    audit.record(session, actor_id=actor_id, entity="user", entity_id=user.id, action="create",
                 changes={"username": username, "role": role, "team": clean["team"]})
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, else None. An unknown name costs one
    hash check too, so timing does not tell which usernames exist."""
    global _dummy_hash
    if not isinstance(username, str) or not isinstance(password, str) \
            or len(password) > PASSWORD_MAX:
        return None
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        _dummy_hash = _dummy_hash or generate_password_hash(secrets.token_hex(16))
        check_password_hash(_dummy_hash, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", user_id=user_id)
    return user


def set_password(session: Session, user_id: int, password: str, *,
                 actor_id: int | None = None) -> None:
    errors: dict[str, str] = {}
    _check_password(password, errors)
    if errors:
        raise ValidationError(errors)
    user = get_user(session, user_id)
    user.password_hash = generate_password_hash(password)
    audit.record(session, actor_id=actor_id, entity="user", entity_id=user.id, action="update",
                 changes={"password": "changed"})


def deactivate_user(session: Session, user_id: int, *, actor_id: int | None = None) -> None:
    """Also revokes the user's tokens, so re-activating does not revive old ones."""
    user = get_user(session, user_id)
    if user.active:
        user.active = False
        audit.record(session, actor_id=actor_id, entity="user", entity_id=user.id,
                     action="update", changes={"active": [True, False]})
    revoke_tokens(session, user_id, actor_id=actor_id)


def get_or_create_team(session: Session, name: str) -> Team:
    errors: dict[str, str] = {}
    clean = clean_text(name, "team", 80, errors, required=True)
    if errors:
        raise ValidationError(errors)
    team = session.scalar(select(Team).where(Team.name == clean))
    if team is None:
        team = Team(name=clean)
        session.add(team)
        session.flush()
    return team


def issue_token(session: Session, user_id: int, label: str = "", *,
                actor_id: int | None = None) -> str:
    """The plain token, returned this once; only its SHA-256 is kept."""
    errors: dict[str, str] = {}
    clean_label = clean_text(label, "label", 80, errors)
    if errors:
        raise ValidationError(errors)
    user = get_user(session, user_id)
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), label=clean_label))
    audit.record(session, actor_id=actor_id, entity="user", entity_id=user.id, action="update",
                 changes={"token": "issued", "label": clean_label})
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not isinstance(token, str) or not token or len(token) > 256:
        return None
    return session.scalar(select(User).join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == _token_hash(token), User.active.is_(True)))


def revoke_tokens(session: Session, user_id: int, *, actor_id: int | None = None) -> int:
    """How many tokens were revoked."""
    get_user(session, user_id)
    count = session.execute(delete(ApiToken).where(ApiToken.user_id == user_id)).rowcount
    if count:
        audit.record(session, actor_id=actor_id, entity="user", entity_id=user_id,
                     action="update", changes={"tokens_revoked": count})
    return count
