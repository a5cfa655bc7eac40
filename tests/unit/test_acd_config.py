"""The queue configuration file: every rule refused with the key path, all at once."""
from pathlib import Path

import pytest

from acd.config import QueueConfigError, check_ivr_queues, load_queues, parse_queues
from acd.model import Overflow, QueueConfig
from acd.router import Router

REPO = Path(__file__).resolve().parents[2]


def problems(data) -> list[str]:
    with pytest.raises(QueueConfigError) as exc:
        parse_queues(data, "test.yaml")
    assert isinstance(exc.value, ValueError)
    return exc.value.problems


def one(queue: dict, name: str = "sales", extra: dict | None = None) -> list[str]:
    return problems({"queues": {name: queue, **(extra or {})}})


def test_full_queue_parses_into_queue_config():
    queues = parse_queues({"queues": {
        "sales": {"skills": ["sales", "en"], "priority": 5,
                  "service_level": {"seconds": 20, "target": 0.8}, "max_wait": 120,
                  "overflow": {"action": "queue", "target": "support"}, "ring_timeout": 15,
                  "wrap_up": 10, "moh": "default", "announce": {"position": True, "every": 30},
                  "callback_key": "1", "last_agent": True, "vip_weight": 300},
        "support": None}}, "x.yaml")
    assert queues["sales"] == QueueConfig(
        name="sales", skills=("sales", "en"), priority=5, sl_seconds=20.0, sl_target=0.8,
        max_wait=120.0, overflow=Overflow("queue", target="support"), ring_timeout=15.0,
        wrap_up=10.0, moh="default", announce_position=True, announce_every=30.0,
        callback_key="1", last_agent=True, vip_weight=300.0)
    assert queues["support"] == QueueConfig(name="support")  # all defaults


def test_other_overflow_actions():
    queues = parse_queues({"queues": {
        "a": {"max_wait": 60, "overflow": {"action": "relax", "skills": ["general"]}},
        "b": {"max_wait": 60, "overflow": {"action": "voicemail", "mailbox": "100"}},
        "c": {"max_wait": 60, "overflow": {"action": "callback"}}}}, "x")
    assert queues["a"].overflow == Overflow("relax", skills=("general",))
    assert queues["b"].overflow == Overflow("voicemail", target="100")
    assert queues["c"].overflow == Overflow("callback")


def test_integer_callback_key_is_read_as_the_key():
    assert parse_queues({"queues": {"s": {"callback_key": 1}}}, "x")["s"].callback_key == "1"
    assert parse_queues({"queues": {"s": {"callback_key": "#"}}}, "x")["s"].callback_key == "#"


def test_every_problem_is_listed_at_once_with_its_key_path():
    found = problems({"queues": {
        "sales": {"priority": 5000, "ring_timeout": 1,
                  "max_wait": 10, "overflow": {"action": "queue", "target": "x"}},
        "support": {"wrap_up": -1}}})
    assert found == ['queues.sales.priority: 5000 is not a whole number from 0 to 1000',
                     'queues.sales.ring_timeout: 1 is not a number from 3 to 300',
                     'queues.sales.overflow.target: unknown queue "x"',
                     'queues.support.wrap_up: -1 is not a number from 0 to 3600']
    with pytest.raises(QueueConfigError) as exc:
        parse_queues({"queues": {"sales": {"priority": -1, "wrap_up": 9999}}}, "test.yaml")
    assert str(exc.value).startswith("test.yaml: 2 problems:\n  - queues.sales.priority")


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "sales!", "ünï"])
def test_bad_queue_names(name):
    assert problems({"queues": {name: {}}})[0].startswith(f"queues.{name}: ")


def test_good_queue_names():
    names = ["a", "Sales_EN", "tier-2.support", "x" * 64]
    assert set(parse_queues({"queues": {n: {} for n in names}}, "x")) == set(names)


@pytest.mark.parametrize("key,value,expect", [
    ("priority", -1, "whole number from 0 to 1000"),
    ("priority", 1001, "whole number from 0 to 1000"),
    ("priority", 2.5, "whole number"),
    ("priority", True, "whole number"),
    ("ring_timeout", 2, "from 3 to 300"),
    ("ring_timeout", 301, "from 3 to 300"),
    ("ring_timeout", "15", "from 3 to 300"),
    ("wrap_up", 3601, "from 0 to 3600"),
    ("wrap_up", -0.5, "from 0 to 3600"),
    ("vip_weight", -1, "from 0 to 86400"),
    ("moh", "bad class", "music-on-hold class"),
    ("moh", "", "music-on-hold class"),
    ("moh", 5, "music-on-hold class"),
    ("callback_key", "12", "one DTMF key"),
    ("callback_key", "a", "one DTMF key"),
    ("callback_key", 10, "one DTMF key"),
    ("callback_key", True, "one DTMF key"),
    ("last_agent", "yes", "true or false"),
    ("skills", "sales", "not a list"),
    ("skills", ["ok", "bad skill"], "[1]"),
    ("skills", ["x" * 65], "skill name"),
])
def test_value_ranges(key, value, expect):
    found = one({key: value})
    assert len(found) == 1 and found[0].startswith(f"queues.sales.{key}: ") and expect in found[0]


