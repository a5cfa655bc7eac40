"""Shared set-up for the REST API tests (this module holds no tests).

Hashing three passwords costs more than everything else a test does, so the
users and their tokens are made once, in a template SQLite database that each
test copies into its own folder.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from agent_console.app import create_app
from crm_core import db, interactions, migrate, users
from crm_core.models import Interaction

API = "/api/v1"
ROLES = ("agent", "supervisor", "admin")
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Template:
    path: Path
    tokens: dict[str, str]
    user_ids: dict[str, int]


def seed_users(sessions: sessionmaker) -> tuple[dict[str, str], dict[str, int]]:
    tokens, ids = {}, {}
    with sessions.begin() as s:
        for role in ROLES:
            user = users.create_user(s, f"{role}1", PASSWORD, role, display_name=f"The {role}")
            tokens[role] = users.issue_token(s, user.id, "tests")
            ids[role] = user.id
    return tokens, ids


def build_template(folder: Path) -> Template:
    path = folder / "template.db"
    engine = db.make_engine(db.sqlite_url(path))
    migrate.upgrade(engine)
    tokens, ids = seed_users(db.session_factory(engine))
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return Template(path, tokens, ids)


@dataclass
class World:
    """One app over one database, with a token per role."""
    client: FlaskClient
    sessions: sessionmaker
    tokens: dict[str, str]
    user_ids: dict[str, int]
    engine: object = field(default=None, repr=False)

    def call(self, method: str, path: str, *, role: str | None = "agent",
             headers: dict | None = None, **kwargs):
        headers = dict(headers or {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return self.client.open(API + path, method=method, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def patch(self, path, **kw):
        return self.call("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def new_customer(self, name: str = "Ada Lovelace", **fields) -> dict:
        reply = self.post("/customers", json={"name": name, **fields})
        assert reply.status_code == 201, reply.get_json()
        return reply.get_json()["customer"]

    def save_call(self, linkedid: str = "1.1", **facts) -> int:
        """A finished inbound call in the history; its interaction id."""
        with self.sessions.begin() as s:
            interactions.save_call(s, interactions.CallFacts(
                linkedid=linkedid, direction="inbound", started_at=datetime.now(timezone.utc),
                **facts))
        with self.sessions() as s:
            return s.scalar(select(Interaction.id).where(Interaction.linkedid == linkedid))


def world_over(path: Path, template: Template, *, region: str = "US") -> World:
    engine = db.make_engine(db.sqlite_url(path))
    sessions = db.session_factory(engine)
    app = create_app(sessions, region=region, secret_key="t" * 40)
    return World(app.test_client(), sessions, template.tokens, template.user_ids, engine)


_built: dict[str, Template] = {}


@pytest.fixture(scope="session")
def api_template(tmp_path_factory) -> Template:
    # Imported into each test module, this fixture is one per module to pytest: build once.
    if "template" not in _built:
        _built["template"] = build_template(tmp_path_factory.mktemp("api-template"))
    return _built["template"]


@pytest.fixture
def world(api_template, tmp_path) -> World:
    """A fresh database per test, copied from the template."""
    shutil.copy(api_template.path, tmp_path / "crm.db")
    w = world_over(tmp_path / "crm.db", api_template)
    yield w
    w.engine.dispose()
