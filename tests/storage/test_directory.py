"""Names by id, the assignable users, segment paths and interactions by id, on
both databases, each one query whatever the number of ids."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import event

from crm_core import customers, directory
from crm_core.models import Interaction, InteractionSegment, User

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def people(s) -> dict[str, int]:
    rows = [User(username="ann", display_name="Ann Agent", role="agent", password_hash="x"),
            User(username="bob", display_name="", role="supervisor", password_hash="x"),
            User(username="cy", display_name="Cy Gone", role="agent", password_hash="x",
                 active=False)]
    s.add_all(rows)
    s.flush()
    return {u.username: u.id for u in rows}


def count_queries(s):
    seen = []
    event.listen(s.get_bind(), "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_user_and_customer_names(sessions):
    with sessions.begin() as s:
        ids = people(s)
        ada = customers.create_customer(s, {"name": "王小明"}).customer.id
    with sessions() as s:
        assert directory.user_names(s, [ids["ann"], ids["bob"], ids["ann"], None, 99999]) == \
            {ids["ann"]: "Ann Agent", ids["bob"]: "bob"}
        assert directory.user_names(s, []) == {} and directory.user_names(s, [None]) == {}
        assert directory.customer_names(s, [ada, None, 99999]) == {ada: "王小明"}


def test_assignable_users_are_the_active_ones(sessions):
    with sessions.begin() as s:
        ids = people(s)
    with sessions() as s:
        found = directory.assignable_users(s)
    assert [(u["id"], u["name"], u["role"]) for u in found] == \
        [(ids["ann"], "Ann Agent", "agent"), (ids["bob"], "bob", "supervisor")]


def test_segment_paths_in_time_order(sessions):
    with sessions.begin() as s:
        calls = [Interaction(direction="inbound", linkedid=f"1.{n}", started_at=T0)
                 for n in range(3)]
        s.add_all(calls)
        s.flush()
        for n, kind in ((2, "agent"), (0, "ivr"), (1, "queue")):
            s.add(InteractionSegment(interaction_id=calls[0].id, kind=kind,
                                     started_at=T0 + timedelta(seconds=n)))
        s.add(InteractionSegment(interaction_id=calls[1].id, kind="voicemail", started_at=T0))
        ids = [c.id for c in calls]
    with sessions() as s:
        seen = count_queries(s)
        assert directory.segment_paths(s, ids) == {ids[0]: ["ivr", "queue", "agent"],
                                                   ids[1]: ["voicemail"]}
        assert len(seen) == 1
        assert directory.segment_paths(s, []) == {}


def test_interactions_by_id_newest_first(sessions):
    with sessions.begin() as s:
        calls = [Interaction(direction="inbound", linkedid=f"2.{n}",
                             started_at=T0 + timedelta(minutes=n)) for n in range(3)]
        s.add_all(calls)
        s.flush()
        ids = [c.id for c in calls]
    with sessions() as s:
        found = directory.interactions_by_id(s, [ids[0], ids[2], 99999])
    assert [i["linkedid"] for i in found] == ["2.2", "2.0"]
    assert found[0]["started_at"] == (T0 + timedelta(minutes=2)).isoformat()
    with sessions() as s:
        assert directory.interactions_by_id(s, []) == []
