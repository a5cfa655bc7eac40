"""The `callcenter` admin subcommands on a real (SQLite) database."""
import io
import sys

from callcenter.cli import main
from crm_core import db, users


def run(tmp_path, *argv, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        code = main([*argv])
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def test_user_add_token_seed_and_escalate(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(tmp_path))
    code, out, _ = run(tmp_path, "user-add", "alice", "--role", "supervisor", "--password-stdin",
                       stdin="correct horse battery\n")
    assert code == 0 and "user alice (supervisor) created" in out
    token = out.split("API token (shown once): ")[1].strip()
    sessions = db.session_factory(db.make_engine(db.sqlite_url(tmp_path / "callcenter.db")))
    with sessions() as s:
        assert users.user_for_token(s, token).username == "alice"
        assert users.authenticate(s, "alice", "correct horse battery") is not None

    code, out, err = run(tmp_path, "user-add", "alice", "--role", "agent", "--password-stdin",
                         stdin="another long password\n")
    assert code == 1 and "alice" in err  # duplicate: refused, nothing changed

    code, out, _ = run(tmp_path, "token", "alice")
    assert code == 0 and out.split("(shown once): ")[1].strip() != token
    assert run(tmp_path, "token", "nobody")[0] == 1

    code, out, _ = run(tmp_path, "dispositions-seed")
    assert code == 0 and "added" in out and not out.startswith("dispositions: 0")
    assert run(tmp_path, "dispositions-seed")[1].strip() == "dispositions: 0 added"

    code, out, _ = run(tmp_path, "tickets-escalate")
    assert code == 0 and "tickets: 0 escalated" in out


def test_generated_password_is_shown_once(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(tmp_path))
    code, out, _ = run(tmp_path, "user-add", "bob", "--role", "agent")
    assert code == 0 and "password: " in out
    password = out.split("password: ")[1].split()[0]
    sessions = db.session_factory(db.make_engine(db.sqlite_url(tmp_path / "callcenter.db")))
    with sessions() as s:
        assert users.authenticate(s, "bob", password) is not None


def test_bad_role_and_short_password_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(tmp_path))
    code, _, err = run(tmp_path, "user-add", "carol", "--role", "agent", "--password-stdin",
                       stdin="short\n")
    assert code == 1 and "password" in err
