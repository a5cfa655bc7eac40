"""The supervisors' commands over HTTP: roles, CSRF, validation, and that they
reach the engine with the supervisor's name (audited by the ACD)."""
import pytest

from .console_support import console, console_crm, post  # noqa: F401  (fixtures)

COMMANDS = [
    ("/wallboard/monitor", {"agent": "ann", "seat": "1003", "mode": "listen"},
     ("monitor", ("sue", "1003", "ann", "listen"), {})),
    ("/wallboard/monitor", {"agent": "ann", "seat": " 1003 ", "mode": "barge"},
     ("monitor", ("sue", "1003", "ann", "barge"), {})),
    ("/wallboard/monitor/mode", {"mode": "whisper"}, ("monitor_mode", ("sue", "whisper"), {})),
    ("/wallboard/monitor/stop", {}, ("stop_monitor", ("sue",), {})),
    ("/wallboard/agents/not-ready", {"agent": "ann", "reason": "supervisor"},
     ("force_not_ready", ("ann", "supervisor", "sue"), {})),
    ("/wallboard/agents/logout", {"agent": "ann"}, ("force_logout", ("ann", "sue"), {})),
]


@pytest.mark.parametrize("path,body,expected", COMMANDS)
def test_supervisor_commands_reach_the_engine(console, path, body, expected):
    reply = post(console.client("sue"), path, body)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert console.desk.calls == [expected]


@pytest.mark.parametrize("path,body,expected", COMMANDS)
def test_supervisor_commands_need_the_csrf_token(console, path, body, expected):
    assert post(console.client("ada"), path, body, csrf=False).status_code == 400
    assert console.desk.calls == []


@pytest.mark.parametrize("user", ["sue", "ada"])
def test_supervisors_and_admins_see_the_wallboard(console, user):
    page = console.client(user).get("/wallboard")
    assert page.status_code == 200 and 'id="queues"' in page.get_data(as_text=True)


@pytest.mark.parametrize("path,body,field", [
    ("/wallboard/monitor", {"agent": "ann", "seat": "1003", "mode": "spy"}, "mode"),
    ("/wallboard/monitor", {"agent": "ann", "mode": "listen"}, "seat"),
    ("/wallboard/monitor", {"seat": "1003", "mode": "listen"}, "agent"),
    ("/wallboard/agents/not-ready", {"agent": "ann", "reason": "fired"}, "reason"),
    ("/wallboard/agents/logout", {"agent": ["ann"]}, "agent"),
])
def test_bad_supervisor_commands_name_the_field(console, path, body, field):
    reply = post(console.client("sue"), path, body)
    assert reply.status_code == 422 and field in reply.json["fields"]
    assert console.desk.calls == []


def test_a_refused_monitor_says_why(console):
    console.desk.refuse("the phone at seat 1003 is not registered: connect it first")
    reply = post(console.client("sue"), "/wallboard/monitor",
                 {"agent": "ann", "seat": "1003", "mode": "listen"})
    assert reply.status_code == 409 and "not registered" in reply.json["message"]
