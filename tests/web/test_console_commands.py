"""The agent console's commands over HTTP: sign-in, roles, CSRF, validation,
and that each one reaches the engine as the signed-in agent (the engine's side
is tested on the lab, and end to end in the browser tests)."""
import pytest

from agent_console.app import create_app
from agent_console.desk import Desk

from .console_support import console, console_crm, post  # noqa: F401  (fixtures)
from .test_web_signin import SECRET, sign_in

COMMANDS = [  # (path, body, the desk command and its arguments after the username)
    ("/console/seat", {"seat": "1001"}, ("login", ("1001",), {})),
    ("/console/ready", {}, ("ready", (), {})),
    ("/console/not-ready", {"reason": "lunch"}, ("not_ready", ("lunch",), {})),
    ("/console/sign-off", {}, ("logout", (), {})),
    ("/console/wrap-up/end", {}, ("end_wrap_up", (), {})),
    ("/console/call/hold", {}, ("hold", (), {})),
    ("/console/call/resume", {}, ("resume", (), {})),
    ("/console/call/hangup", {}, ("hangup", (), {})),
    ("/console/call/transfer", {"kind": "queue", "target": "sales"},
     ("transfer", ("queue", "sales"), {"attended": False})),
    ("/console/call/transfer", {"kind": "agent", "target": "bob", "attended": True},
     ("transfer", ("agent", "bob"), {"attended": True})),
    ("/console/call/transfer/complete", {}, ("complete_transfer", (), {})),
    ("/console/call/transfer/cancel", {}, ("cancel_transfer", (), {})),
    ("/console/dial", {"number": "+15551230009", "customer_id": 7},
     ("dial", ("+15551230009",), {"customer_id": 7})),
]


@pytest.mark.parametrize("path,body,expected", COMMANDS)
def test_each_command_reaches_the_engine_as_the_signed_in_agent(console, path, body, expected):
    client = console.client("ann")
    reply = post(client, path, body)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    command, args, kwargs = expected
    assert console.desk.calls == [(command, ("ann", *args), kwargs)]


@pytest.mark.parametrize("path,body,expected", COMMANDS)
def test_without_the_csrf_token_nothing_reaches_the_engine(console, path, body, expected):
    client = console.client("ann")
    reply = post(client, path, body, csrf=False)
    assert reply.status_code == 400 and "CSRF" in reply.get_data(as_text=True)
    assert console.desk.calls == []


@pytest.mark.parametrize("path", sorted({p for p, _, _ in COMMANDS}))
def test_commands_need_sign_in(console, path):
    client = console.client()
    client.csrf = "nothing"
    assert post(client, path, {}).status_code in (400, 401)  # no session: no CSRF token either
    assert console.desk.calls == []


def test_anonymous_pages_redirect_to_sign_in(console):
    client = console.client()
    for path in ("/agent", "/wallboard", "/"):
        reply = client.get(path)
        assert reply.status_code == 302 and "/login" in reply.headers["Location"]


@pytest.mark.parametrize("user", ["ann", "sue", "ada"])
def test_every_role_may_take_calls(console, user):
    client = console.client(user)
    page = client.get("/agent")
    assert page.status_code == 200 and 'id="pop"' in page.get_data(as_text=True)
    assert post(client, "/console/ready").status_code == 200


def test_a_refusal_is_a_409_with_the_reason(console):
    client = console.client("ann")
    console.desk.refuse("agent ann: ready refused while on_call")
    reply = post(client, "/console/ready")
    assert reply.status_code == 409
    assert reply.json == {"error": "refused", "message": "agent ann: ready refused while on_call"}


def test_no_engine_is_a_503(console):
    app = create_app(console.sessions, secret_key=SECRET, desk=Desk(None, None))
    client = app.test_client()
    sign_in(client, "ann")
    from .test_web_signin import form_token
    client.csrf = form_token(client, "/agent")
    assert "engine is not running" in client.get("/agent").get_data(as_text=True)
    reply = post(client, "/console/ready")
    assert reply.status_code == 503 and reply.json["error"] == "engine_unavailable"


@pytest.mark.parametrize("path,body,field", [
    ("/console/seat", {}, "seat"),
    ("/console/seat", {"seat": 1001}, "seat"),
    ("/console/not-ready", {"reason": "nap"}, "reason"),
    ("/console/not-ready", {}, "reason"),
    ("/console/call/transfer", {"kind": "fax", "target": "x"}, "kind"),
    ("/console/call/transfer", {"kind": "queue"}, "target"),
    ("/console/call/transfer", {"kind": "queue", "target": "s", "attended": "yes"}, "attended"),
    ("/console/dial", {"number": ""}, "number"),
    ("/console/dial", {"number": "+15551230009", "customer_id": "7"}, "customer_id"),
    ("/console/ready", {"extra": 1}, "extra"),
])
def test_bad_bodies_are_refused_naming_the_field(console, path, body, field):
    client = console.client("ann")
    reply = post(client, path, body)
    assert reply.status_code == 422 and field in reply.json["fields"], reply.json
    assert console.desk.calls == []


def test_a_body_that_is_not_json_is_a_400(console):
    client = console.client("ann")
    reply = client.post("/console/ready", data="ready!", headers={
        "X-CSRF-Token": client.csrf, "Content-Type": "text/plain", "Accept": "application/json"})
    assert reply.status_code == 400 and console.desk.calls == []


def test_the_page_offers_the_configured_reasons_and_dispositions(console):
    page = console.client("ann").get("/agent").get_data(as_text=True)
    for reason in ("break", "lunch", "meeting"):
        assert f'<option value="{reason}">' in page
    assert 'data-key="1"' in page and 'aria-pressed="false"' in page
    assert "<script>" not in page.split("<main>")[1].split("</main>")[0]  # scripts only as files


def test_agents_may_not_use_the_wallboard(console):
    client = console.client("ann")
    assert client.get("/wallboard").status_code == 403
    for path, body in (("/wallboard/monitor", {"agent": "bob", "seat": "1003", "mode": "listen"}),
                       ("/wallboard/agents/logout", {"agent": "bob"})):
        assert post(client, path, body).status_code == 403
    assert console.desk.calls == []


def test_a_typed_number_of_one_customer_dials_for_that_customer(console):
    client = console.client("ann")
    assert post(client, "/console/dial", {"number": "(555) 123-0001"}).status_code == 200
    assert console.desk.calls == [("dial", ("ann", "(555) 123-0001"),
                                   {"customer_id": console.ids["ada lovelace"]})]
    console.desk.calls.clear()
    assert post(client, "/console/dial", {"number": "+4930123456"}).status_code == 200
    assert console.desk.calls == [("dial", ("ann", "+4930123456"), {"customer_id": None})]


@pytest.mark.parametrize("command", ["start", "stop", "pause", "resume"])
def test_recording_commands_reach_the_recording_service(console, command):
    client = console.client("ann")
    assert post(client, f"/console/recording/{command}").status_code == 200
    assert console.desk.calls == [(f"record.{command}", ("ann",), {})]
    assert post(client, f"/console/recording/{command}", csrf=False).status_code == 400
    assert post(client, f"/console/recording/{command}", {"why": 1}).status_code == 422
    assert len(console.desk.calls) == 1


def test_a_recording_refusal_is_a_409_with_the_reason(console):
    from recording.errors import RecordingError
    console.desk.error = RecordingError("ann records by policy (all); pause it instead")
    reply = post(console.client("ann"), "/console/recording/stop")
    assert reply.status_code == 409 and "pause it instead" in reply.json["message"]
