"""Menu files into flows: a good file becomes the right objects; every kind of
mistake is refused with the file, the node and the problem in the message."""
import copy
import dataclasses
from datetime import time

import pytest
import yaml

from ivr.loader import FIELDS, MenuError, field_parser, load_flow
from ivr.model import (KINDS, Collect, Fax, Hangup, Hours, Language, Lookup, Menu, Play,
                       Prompt, Queue, Transfer, Voicemail)

GOOD = {
    "flow": "main",
    "dids": ["8005550100", "8005550101"],
    "start": "choose_language",
    "language": "en",
    "schedules": {"office": {"timezone": "Europe/London",
                             "weekly": {"mon-fri": ["09:00-12:00", "13:00-17:30"],
                                        "sat": "closed"},
                             "holidays": ["2026-12-25"]}},
    "nodes": {
        "choose_language": {"kind": "language",
                            "prompt": {"tts": "For English press 1", "zh": {"tts": "中文请按2"}},
                            "options": {"1": "en", "2": "zh"}, "next": "identify"},
        "identify": {"kind": "lookup", "vip_levels": ["vip", "gold"], "vip": "vip_queue",
                     "open_ticket": "support", "known": "greet", "unknown": "hours",
                     "on_error": "hours"},
        "greet": {"kind": "play", "prompt": {"tts": "Welcome back"}, "next": "hours"},
        "hours": {"kind": "hours", "schedule": "office", "open": "main", "closed": "closed"},
        "main": {"kind": "menu", "prompt": {"sound": "demo-instruct",
                                            "zh": {"sound": "zh/demo-instruct"}},
                 "timeout": 5, "retries": 3,
                 "options": {"1": "sales", "2": "support", "3": "fax", "9": "account",
                             "0": "operator", "*": "main"},
                 "words": {"sales": "sales", "support": "support", "销售": "sales"},
                 "on_fail": "operator"},
        "account": {"kind": "collect", "prompt": {"tts": "Enter your account number"},
                    "min_digits": 4, "max_digits": 10, "timeout": 7.5,
                    "check": "customer_code", "valid": "support", "retries": 2,
                    "on_fail": "operator"},
        "sales": {"kind": "queue", "queue": "sales", "skills": ["sales", "en"], "priority": 5},
        "support": {"kind": "queue", "queue": "support"},
        "vip_queue": {"kind": "queue", "queue": "vip", "priority": 100},
        "closed": {"kind": "menu", "prompt": "closed-press-1", "options": {"1": "message"},
                   "on_fail": "goodbye"},
        "message": {"kind": "voicemail", "mailbox": "1001",
                    "greeting": {"tts": "Leave a message"}},
        "fax": {"kind": "fax"},
        "operator": {"kind": "transfer", "number": "+442079460958"},
        "goodbye": {"kind": "hangup", "prompt": "vm-goodbye"},
    },
}


def write(tmp_path, data, name="main.yaml"):
    path = tmp_path / name
    if not isinstance(data, str):
        data = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(data, encoding="utf-8")
    return path


def good():
    return copy.deepcopy(GOOD)


def refused(tmp_path, data, **kw) -> MenuError:
    path = write(tmp_path, data)
    with pytest.raises(MenuError) as caught:
        load_flow(path, **kw)
    assert caught.value.file == str(path)
    assert str(path) in str(caught.value)
    return caught.value


