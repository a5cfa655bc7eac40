"""What agents change on a call's interaction, on both databases: whose call it
is (a shared number, a new customer) and their notes, each audited; a bad value
changes nothing. And the 0004 index of an agent's calls, down and up again."""
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from crm_core import audit, customers, interactions, migrate, users
from crm_core.errors import NotFound, ValidationError


def call_and_customer(sessions) -> tuple[int, int, int]:
    with sessions.begin() as s:
        interactions.save_call(s, interactions.CallFacts(
            linkedid="9.1", direction="inbound", started_at=datetime.now(timezone.utc),
            caller_number="+442079460958"))
        agent = users.create_user(s, "ann", "correct horse battery", "agent")
        ada = customers.create_customer(s, {"name": "Ada"}).customer
        return interactions.by_linkedid(s, "9.1").id, ada.id, agent.id


def test_linking_a_customer_is_audited_and_idempotent(sessions):
    call, ada, ann = call_and_customer(sessions)
    with sessions.begin() as s:
        interactions.link_customer(s, call, ada, actor_id=ann)
        interactions.link_customer(s, call, ada, actor_id=ann)  # nothing more to say
    with sessions() as s:
        assert interactions.by_linkedid(s, "9.1").customer_id == ada
        entries = audit.history(s, "interaction", call)
        assert [(e.user_id, e.changes) for e in entries] == [(ann, {"customer_id": [None, ada]})]


@pytest.mark.parametrize("call_id,customer,error", [(999, None, NotFound),
                                                      (None, 999, ValidationError)])
def test_linking_to_nothing_changes_nothing(sessions, call_id, customer, error):
    call, ada, ann = call_and_customer(sessions)
    with pytest.raises(error):
        with sessions.begin() as s:
            interactions.link_customer(s, call_id or call, customer or ada, actor_id=ann)
    with sessions() as s:
        assert interactions.by_linkedid(s, "9.1").customer_id is None


def test_notes_are_cleaned_audited_and_refused_when_bad(sessions):
    call, _, ann = call_and_customer(sessions)
    with sessions.begin() as s:
        interactions.set_notes(s, call, "  Rotor 王\n  replaced \n", actor_id=ann)
    for bad in ("a\x00b", "x" * 20_001, 7):
        with pytest.raises(ValidationError):
            with sessions.begin() as s:
                interactions.set_notes(s, call, bad, actor_id=ann)
    with sessions() as s:
        assert interactions.by_linkedid(s, "9.1").notes == "Rotor 王\n  replaced"
        (entry,) = audit.history(s, "interaction", call)
        assert entry.changes == {"notes": ["", "Rotor 王\n  replaced"]}


def test_migration_0004_down_and_up(sessions):
    engine = sessions.kw["bind"]
    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert "ix_interactions_agent_started" not in {
        i["name"] for i in inspect(engine).get_indexes("interactions")}
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert "ix_interactions_agent_started" in {
        i["name"] for i in inspect(engine).get_indexes("interactions")}
