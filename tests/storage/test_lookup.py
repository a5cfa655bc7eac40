"""Caller-ID lookup on both databases: 0, 1 or many customers, junk caller IDs,
and one indexed statement per lookup."""
import pytest
from sqlalchemy import event, text

from crm_core import customers as C
from crm_core.lookup import CustomerMatch, find_by_phone

OFFICE = "+1 415 555 0100"


@pytest.fixture
def phone_book(sessions):
    with sessions.begin() as s:
        ann = C.create_customer(s, {"name": "Ann", "level": "gold", "language": "de",
                                    "phones": [OFFICE, "+1 415 555 0001"]}).customer
        acme = C.create_customer(s, {"name": "Acme", "kind": "company",
                                     "phones": ["(415) 555-0100"]}, allow_duplicate=True).customer
        C.create_customer(s, {"name": "王小明", "phones": ["+86 138 0013 8000"]})
    return sessions, ann.id, acme.id


def test_no_one_one_or_many_customers_match(phone_book):
    sessions, ann, acme = phone_book
    with sessions() as s:
        assert find_by_phone(s, "+1 415 555 0999") == []
        assert find_by_phone(s, "415-555-0001") == [
            CustomerMatch(id=ann, name="Ann", kind="person", level="gold", owner_id=None,
                          language="de")]
        many = find_by_phone(s, "0014155550100")
        assert [(m.id, m.name, m.kind) for m in many] == [(acme, "Acme", "company"),
                                                          (ann, "Ann", "person")]
        assert find_by_phone(s, "+8613800138000")[0].name == "王小明"
        assert len(find_by_phone(s, OFFICE, limit=1)) == 1


def test_a_national_number_is_read_in_the_given_region(phone_book):
    sessions, *_ = phone_book
    with sessions() as s:
        assert find_by_phone(s, "138 0013 8000", region="CN")[0].name == "王小明"
        assert find_by_phone(s, "138 0013 8000", region="US") == []


@pytest.mark.parametrize("junk", ["", "anonymous", "Unknown", "+", "0", "1" * 200, "<script>",
                                  "'; DROP TABLE phones; --", "\x00\x07", None, 4155550100])
def test_junk_caller_ids_match_no_one_and_never_raise(phone_book, junk):
    sessions, *_ = phone_book
    with sessions() as s:
        assert find_by_phone(s, junk) == []


def test_an_unknown_region_matches_no_one(phone_book):
    sessions, *_ = phone_book
    with sessions() as s:
        assert find_by_phone(s, "415 555 0001", region="XX") == []


def test_one_statement_per_lookup_on_the_e164_index(phone_book):
    sessions, *_ = phone_book
    statements = []
    with sessions() as s:
        engine = s.get_bind()

        def listener(conn, cursor, sql, params, context, executemany):
            statements.append((sql, params))

        event.listen(engine, "before_cursor_execute", listener)
        try:
            find_by_phone(s, OFFICE)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        [(sql, params)] = statements
        assert "phones.e164 =" in sql
        assert "ix_phones_e164" in _plan(s, sql, params)


def _plan(s, sql: str, params) -> str:
    """The database's plan for exactly the statement the lookup sent."""
    if s.get_bind().dialect.name == "sqlite":
        rows = s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
        return " ".join(str(r) for r in rows)
    # A three-row table is read faster without an index; ask whether it can be used.
    s.execute(text("SET LOCAL enable_seqscan = off"))
    rows = s.connection().exec_driver_sql("EXPLAIN " + sql, params)
    return " ".join(r[0] for r in rows)
