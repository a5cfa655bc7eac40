"""GET /events: the signed-in user's stream, primed with the whole picture,
carrying pops to their agent alone, escaping what callers control, and ending
for a user deactivated meanwhile."""
import json

import pytest

from agent_console import events
from crm_core import users

from .console_support import console, console_crm  # noqa: F401  (fixtures)


class Reader:
    """Reads server-sent events off a streamed test response."""

    def __init__(self, response):
        self.response = response
        self.chunks = response.iter_encoded()
        self.raw = ""

    def next(self) -> tuple[str, object]:
        while True:
            chunk = next(self.chunks).decode()
            self.raw += chunk
            if chunk.startswith("event: "):
                head, data = chunk.strip().split("\n", 1)
                return head.removeprefix("event: "), json.loads(data.removeprefix("data: "))

    def close(self):
        self.response.close()


def open_stream(client) -> Reader:
    response = client.get("/events")
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    return Reader(response)


def test_anonymous_streams_are_refused(console):
    reply = console.client().get("/events", headers={"Accept": "text/event-stream"})
    assert reply.status_code in (302, 401)
    assert console.hub.connected() == 0


def test_the_stream_starts_with_the_whole_picture_then_changes(console):
    console.hub.agent_changed("ann", {"agent": "ann", "state": "ready", "since": 1.0})
    reader = open_stream(console.client("ann"))
    assert reader.next()[0] == "hello"
    assert reader.next() == ("agent", {"agent": "ann", "state": "ready", "since": 1.0})
    assert reader.next() == ("pop", None)
    console.hub.set_pop("bob", {"linkedid": "b.1"})  # not ann's
    console.hub.set_pop("ann", {"linkedid": "a.1", "caller": "+15551230001"})
    assert reader.next() == ("pop", {"linkedid": "a.1", "caller": "+15551230001"})
    assert "b.1" not in reader.raw
    reader.close()
    assert console.hub.connected() == 0


def test_caller_controlled_text_cannot_become_html(console):
    reader = open_stream(console.client("ann"))
    for _ in range(2):
        reader.next()
    console.hub.set_pop("ann", {"linkedid": "x.1", "card": {"customer": {
        "name": "<script>alert(1)</script>"}}, "caller": "王小明 <a>"})
    kind, pop = reader.next()
    assert pop["card"]["customer"]["name"] == "<script>alert(1)</script>"  # the data is intact
    assert "<script>" not in reader.raw and "\\u003cscript\\u003e" in reader.raw
    assert "王小明" in reader.raw  # readable, not \\u escaped
    reader.close()


def test_supervisors_get_the_wallboard_agents_do_not(console):
    console.hub.set_board({"queues": [], "agents": [], "alerts": []})
    sue = open_stream(console.client("sue"))
    assert [sue.next()[0] for _ in range(3)] == ["hello", "pop", "board"]
    ann = open_stream(console.client("ann"))
    assert [ann.next()[0] for _ in range(2)] == ["hello", "pop"]
    console.hub.set_board({"queues": [{"queue": "sales"}], "agents": [], "alerts": []})
    assert sue.next()[0] == "board"
    console.hub.set_pop("ann", {"linkedid": "a.2"})
    assert ann.next() == ("pop", {"linkedid": "a.2"})  # the board never reached ann
    sue.close(), ann.close()


def test_a_deactivated_users_stream_ends_at_the_next_heartbeat(console, monkeypatch):
    monkeypatch.setattr(events, "HEARTBEAT", 0.05)
    with console.sessions.begin() as s:
        user = users.create_user(s, "temp", "correct horse battery", "agent")
        temp_id = user.id
    reader = open_stream(console.client("temp"))
    reader.next()
    with console.sessions.begin() as s:
        users.deactivate_user(s, temp_id)
    with pytest.raises(StopIteration):
        for _ in range(100):
            reader.next()
    assert ": keep-alive" in reader.raw or reader.raw.count("event:") >= 1
    assert console.hub.connected() == 0