def test_a_flow_with_every_kind_loads_into_the_model(tmp_path):
    flow = load_flow(write(tmp_path, GOOD))
    n = flow.nodes
    assert (flow.name, flow.start, flow.language) == ("main", "choose_language", "en")
    assert flow.dids == ("8005550100", "8005550101")
    assert flow.source == str(tmp_path / "main.yaml")
    assert {type(node) for node in n.values()} == set(KINDS.values())
    assert n["choose_language"] == Language(
        name="choose_language", prompt=Prompt(tts="For English press 1",
                                              by_language={"zh": Prompt(tts="中文请按2")}),
        options={"1": "en", "2": "zh"}, next="identify")
    assert n["identify"] == Lookup(name="identify", vip_levels=("vip", "gold"), vip="vip_queue",
                                   open_ticket="support", known="greet", unknown="hours",
                                   on_error="hours")
    assert n["greet"] == Play(name="greet", prompt=Prompt(tts="Welcome back"), next="hours")
    assert n["hours"] == Hours(name="hours", schedule="office", open="main", closed="closed")
    main = n["main"]
    assert isinstance(main, Menu) and main.timeout == 5.0 and main.retries == 3
    assert main.prompt.for_language("zh") == Prompt(sound="zh/demo-instruct")
    assert main.options["*"] == "main" and main.words["销售"] == "sales"
    assert main.invalid_prompt == Prompt(sound="pm-invalid-option")  # the model's default
    assert n["account"] == Collect(name="account", prompt=Prompt(tts="Enter your account number"),
                                   min_digits=4, max_digits=10, timeout=7.5,
                                   check="customer_code", valid="support", retries=2,
                                   on_fail="operator")
    assert n["sales"] == Queue(name="sales", queue="sales", skills=("sales", "en"), priority=5)
    assert n["closed"].prompt == Prompt(sound="closed-press-1")  # string shorthand
    assert n["message"] == Voicemail(name="message", mailbox="1001",
                                     greeting=Prompt(tts="Leave a message"))
    assert n["fax"] == Fax(name="fax")
    assert n["operator"] == Transfer(name="operator", number="+442079460958")
    assert n["goodbye"] == Hangup(name="goodbye", prompt=Prompt(sound="vm-goodbye"))
    office = flow.schedules["office"]
    assert office.timezone == "Europe/London"
    assert office.weekly[0] == ((time(9), time(12)), (time(13), time(17, 30)))
    assert office.weekly[5] == () and office.weekly[6] == ()


def test_defaults_dids_any_and_language_en(tmp_path):
    data = {"flow": "tiny", "start": "bye", "nodes": {"bye": {"kind": "hangup"}}}
    flow = load_flow(write(tmp_path, data))
    assert flow.dids == ("*",) and flow.language == "en" and flow.schedules == {}


def test_yaml_written_by_hand_with_unquoted_digit_keys_and_dates(tmp_path):
    text = """\
flow: hand
start: menu
schedules:
  office: {timezone: America/New_York, weekly: {mon-fri: [09:00-17:00]}, holidays: [2026-07-03]}
nodes:
  menu: {kind: menu, prompt: demo-instruct, options: {1: hours, "#": bye}, on_fail: bye}
  hours: {kind: hours, schedule: office, open: bye, closed: bye}
  bye: {kind: hangup}
"""
    flow = load_flow(write(tmp_path, text))
    assert flow.nodes["menu"].options == {"1": "hours", "#": "bye"}
    assert len(flow.schedules["office"].holidays) == 1


def test_every_model_field_has_a_parser():
    for kind, cls in KINDS.items():
        for field in dataclasses.fields(cls):
            if field.name != "name":
                assert field_parser(kind, field.name), (kind, field.name)
    assert FIELDS


# -- the graph -------------------------------------------------------------


def test_unknown_target(tmp_path):
    data = good()
    data["nodes"]["greet"]["next"] = "helo"
    err = refused(tmp_path, data)
    assert err.node == "greet" and "next goes to unknown node 'helo'" in str(err)


def test_unknown_menu_key_target_names_the_key(tmp_path):
    data = good()
    data["nodes"]["main"]["options"]["4"] = "nowhere"
    err = refused(tmp_path, data)
    assert err.node == "main" and "key 4 goes to unknown node 'nowhere'" in err.problem


