"""Dispositions on both databases: the catalogue, and applying one at wrap-up."""
from datetime import datetime, timezone

import pytest

from crm_core import audit, dispositions as D, dnc
from crm_core.errors import Conflict, NotFound, ValidationError
from crm_core.models import Disposition, Interaction, User

T0 = datetime(2026, 5, 4, 14, 0, tzinfo=timezone.utc)


@pytest.fixture
def agent(sessions) -> int:
    with sessions.begin() as s:
        user = User(username="agent1", password_hash="x", role="agent")
        s.add(user)
        s.flush()
        return user.id


def new_call(sessions, **kw) -> int:
    with sessions.begin() as s:
        call = Interaction(direction=kw.pop("direction", "inbound"), started_at=T0, **kw)
        s.add(call)
        s.flush()
        return call.id


def test_seeding_is_idempotent_and_keeps_edits(sessions):
    with sessions.begin() as s:
        assert D.seed_defaults(s) == len(D.DEFAULTS)
        D.update_disposition(s, "busy", {"label": "Line busy"})
    with sessions.begin() as s:
        assert D.seed_defaults(s) == 0
        codes = {d.code: d for d in D.list_dispositions(s)}
        assert set(codes) == {d["code"] for d in D.DEFAULTS}
        assert codes["busy"].label == "Line busy"
        assert codes["do_not_call"].do_not_call and codes["sale"].sale and codes["sale"].final
        assert not codes["no_answer"].contact_made


def test_create_and_update_are_audited(sessions, agent):
    with sessions.begin() as s:
        created = D.create_disposition(s, "promise_to_pay", "Promise to pay", actor_id=agent,
                                       contact_made=True)
        assert (created.contact_made, created.final, created.active) == (True, False, True)
    with sessions.begin() as s:
        D.update_disposition(s, "promise_to_pay", {"label": "Will pay", "active": False},
                             actor_id=agent)
        assert [d.code for d in D.list_dispositions(s)] == []
        assert [d.code for d in D.list_dispositions(s, active_only=False)] == ["promise_to_pay"]
        entries = audit.history(s, "disposition", "promise_to_pay")
        assert [(e.action, e.user_id) for e in entries] == [("create", agent), ("update", agent)]
        assert entries[1].changes == {"label": ["Promise to pay", "Will pay"],
                                      "active": [True, False]}


@pytest.mark.parametrize("code, label, flags, field", [
    ("Sale", "Sale", {}, "code"), ("a" * 33, "x", {}, "code"), ("ok", "", {}, "label"),
    ("ok", "Ok", {"vip": True}, "vip"), ("ok", "Ok", {"sale": "yes"}, "sale")])
def test_bad_dispositions_are_refused(sessions, code, label, flags, field):
    with sessions.begin() as s:
        with pytest.raises(ValidationError) as err:
            D.create_disposition(s, code, label, **flags)
        assert field in err.value.errors
        assert D.list_dispositions(s, active_only=False) == []


def test_codes_are_unique_and_immutable(sessions):
    with sessions.begin() as s:
        D.create_disposition(s, "sale", "Sale")
        with pytest.raises(Conflict):
            D.create_disposition(s, "sale", "Another sale")
        with pytest.raises(ValidationError) as err:
            D.update_disposition(s, "sale", {"code": "sold", "label": "Sold"})
        assert "code" in err.value.errors and s.get(Disposition, "sale").label == "Sale"
        with pytest.raises(NotFound):
            D.update_disposition(s, "nope", {"label": "x"})


def test_apply_sets_the_code_notes_and_agent(sessions, agent):
    call = new_call(sessions)
    with sessions.begin() as s:
        D.seed_defaults(s)
        out = D.apply_disposition(s, call, "resolved", actor_id=agent, notes="Fixed.\nThanks.")
        assert (out.disposition_code, out.notes, out.agent_id) == ("resolved", "Fixed.\nThanks.",
                                                                   agent)
    with sessions() as s:
        entry = audit.history(s, "interaction", call)[-1]
        assert entry.changes["disposition_code"] == [None, "resolved"]
        assert dnc.list_entries(s) == []


def test_a_do_not_call_disposition_blocks_the_customers_number(sessions, agent):
    inbound = new_call(sessions, caller_number="(555) 123-0001")
    outbound = new_call(sessions, direction="outbound", caller_number="+15550000000",
                        dialled_number="030 1234567")
    with sessions.begin() as s:
        D.seed_defaults(s)
        D.apply_disposition(s, inbound, "do_not_call", actor_id=agent)
        D.apply_disposition(s, outbound, "do_not_call", actor_id=agent, region="DE")
    with sessions() as s:
        assert dnc.is_blocked(s, "+15551230001") and dnc.is_blocked(s, "+49301234567")
        assert not dnc.is_blocked(s, "+15550000000")  # our own line, not the customer's
        assert audit.history(s, "interaction", inbound)[-1].changes["dnc"] == "+15551230001"


def test_a_number_that_does_not_normalise_is_skipped_and_said_so(sessions):
    call = new_call(sessions, caller_number="anonymous")
    with sessions.begin() as s:
        D.seed_defaults(s)
        assert D.apply_disposition(s, call, "do_not_call").disposition_code == "do_not_call"
    with sessions() as s:
        assert dnc.list_entries(s) == []
        assert "not added" in audit.history(s, "interaction", call)[-1].changes["dnc"]


def test_inactive_unknown_and_bad_input_are_refused(sessions):
    call = new_call(sessions)
    with sessions.begin() as s:
        D.seed_defaults(s)
        D.update_disposition(s, "busy", {"active": False})
    with sessions.begin() as s:
        for code in ("busy", "made_up"):
            with pytest.raises(ValidationError) as err:
                D.apply_disposition(s, call, code)
            assert list(err.value.errors) == ["disposition"]
        with pytest.raises(ValidationError) as err:
            D.apply_disposition(s, call, "resolved", notes="x" * 20_001)
        assert list(err.value.errors) == ["notes"]
        with pytest.raises(NotFound):
            D.apply_disposition(s, 999, "resolved")
        assert s.get(Interaction, call).disposition_code is None
