"""Agents' skills on both databases: replace, refuse and change nothing, read back;
the 0003 migration down and up again; the demo seed."""
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from callcenter import demo_data
from crm_core import agent_skills as S, audit, migrate, users
from crm_core.errors import NotFound, ValidationError
from crm_core.models import AgentSkill, User

PASSWORD = "correct horse battery"


def make_user(sessions, username="alice", active=True) -> int:
    with sessions.begin() as s:
        uid = users.create_user(s, username, PASSWORD, "agent").id
        if not active:
            users.deactivate_user(s, uid)
        return uid


def test_set_replaces_and_reads_back(sessions):
    uid = make_user(sessions)
    with sessions.begin() as s:
        assert S.set_skills(s, "alice", {"sales": 8, "support": 5}) == {"sales": 8, "support": 5}
    with sessions.begin() as s:
        S.set_skills(s, "alice", {"support": 9, "vip": 1})
    with sessions() as s:
        assert S.skills_of(s, "alice") == {"support": 9, "vip": 1}
        changes = [e.changes for e in audit.history(s, "user", uid) if "skills" in e.changes]
        assert changes[-1] == {"skills": [{"sales": 8, "support": 5}, {"support": 9, "vip": 1}]}
    with sessions.begin() as s:
        S.set_skills(s, "alice", {})
    with sessions() as s:
        assert S.skills_of(s, "alice") == {}


def test_setting_the_same_skills_writes_nothing(sessions):
    uid = make_user(sessions)
    with sessions.begin() as s:
        S.set_skills(s, "alice", {"sales": 8})
    with sessions.begin() as s:
        S.set_skills(s, "alice", {"sales": 8})
    with sessions() as s:
        assert sum("skills" in e.changes for e in audit.history(s, "user", uid)) == 1


@pytest.mark.parametrize("skills,field", [
    ({"bad skill": 5}, "skills.bad skill"),
    ({"x" * 65: 5}, "skills." + "x" * 65),
    ({"": 5}, "skills."),
    ({"sales": 0}, "skills.sales"),
    ({"sales": 11}, "skills.sales"),
    ({"sales": "8"}, "skills.sales"),
    ({"sales": 8.0}, "skills.sales"),
    ({"sales": True}, "skills.sales"),
    ({"ok": 5, "sales": 99}, "skills.sales"),
    ({f"s{i}": 5 for i in range(101)}, "skills"),
])
def test_bad_skills_are_refused_and_nothing_changes(sessions, skills, field):
    make_user(sessions)
    with sessions.begin() as s:
        S.set_skills(s, "alice", {"sales": 8})
    with pytest.raises(ValidationError) as err:
        with sessions.begin() as s:
            S.set_skills(s, "alice", skills)
    assert field in err.value.errors
    with sessions() as s:
        assert S.skills_of(s, "alice") == {"sales": 8}


def test_not_a_mapping_is_refused(sessions):
    make_user(sessions)
    with pytest.raises(ValidationError):
        with sessions.begin() as s:
            S.set_skills(s, "alice", ["sales"])


def test_unknown_and_inactive_users(sessions):
    make_user(sessions, "gone", active=False)
    with sessions.begin() as s:
        with pytest.raises(NotFound):
            S.set_skills(s, "nobody", {"sales": 5})
        with pytest.raises(NotFound):
            S.set_skills(s, "gone", {"sales": 5})
        with pytest.raises(NotFound):
            S.skills_of(s, "nobody")
        assert S.skills_of(s, "gone") == {}
    with sessions() as s:
        assert s.query(AgentSkill).count() == 0


def test_agents_with_skill_most_proficient_first_active_only(sessions):
    for name in ("alice", "bob", "carol", "dave"):
        make_user(sessions, name)
    with sessions.begin() as s:
        S.set_skills(s, "alice", {"support": 5, "sales": 9})
        S.set_skills(s, "bob", {"support": 9})
        S.set_skills(s, "carol", {"support": 5})
        S.set_skills(s, "dave", {"support": 10})
        users.deactivate_user(s, s.scalar(select(User.id).where(User.username == "dave")))
    with sessions() as s:
        assert S.agents_with_skill(s, "support") == [("bob", 9), ("alice", 5), ("carol", 5)]
        assert S.agents_with_skill(s, "sales") == [("alice", 9)]
        assert S.agents_with_skill(s, "nothing") == []
        with pytest.raises(ValidationError):
            S.agents_with_skill(s, "bad skill")


def test_skills_go_with_the_user_and_the_database_checks_the_range(sessions):
    uid = make_user(sessions)
    with sessions.begin() as s:
        S.set_skills(s, "alice", {"sales": 8})
    with sessions.begin() as s:
        s.delete(s.get(User, uid))
    with sessions() as s:
        assert s.query(AgentSkill).count() == 0
    uid = make_user(sessions, "bob")
    with pytest.raises(IntegrityError):
        with sessions.begin() as s:
            s.add(AgentSkill(user_id=uid, skill="sales", proficiency=11))


def _alembic(engine, action: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def test_migration_0003_downgrades_and_upgrades_cleanly(sessions):
    engine = sessions.kw["bind"]
    make_user(sessions)
    with sessions.begin() as s:
        S.set_skills(s, "alice", {"sales": 8})
    _alembic(engine, "downgrade", "0002")
    names = inspect(engine).get_table_names()
    assert "agent_skills" not in names and "users" in names
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == "0002"
    _alembic(engine, "upgrade", "head")
    with sessions() as s:
        assert S.skills_of(s, "alice") == {}
        assert "ix_agent_skills_skill" in {i["name"] for i in inspect(engine).get_indexes(
            "agent_skills")}
    with sessions.begin() as s:
        S.set_skills(s, "alice", {"support": 3})
    with sessions() as s:
        assert S.skills_of(s, "alice") == {"support": 3}


def test_demo_seed_adds_agent2_and_skills_once(sessions):
    lines = demo_data.seed(sessions)
    assert any("agent2" in line for line in lines)
    with sessions() as s:
        assert S.skills_of(s, "agent") == {"sales": 8, "support": 5}
        assert S.skills_of(s, "agent2") == {"support": 9, "vip": 7}
        assert users.authenticate(s, "agent2", demo_data.DEMO_PASSWORD) is not None
    with sessions.begin() as s:
        S.set_skills(s, "agent", {"sales": 2})  # an administrator's edit
    assert demo_data.seed(sessions) == []
    with sessions() as s:
        assert S.skills_of(s, "agent") == {"sales": 2}
