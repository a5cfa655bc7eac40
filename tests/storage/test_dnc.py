"""The do-not-call list on both databases: one entry per E.164 number."""
import pytest

from crm_core import audit, dnc
from crm_core.errors import ValidationError


def test_foreign_formats_land_on_one_entry(sessions):
    with sessions.begin() as s:
        first = dnc.add(s, "+49 30 1234567", reason="asked on the phone")
        again = dnc.add(s, "0049 (30) 123-4567", reason="second time")
        national = dnc.add(s, "030 1234567", region="DE")
        assert first.e164 == again.e164 == national.e164 == "+49301234567"
    with sessions() as s:
        entries = dnc.list_entries(s)
        assert [(e.e164, e.reason) for e in entries] == [("+49301234567", "asked on the phone")]
        assert [e.action for e in audit.history(s, "dnc", "+49301234567")] == ["create"]


def test_is_blocked_matches_any_spelling(sessions):
    with sessions.begin() as s:
        dnc.add(s, "(555) 123-0001")
    with sessions() as s:
        assert dnc.is_blocked(s, "+1 555 123 0001")
        assert dnc.is_blocked(s, "001.555.123.0001")
        assert not dnc.is_blocked(s, "555-123-0002")


@pytest.mark.parametrize("junk", ["", "call me", "12", "+1 555 CALL NOW", None])
def test_junk_numbers_are_refused(sessions, junk):
    with sessions.begin() as s:
        with pytest.raises(ValidationError) as err:
            dnc.is_blocked(s, junk)
        assert "number" in err.value.errors
        with pytest.raises(ValidationError):
            dnc.add(s, junk)
        assert dnc.list_entries(s) == []


def test_remove(sessions):
    with sessions.begin() as s:
        dnc.add(s, "+15551230001", actor_id=None)
    with sessions.begin() as s:
        assert dnc.remove(s, "555 123 0001") is True
        assert dnc.remove(s, "555 123 0001") is False
    with sessions() as s:
        assert not dnc.is_blocked(s, "+15551230001")
        assert [e.action for e in audit.history(s, "dnc", "+15551230001")] == ["create", "delete"]


def test_list_entries_pages(sessions):
    with sessions.begin() as s:
        for n in range(5):
            dnc.add(s, f"+1555123000{n}")
    with sessions() as s:
        page = dnc.list_entries(s, limit=2, offset=1)
        assert len(page) == 2
        assert len({e.e164 for e in dnc.list_entries(s, limit=100)}) == 5
        with pytest.raises(ValidationError):
            dnc.list_entries(s, limit=0)