@pytest.mark.parametrize("sl,path,expect", [
    ({"seconds": 0}, "seconds", "greater than 0"),
    ({"seconds": -5}, "seconds", "greater than 0"),
    ({"target": 1.5}, "target", "from 0 to 1"),
    ({"target": -0.1}, "target", "from 0 to 1"),
    ({"seconds": 20, "taget": 0.8}, "taget", "unknown key"),
])
def test_service_level(sl, path, expect):
    found = one({"service_level": sl})
    assert found == [f"queues.sales.service_level.{path}: " + found[0].split(": ", 1)[1]]
    assert expect in found[0]


def test_service_level_must_be_a_mapping():
    assert one({"service_level": 20})[0].startswith("queues.sales.service_level: ")


@pytest.mark.parametrize("every", [9, 601, "30"])
def test_announce_every_range(every):
    assert one({"announce": {"every": every}})[0].startswith("queues.sales.announce.every: ")


def test_announce_keys():
    assert one({"announce": {"position": "no"}})[0].startswith("queues.sales.announce.position:")
    assert one({"announce": {"postion": True}})[0].startswith("queues.sales.announce.postion:")
    q = parse_queues({"queues": {"s": {"announce": {"position": False}}}}, "x")["s"]
    assert q.announce_position is False and q.announce_every == 30.0


@pytest.mark.parametrize("max_wait", [0, -1, "120", True])
def test_max_wait_must_be_positive(max_wait):
    found = one({"max_wait": max_wait, "overflow": {"action": "callback"}})
    assert found[0].startswith("queues.sales.max_wait: ")


def test_max_wait_and_overflow_go_together():
    assert one({"max_wait": 60}) == [
        "queues.sales.max_wait: needs an overflow (what happens when it is reached)"]
    assert one({"overflow": {"action": "callback"}}) == [
        "queues.sales.overflow: needs max_wait (the seconds after which it applies)"]


@pytest.mark.parametrize("overflow,path,expect", [
    ({"action": "transfer"}, "overflow.action", '"transfer" is unknown'),
    ({"target": "support"}, "overflow.action", "missing"),
    ({"action": "queue"}, "overflow.target", "required for action queue"),
    ({"action": "queue", "target": "bad name!"}, "overflow.target", "queue name"),
    ({"action": "queue", "target": "nowhere"}, "overflow.target", 'unknown queue "nowhere"'),
    ({"action": "relax"}, "overflow.skills", "required for action relax"),
    ({"action": "relax", "skills": "general"}, "overflow.skills", "not a list"),
    ({"action": "voicemail"}, "overflow.mailbox", "required"),
    ({"action": "voicemail", "mailbox": 100}, "overflow.mailbox", "must be quoted"),
    ({"action": "voicemail", "mailbox": "1 00"}, "overflow.mailbox", "not a mailbox"),
    ({"action": "callback", "target": "x"}, "overflow.target", "unknown key"),
    ({"action": "queue", "target": "support", "skills": ["x"]}, "overflow.skills", "unknown key"),
    ("support", "overflow", "not a mapping"),
])
def test_overflow_rules(overflow, path, expect):
    found = one({"max_wait": 60, "overflow": overflow}, extra={"support": {}})
    assert len(found) == 1, found
    assert found[0].startswith(f"queues.sales.{path}: ") and expect in found[0]


def test_overflow_to_itself_is_a_cycle():
    assert one({"max_wait": 60, "overflow": {"action": "queue", "target": "sales"}}) == [
        "queues.sales.overflow.target: overflow cycle sales -> sales"]


def test_overflow_chain_back_into_a_queue_is_refused_once():
    q = lambda target: {"max_wait": 60, "overflow": {"action": "queue", "target": target}}  # noqa
    found = problems({"queues": {"a": q("b"), "b": q("c"), "c": q("a"), "d": q("a")}})
    assert found == ["queues.c.overflow.target: overflow cycle a -> b -> c -> a"]


