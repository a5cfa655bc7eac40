"""A console app on a migrated CRM (SQLite and PostgreSQL) with users of every
role, a real push hub and feeds, and a desk that records what the console asks
of the engine (the engine's side of each command is tested on the lab)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from agent_console.app import create_app
from agent_console.feeds import Feeds
from agent_console.push import Hub
from crm_core import customers, dispositions, interactions, users
from tests.backends import BACKENDS, migrated_sessions

from .desks import RecordingDesk
from .test_web_signin import PASSWORD, SECRET, form_token, sign_in

ROLES = {"ann": "agent", "bob": "agent", "sue": "supervisor", "ada": "admin"}


@dataclass
class Console:
    app: object
    sessions: object
    desk: RecordingDesk
    hub: Hub
    feeds: Feeds
    ids: dict = field(default_factory=dict)

    def client(self, username: str | None = None):
        client = self.app.test_client()
        if username is not None:
            assert sign_in(client, username).status_code == 302
            client.csrf = form_token(client, "/agent")
        return client

    def call(self, linkedid: str, caller: str = "+15551230001", agent: str | None = None,
             customer_id: int | None = None) -> int:
        """A call in the history, as the engine writes it."""
        with self.sessions.begin() as s:
            interactions.save_call(s, interactions.CallFacts(
                linkedid=linkedid, direction="inbound", started_at=datetime.now(timezone.utc),
                caller_number=caller, dialled_number="8005550100"), customer_id=customer_id)
            row = interactions.by_linkedid(s, linkedid)
            if agent is not None:
                row.agent_id = self.ids[agent]
            return row.id


def post(client, path, body=None, csrf=True):
    headers = {"Accept": "application/json"}
    if csrf:
        headers["X-CSRF-Token"] = client.csrf
    return client.post(path, json=body if body is not None else {}, headers=headers)


def put(client, path, body, csrf=True):
    headers = {"Accept": "application/json"}
    if csrf:
        headers["X-CSRF-Token"] = client.csrf
    return client.put(path, json=body, headers=headers)


@pytest.fixture(scope="module", params=BACKENDS)
def console_crm(request, tmp_path_factory):
    """One CRM per module and backend (users' password hashes are slow to make);
    tests add their own calls with their own linkedids."""
    with migrated_sessions(request.param, tmp_path_factory.mktemp("crm"), "the console") \
            as sessions:
        ids = {}
        with sessions.begin() as s:
            for name, role in ROLES.items():
                ids[name] = users.create_user(s, name, PASSWORD, role,
                                              display_name=name.title()).id
            dispositions.seed_defaults(s)
            ids["ada lovelace"] = customers.create_customer(
                s, {"name": "Ada Lovelace", "phones": ["+15551230001"], "level": "vip",
                    "timezone": "Europe/London"}).customer.id
        yield sessions, ids


@pytest.fixture
def console(console_crm):
    sessions, ids = console_crm
    desk, hub = RecordingDesk(), Hub()
    feeds = Feeds(hub, sessions)
    app = create_app(sessions, secret_key=SECRET, desk=desk, hub=hub, feeds=feeds)
    yield Console(app, sessions, desk, hub, feeds, dict(ids))
    feeds.close()
