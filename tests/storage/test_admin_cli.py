"""The `callcenter` admin subcommands on a real (SQLite) database."""
import io
import sys
from pathlib import Path

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


def test_agent_skills_set_show_clear_and_refusals(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(tmp_path))
    assert run(tmp_path, "user-add", "alice", "--role", "agent", "--password-stdin",
               stdin="correct horse battery\n")[0] == 0
    code, out, _ = run(tmp_path, "agent-skills", "alice", "sales=8", "support=5")
    assert code == 0 and out.strip() == "alice: sales=8, support=5"
    code, out, _ = run(tmp_path, "agent-skills", "alice", "--show")
    assert code == 0 and out.strip() == "alice: sales=8, support=5"
    code, out, _ = run(tmp_path, "agent-skills", "alice", "vip=7")  # replaces them all
    assert code == 0 and out.strip() == "alice: vip=7"
    for bad in (["sales"], ["sales=x"], ["sales=11"], ["bad skill=3"], ["sales=0"]):
        code, _, err = run(tmp_path, "agent-skills", "alice", *bad)
        assert code == 1 and err.startswith("callcenter: ")
    assert run(tmp_path, "agent-skills", "alice")[1].strip() == "alice: vip=7"  # unchanged
    code, _, err = run(tmp_path, "agent-skills", "nobody", "sales=3")
    assert code == 1 and "nobody" in err
    assert run(tmp_path, "agent-skills", "alice", "sales=3", "--clear")[0] == 1
    code, out, _ = run(tmp_path, "agent-skills", "alice", "--clear")
    assert code == 0 and out.strip() == "alice: no skills"


REPO = Path(__file__).resolve().parents[2]


def test_menus_check_loads_queues_and_names_unknown_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CALLCENTER_IVR_MENUS_DIR", str(REPO / "menus"))
    code, out, err = run(tmp_path, "menus-check", "--queues", str(REPO / "queues" / "demo.yaml"))
    assert code == 0, err
    assert "flow demo" in out and "2 queues (sales, support)" in out
    only_sales = tmp_path / "q.yaml"
    only_sales.write_text("queues:\n  sales: {skills: [sales]}\n")
    code, out, err = run(tmp_path, "menus-check", "--queues", str(only_sales))
    assert code == 1
    assert 'unknown queue "support" (used by ' in err and "node support_queue" in err \
        and "node vip_queue" in err
    broken = tmp_path / "b.yaml"
    broken.write_text("queues:\n  sales: {priority: 5000}\n")
    code, _, err = run(tmp_path, "menus-check", "--queues", str(broken))
    assert code == 1 and "queues.sales.priority" in err


def test_menus_check_default_queue_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(REPO)
    code, out, err = run(tmp_path, "menus-check")
    assert code == 0, err
    assert "queues/demo.yaml: 2 queues" in out


def test_menus_check_takes_the_configured_queue_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CALLCENTER_IVR_MENUS_DIR", str(REPO / "menus"))
    only_sales = tmp_path / "q.yaml"
    only_sales.write_text("queues:\n  sales: {skills: [sales]}\n")
    monkeypatch.setenv("CALLCENTER_ACD_QUEUES_FILE", str(only_sales))
    code, _, err = run(tmp_path, "menus-check")
    assert code == 1 and 'unknown queue "support"' in err
    code, out, _ = run(tmp_path, "menus-check", "--queues", str(REPO / "queues" / "demo.yaml"))
    assert code == 0 and "2 queues" in out


def test_menus_check_checks_the_recording_policy_and_mailboxes(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLCENTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CALLCENTER_IVR_MENUS_DIR", str(REPO / "menus"))
    monkeypatch.setenv("CALLCENTER_ACD_QUEUES_FILE", str(REPO / "queues" / "demo.yaml"))
    monkeypatch.setenv("CALLCENTER_RECORDING_POLICY_FILE", str(REPO / "recording.yaml"))
    code, out, err = run(tmp_path, "menus-check")
    assert code == 0, err
    assert "recording policy for 2 queue(s), 1 mailbox(es)" in out
    no_mailbox = tmp_path / "policy.yaml"
    no_mailbox.write_text("recording:\n  queues:\n    support: {mode: all}\nmailboxes: {}\n")
    monkeypatch.setenv("CALLCENTER_RECORDING_POLICY_FILE", str(no_mailbox))
    code, _, err = run(tmp_path, "menus-check")
    assert code == 1 and "100" in err  # the demo menu's voicemail names mailbox 100
    unknown_queue = tmp_path / "policy2.yaml"
    unknown_queue.write_text("recording:\n  queues:\n    billing: {mode: all}\nmailboxes:\n"
                             "  '100': {queue: support, email: [a@example.org]}\n")
    monkeypatch.setenv("CALLCENTER_RECORDING_POLICY_FILE", str(unknown_queue))
    code, _, err = run(tmp_path, "menus-check")
    assert code == 1 and "billing" in err