@pytest.mark.parametrize("node, field, problem", [
    ("main", "on_fail", "on_fail is required"),
    ("greet", "next", "next is required"),
    ("hours", "closed", "closed is required"),
    ("account", "valid", "valid is required"),
    ("choose_language", "options", "options is required"),
    ("sales", "queue", "queue is required"),
    ("message", "mailbox", "mailbox is required"),
    ("operator", "number", "number is required"),
])
def test_missing_required_field(tmp_path, node, field, problem):
    data = good()
    del data["nodes"][node][field]
    err = refused(tmp_path, data)
    assert err.node == node and err.problem == problem
    assert f"node '{node}': {problem}" in str(err)


@pytest.mark.parametrize("remove", [["unknown"], ["known", "unknown"]])
def test_lookup_needs_unknown_where_every_other_caller_falls_through(tmp_path, remove):
    data = good()
    for field in remove:
        del data["nodes"]["identify"][field]
    data["nodes"]["main"]["options"]["7"] = "greet"  # keep greet reachable
    err = refused(tmp_path, data)
    assert err.node == "identify" and err.problem.startswith("unknown is required")
    assert len(err.problems) == 1


def test_lookup_with_only_unknown_is_fine(tmp_path):
    data = good()
    del data["nodes"]["identify"]["known"]
    data["nodes"]["greet"]["prompt"] = {"tts": "x"}
    data["nodes"]["main"]["options"]["7"] = "greet"  # keep greet reachable
    assert load_flow(write(tmp_path, data)).nodes["identify"].known == ""


def test_menu_needs_options_or_words(tmp_path):
    data = good()
    data["nodes"]["closed"]["options"] = {}
    err = refused(tmp_path, data)
    assert err.node == "closed" and "options (keys) or words" in err.problem


def test_start_must_be_a_node(tmp_path):
    data = good()
    data["start"] = "welcome"
    err = refused(tmp_path, data)
    assert err.node is None and "start 'welcome' is not a node" in str(err)


def test_unreachable_node(tmp_path):
    data = good()
    data["nodes"]["orphan"] = {"kind": "hangup"}
    err = refused(tmp_path, data)
    assert err.node == "orphan" and "unreachable from start 'choose_language'" in str(err)


def test_a_loop_with_no_way_out(tmp_path):
    data = good()
    data["nodes"]["main"]["options"]["4"] = "loop_a"
    data["nodes"]["loop_a"] = {"kind": "play", "prompt": "a", "next": "loop_b"}
    data["nodes"]["loop_b"] = {"kind": "play", "prompt": "b", "next": "loop_a"}
    err = refused(tmp_path, data)
    assert {e.node for e in err.problems} == {"loop_a", "loop_b"}
    assert "loop_a -> loop_b -> loop_a never reaches" in str(err)
    assert "node 'loop_a': a loop with no way out" in str(err)


def test_a_menu_that_repeats_itself_is_fine_when_it_can_fail_out(tmp_path):
    data = {"flow": "f", "start": "m", "nodes": {
        "m": {"kind": "menu", "prompt": "p", "options": {"1": "m", "*": "m"}, "on_fail": "bye"},
        "bye": {"kind": "hangup"}}}
    assert load_flow(write(tmp_path, data)).nodes["m"].options == {"1": "m", "*": "m"}


def test_a_menu_whose_every_edge_loops_has_no_way_out(tmp_path):
    data = {"flow": "f", "start": "m", "nodes": {
        "m": {"kind": "menu", "prompt": "p", "options": {"1": "m"}, "on_fail": "again"},
        "again": {"kind": "play", "prompt": "p", "next": "m"}}}
    err = refused(tmp_path, data)
    assert "m -> m never reaches" in str(err)


def test_unknown_targets_do_not_also_report_reachability(tmp_path):
    data = good()
    data["nodes"]["greet"]["next"] = "helo"
    err = refused(tmp_path, data)
    assert len(err.problems) == 1


def test_hours_naming_an_unknown_schedule(tmp_path):
    data = good()
    data["nodes"]["hours"]["schedule"] = "weekend"
    err = refused(tmp_path, data)
    assert err.node == "hours" and "schedule 'weekend' is not in schedules" in str(err)


