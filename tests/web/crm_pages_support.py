"""Shared set-up for the CRM pages' tests (this module holds no tests): an app on
each backend with signed-up users, a desk and a feeds object that record what
the pages asked of them, and a signed-in browser that sends the CSRF token.

Hashing a password costs more than a whole page request, so every user gets
one hash made once per test run (the password is the same for all).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from werkzeug.security import generate_password_hash

from agent_console.app import create_app
from crm_core import customers
from crm_core.models import AuditEntry, Customer, Interaction, Ticket, User
from tests.backends import BACKENDS, migrated_sessions

from .desks import RecordingDesk
from .test_web_signin import PASSWORD, SECRET, sign_in

ROLES = ("agent", "supervisor", "admin")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


@functools.cache
def password_hash() -> str:
    return generate_password_hash(PASSWORD)


class RecordingFeeds:
    def __init__(self):
        self.linked: list[tuple[str, int]] = []

    def customer_linked(self, linkedid, customer_id):
        self.linked.append((linkedid, customer_id))


@dataclass
class Crm:
    client: FlaskClient
    sessions: sessionmaker
    desk: RecordingDesk
    feeds: RecordingFeeds
    user_ids: dict[str, int] = field(default_factory=dict)

    def sign_in(self, username: str = "agent1") -> None:
        assert sign_in(self.client, username).status_code == 302

    def csrf(self) -> str:
        with self.client.session_transaction() as s:
            return s["csrf"]

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, *, token: bool = True, **kwargs):
        data = dict(data or {})
        if token:
            data["csrf_token"] = self.csrf()
        return self.client.post(path, data=data, **kwargs)

    def page(self, path: str, status: int = 200) -> str:
        reply = self.get(path)
        assert reply.status_code == status, reply.get_data(as_text=True)
        return reply.get_data(as_text=True)

    def customer(self, name: str, **data) -> int:
        with self.sessions.begin() as s:
            return customers.create_customer(s, {"name": name, **data},
                                             allow_duplicate=True).customer.id

    def count(self, model) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(model))

    def counts(self) -> tuple[int, ...]:
        """Rows of everything a CRM page can write: a refused form changes none."""
        return tuple(self.count(m) for m in (Customer, Interaction, Ticket, AuditEntry))

    def add_calls(self, customer_id: int, count: int, **facts) -> None:
        with self.sessions.begin() as s:
            for n in range(count):
                s.add(Interaction(direction="inbound", customer_id=customer_id, status="completed",
                                  linkedid=f"{customer_id}.{n}", caller_number="+14155550001",
                                  started_at=T0 + timedelta(minutes=n), **facts))


def _add_users(sessions: sessionmaker) -> dict[str, int]:
    people = [(f"{role}1", role, f"The {role}", True) for role in ROLES]
    people += [("agent2", "agent", "Bo Owner", True), ("gone1", "agent", "Gone Agent", False)]
    with sessions.begin() as s:
        rows = [User(username=name, role=role, display_name=shown, active=active,
                     password_hash=password_hash()) for name, role, shown, active in people]
        s.add_all(rows)
        s.flush()
        return {row.username: row.id for row in rows}


@pytest.fixture(params=BACKENDS)
def crm(request, tmp_path):
    with migrated_sessions(request.param, tmp_path, "CRM pages") as sessions:
        desk, feeds = RecordingDesk(), RecordingFeeds()
        app = create_app(sessions, secret_key=SECRET, desk=desk, feeds=feeds)
        yield Crm(app.test_client(), sessions, desk, feeds, _add_users(sessions))


@pytest.fixture
def agent(crm):
    """The CRM with agent1 signed in."""
    crm.sign_in("agent1")
    return crm


def assert_escaped(body: str, raw: str, escaped: str) -> None:
    assert raw not in body
    assert escaped in body