def test_overflow_chain_that_ends_is_fine():
    q = lambda target: {"max_wait": 60, "overflow": {"action": "queue", "target": target}}  # noqa
    queues = parse_queues({"queues": {"a": q("b"), "b": q("c"), "c": {}}}, "x")
    Router(queues.values())  # and the router takes it


def test_unknown_keys_are_refused():
    assert one({"skils": ["sales"]})[0].startswith("queues.sales.skils: unknown key (known: ")
    found = problems({"queues": {"sales": {}}, "queue": {}})
    assert found[0].startswith("queue: unknown key (known: queues)")


@pytest.mark.parametrize("data", [None, [], "queues", 5])
def test_a_file_that_is_not_a_mapping(data):
    found = problems(data)
    assert len(found) == 1 and "not a mapping" in found[0] and "queues:" in found[0]


@pytest.mark.parametrize("data", [{}, {"queues": None}, {"queues": {}}, {"queues": []}])
def test_no_queues(data):
    assert problems(data)[0].startswith("queues: missing or empty")


def test_queues_not_a_mapping():
    assert problems({"queues": ["sales"]})[0].startswith("queues: ['sales'] is not a mapping")


def test_queue_settings_not_a_mapping():
    assert one(["sales"]) == ["queues.sales: ['sales'] is not a mapping of the queue's settings"]


# -- files -------------------------------------------------------------------


def test_load_file_and_errors(tmp_path):
    good = tmp_path / "q.yaml"
    good.write_text("queues:\n  sales:\n    skills: [sales]\n")
    assert load_queues(good)["sales"].skills == ("sales",)
    bad = tmp_path / "bad.yaml"
    bad.write_text("queues:\n  sales:\n    priority: 9999\n")
    with pytest.raises(QueueConfigError) as exc:
        load_queues(bad)
    assert str(exc.value) == f"{bad}: queues.sales.priority: 9999 is not a whole number " \
                             "from 0 to 1000"


def test_load_missing_unreadable_and_broken_files(tmp_path):
    with pytest.raises(QueueConfigError, match="cannot read the file"):
        load_queues(tmp_path / "nope.yaml")
    syntax = tmp_path / "s.yaml"
    syntax.write_text("queues: [unclosed\n")
    with pytest.raises(QueueConfigError, match="YAML syntax error at line"):
        load_queues(syntax)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(QueueConfigError, match="not UTF-8"):
        load_queues(binary)
    empty = tmp_path / "e.yaml"
    empty.write_text("")
    with pytest.raises(QueueConfigError, match="empty, not a mapping"):
        load_queues(empty)
    listing = tmp_path / "l.yaml"
    listing.write_text("- sales\n- support\n")
    with pytest.raises(QueueConfigError, match="a list, not a mapping"):
        load_queues(listing)


def test_a_queue_given_twice_is_refused(tmp_path):
    twice = tmp_path / "t.yaml"
    twice.write_text("queues:\n  sales: {}\n  sales: {priority: 3}\n")
    with pytest.raises(QueueConfigError, match="'sales' is given twice"):
        load_queues(twice)


def test_unsafe_yaml_tags_are_refused(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("queues: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(QueueConfigError, match="YAML"):
        load_queues(evil)


def test_the_demo_file_loads_and_fits_the_router_and_the_demo_menus():
    queues = load_queues(REPO / "queues" / "demo.yaml")
    assert {"sales", "support"} <= set(queues)
    sales, support = queues["sales"], queues["support"]
    assert sales.skills == ("sales",) and support.skills == ("support",)
    assert sales.max_wait == 120 and sales.overflow == Overflow("queue", target="support")
    assert support.max_wait == 300 and support.overflow.action == "voicemail"
    assert support.callback_key == "1" and support.last_agent is True
    assert support.vip_weight == 300
    Router(queues.values())
    import yaml
    menus = yaml.safe_load((REPO / "menus" / "demo.yaml").read_text())
    used = {node["queue"] for node in menus["nodes"].values() if node.get("kind") == "queue"}
    assert check_ivr_queues(queues, used) == []


def test_check_ivr_queues_names_the_unknown_ones():
    queues = {"sales": QueueConfig("sales")}
    assert check_ivr_queues(queues, ["sales"]) == []
    assert check_ivr_queues(queues, ["sales", "billing"]) == [
        'unknown queue "billing": defined queues are sales']
    found = check_ivr_queues(queues, {"billing": ["menus/a.yaml node b", "menus/a.yaml node a"],
                                      "sales": "menus/a.yaml node s"})
    assert found == ['unknown queue "billing" (used by menus/a.yaml node a, menus/a.yaml node b):'
                     ' defined queues are sales']