def test_collect_check_must_be_known(tmp_path):
    err = refused(tmp_path, GOOD, checks=("order_number",))
    assert err.node == "account" and "check 'customer_code' is not one of order_number" in str(err)
    assert load_flow(write(tmp_path, GOOD), checks={"customer_code", "order_number"})


# -- prompts ---------------------------------------------------------------


def test_prompt_exists_is_asked_per_language(tmp_path):
    asked = []

    def exists(sound, language):
        asked.append((sound, language))
        return True

    load_flow(write(tmp_path, GOOD), prompt_exists=exists)
    assert ("demo-instruct", "en") in asked and ("zh/demo-instruct", "zh") in asked
    assert ("pm-invalid-option", "en") in asked  # the menu's default invalid prompt
    assert ("vm-goodbye", "en") in asked and ("closed-press-1", "en") in asked
    assert all(sound for sound, _ in asked)  # tts prompts are never asked about


def test_a_missing_sound_names_node_and_language(tmp_path):
    err = refused(tmp_path, GOOD,
                  prompt_exists=lambda sound, lang: (sound, lang) != ("zh/demo-instruct", "zh"))
    assert err.node == "main"
    assert "prompt sound 'zh/demo-instruct' does not exist in 'zh'" in str(err)


def test_the_flow_language_is_used_for_plain_prompts(tmp_path):
    data = good()
    data["language"] = "fr"
    err = refused(tmp_path, data, prompt_exists=lambda sound, lang: lang != "fr")
    assert {e.node for e in err.problems} == {"main", "closed", "account", "goodbye"}


@pytest.mark.parametrize("prompt, problem", [
    ({"sound": "a", "tts": "b"}, "either sound or tts"),
    ({}, "either sound or tts"),
    ({"tts": "hi", "xx1": {"tts": "x"}}, "unknown key 'xx1'"),
    ({"tts": "hi", "zh": {"tts": "x", "fr": {"tts": "y"}}}, "unknown key 'fr'"),
    ({"tts": ""}, "1 to 500 characters"),
    ({"tts": "x" * 501}, "1 to 500 characters"),
    ({"tts": "hello\x07"}, "control characters"),
    ({"tts": "line\nbreak"}, "control characters"),
    (["demo"], "is not a prompt"),
])
def test_bad_prompts(tmp_path, prompt, problem):
    data = good()
    data["nodes"]["greet"]["prompt"] = prompt
    err = refused(tmp_path, data)
    assert err.node == "greet" and problem in err.problem and "prompt" in err.problem


# -- values ----------------------------------------------------------------


@pytest.mark.parametrize("node, field, value, problem", [
    ("main", "timeout", 0.1, "from 0.5 to 60"),
    ("main", "timeout", 61, "from 0.5 to 60"),
    ("main", "timeout", "5", "from 0.5 to 60"),
    ("main", "retries", 0, "from 1 to 10"),
    ("main", "retries", 11, "from 1 to 10"),
    ("main", "retries", True, "from 1 to 10"),
    ("main", "retries", 2.5, "from 1 to 10"),
    ("account", "max_digits", 33, "from 1 to 32"),
    ("account", "min_digits", 0, "from 1 to 32"),
    ("account", "min_digits", 11, "11 is more than max_digits (10)"),
    ("sales", "priority", 101, "from 0 to 100"),
    ("sales", "priority", -1, "from 0 to 100"),
    ("sales", "skills", "sales", "is not a list"),
    ("sales", "skills", ["Sales!"], "is not a skill name"),
    ("main", "options", {"10": "sales"}, "is not a key"),
    ("main", "options", {"a": "sales"}, "is not a key"),
    ("main", "options", {"1": "Sales"}, "is not a node name"),
    ("main", "words", {"Sales": "sales"}, "lower-case word"),
    ("main", "words", {"sales1": "sales"}, "lower-case word"),
    ("main", "words", {True: "sales"}, "quote yes/no"),
    ("choose_language", "options", {"1": "EN"}, "not a language code"),
    ("choose_language", "options", {"1": False}, "quote \"no\""),
    ("message", "mailbox", 1001, "must be quoted text"),
    ("message", "mailbox", "12345678901", "is not a mailbox"),
    ("operator", "number", "1", "is not a number to dial"),
    ("operator", "number", "+44 20 7946", "is not a number to dial"),
    ("sales", "queue", "Sales Q", "is not a queue name"),
    ("identify", "vip_levels", [""], "is not a customer level"),
    ("identify", "vip_levels", "vip", "is not a list"),
    ("account", "check", "Customer Code", "is not a check name"),
    ("hours", "schedule", "Office Hours", "is not a schedule name"),
])
def test_bad_values_name_the_field(tmp_path, node, field, value, problem):
    data = good()
    data["nodes"][node][field] = value
    err = refused(tmp_path, data)
    assert err.node == node and err.problem.startswith(f"{field}: ") and problem in err.problem


@pytest.mark.parametrize("sound", ["../etc/passwd", "/etc/passwd", "a..b", "demo.gsm",
                                   "a b", "dir/", "x" * 101, "", "a//b"])
def test_bad_sound_names(tmp_path, sound):
    data = good()
    data["nodes"]["greet"]["prompt"] = {"sound": sound}
    err = refused(tmp_path, data)
    assert err.node == "greet" and "is not a sound name" in err.problem


INJECTION = "1,u)\nsame => n,System(rm -rf /)"


@pytest.mark.parametrize("node, field, value", [
    ("message", "mailbox", INJECTION),
    ("message", "mailbox", "1001\n"),
    ("operator", "number", INJECTION),
    ("operator", "number", "+4420794609\n"),
    ("operator", "number", "100&SIP/evil"),
    ("sales", "queue", INJECTION),
    ("sales", "queue", "sales,,,,macro"),
    ("sales", "skills", [INJECTION]),
    ("greet", "prompt", INJECTION),
    ("greet", "prompt", {"sound": "beep&custom/evil"}),
    ("greet", "prompt", {"tts": "hi", "zh": {"sound": INJECTION}}),
    ("choose_language", "options", {"1": INJECTION}),
])
def test_dialplan_injection_is_refused(tmp_path, node, field, value):
    data = good()
    data["nodes"][node][field] = value
    err = refused(tmp_path, data)
    assert err.node == node
    assert "\nsame" not in str(err)  # shown escaped, so a log line stays one line


@pytest.mark.parametrize("dids", [[INJECTION], ["800555010a"], [8005550100], [], "8005550100",
                                  ["8005550100", "8005550100"]])
def test_bad_dids(tmp_path, dids):
    data = good()
    data["dids"] = dids
    err = refused(tmp_path, data)
    assert err.node is None and "dids: " in err.problem


@pytest.mark.parametrize("key, value, problem", [
    ("flow", "Main!", "flow: 'Main!' is not a flow name"),
    ("flow", None, "flow: None is not a flow name"),
    ("language", "English", "language: 'English' is not a language code"),
    ("colour", "blue", "unknown key 'colour'"),
])
def test_bad_top_level(tmp_path, key, value, problem):
    data = good()
    data[key] = value
    err = refused(tmp_path, data)
    assert err.node is None and problem in err.problem


def test_flow_and_start_are_required(tmp_path):
    data = good()
    del data["flow"], data["start"]
    err = refused(tmp_path, data)
    assert [e.problem for e in err.problems] == ["flow is required", "start is required"]


def test_bad_node_name_and_kind(tmp_path):
    data = good()
    data["nodes"]["Bad Name"] = {"kind": "hangup"}
    data["nodes"]["odd"] = {"kind": "dance"}
    err = refused(tmp_path, data)
    problems = {e.node: e.problem for e in err.problems}
    assert "a node name is" in problems["Bad Name"]
    assert problems["odd"].startswith("kind 'dance' is not one of play, menu")


def test_unknown_field_is_named(tmp_path):
    data = good()
    data["nodes"]["greet"]["nxt"] = "hours"
    err = refused(tmp_path, data)
    assert err.node == "greet"
    assert "unknown field 'nxt' for a play node (fields: prompt, next)" in str(err)


def test_a_schedule_error_names_the_schedule(tmp_path):
    data = good()
    data["schedules"]["office"]["timezone"] = "Mars/Olympus"
    err = refused(tmp_path, data)
    assert "schedule 'office': timezone 'Mars/Olympus' is not an IANA time zone" in str(err)
    data["schedules"]["office"]["timezone"] = "Europe/London"
    data["schedules"]["office"]["weekly"]["sun"] = ["22:00-02:00"]
    err = refused(tmp_path, data)
    assert "schedule 'office': weekly.sun: '22:00-02:00' closes before it opens" in str(err)


def test_every_problem_of_a_file_in_one_error(tmp_path):
    data = good()
    data["nodes"]["greet"]["next"] = 7
    data["nodes"]["sales"]["priority"] = 500
    data["nodes"]["message"]["mailbox"] = "box"
    err = refused(tmp_path, data)
    assert [e.node for e in err.problems] == ["greet", "sales", "message"]
    assert str(err).startswith(f"{tmp_path / 'main.yaml'}: 3 problems:\n")
    for node in ("greet", "sales", "message"):
        assert f"node '{node}': " in str(err)


# -- the file --------------------------------------------------------------


def test_yaml_syntax_error_gives_the_line(tmp_path):
    text = "flow: main\nstart: a\nnodes:\n  a: {kind: hangup\n  b: [\n"
    err = refused(tmp_path, text)
    assert err.node is None and "YAML syntax error at line" in err.problem


def test_yaml_syntax_error_line_is_right(tmp_path):
    text = "flow: main\nstart: a\nnodes:\n  a: {kind: hangup}\n   bad: indent\n"
    err = refused(tmp_path, text)
    assert "line 5" in err.problem


def test_a_node_given_twice_is_refused(tmp_path):
    text = ("flow: main\nstart: a\nnodes:\n  a: {kind: hangup}\n"
            "  a: {kind: play, prompt: x, next: a}\n")
    err = refused(tmp_path, text)
    assert "key 'a' is given twice" in err.problem and "line 5" in err.problem


def test_a_menu_key_given_twice_is_refused(tmp_path):
    text = ("flow: main\nstart: m\nnodes:\n  bye: {kind: hangup}\n"
            "  m: {kind: menu, prompt: p, options: {1: bye, '1': m}, on_fail: bye}\n")
    err = refused(tmp_path, text)
    assert err.node == "m" and "'1' is given twice" in err.problem


def test_python_objects_in_yaml_are_refused(tmp_path):
    text = "flow: !!python/object/apply:os.system ['true']\nstart: a\nnodes: {a: {kind: hangup}}\n"
    err = refused(tmp_path, text)
    assert "YAML syntax error" in err.problem


@pytest.mark.parametrize("text, problem", [
    ("", "a menu file is a mapping"),
    ("- a\n- b\n", "a menu file is a mapping"),
    ("flow: main\nstart: a\n", "nodes is required"),
    ("flow: main\nstart: a\nnodes: [a]\n", "nodes is required"),
])
def test_not_a_flow(tmp_path, text, problem):
    assert problem in refused(tmp_path, text).problem


def test_not_utf8_and_missing_files(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("flow: caf\xe9\n".encode("latin-1"))
    with pytest.raises(MenuError, match="is not UTF-8"):
        load_flow(path)
    with pytest.raises(MenuError, match="cannot read the file") as caught:
        load_flow(tmp_path / "absent.yaml")
    assert caught.value.file == str(tmp_path / "absent.yaml")


def test_read_back_is_true_or_false(tmp_path):
    data = good()
    data["nodes"]["account"]["read_back"] = True
    assert load_flow(write(tmp_path, data)).nodes["account"].read_back is True
    data["nodes"]["account"]["read_back"] = "yes please"
    err = refused(tmp_path, data)
    assert "account" in str(err) and "not true or false" in str(err)
