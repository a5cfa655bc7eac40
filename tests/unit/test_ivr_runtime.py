"""Pure decisions of the IVR runtime: path steps, lookup branches, menu keys and
words, retry counts, what may reach an AGI command. The telephony itself is
tested on the lab (tests/lab/test_ivr_*.py)."""
from __future__ import annotations

import pytest

from crm_core.lookup import CustomerMatch
from cti.agi_result import parse_result
from ivr.crm import CallerProfile
from ivr.model import Flow, Hangup, Lookup, Menu, Play, Prompt, Queue
from ivr.runtime import (LANGUAGE, NAME, TRANSFER_NUMBER, attempts_of, file_id_for, flow_languages, has_sound, kind_of,
                         lookup_branch, menu_choice, option_keys, path_step, recorded_key,
                         safest_exit, seconds_ms)


def match(id_: int, level: str = "standard", language: str = "en") -> CustomerMatch:
    return CustomerMatch(id_, f"Customer {id_}", "person", level, None, language)


def profile(*matches: CustomerMatch, open_ticket: bool = False) -> CallerProfile:
    return CallerProfile(tuple(matches), open_ticket)


FULL = Lookup(name="who", vip="v", open_ticket="t", known="k", many="m", unknown="u",
              on_error="e")


# -- path steps ------------------------------------------------------------------

def test_a_path_step_says_where_what_when_and_leaves_out_what_did_not_happen():
    assert path_step("main", "menu", 1.23456, key="1", word=None, attempts=2) == \
        {"node": "main", "kind": "menu", "t": 1.235, "key": "1", "attempts": 2}


def test_a_path_step_never_has_a_negative_time():
    assert path_step("x", "play", -0.0004)["t"] == 0.0


def test_kind_of_names_nodes_as_menu_files_do():
    assert kind_of(Menu(name="m")) == "menu" and kind_of(Queue(name="q")) == "queue"
    assert kind_of(None) == ""


# -- lookup branches ---------------------------------------------------------------

@pytest.mark.parametrize("caller, branch", [
    (profile(match(1, "vip")), "vip"),
    (profile(match(1), open_ticket=True), "open_ticket"),
    (profile(match(1)), "known"),
    (profile(match(1), match(2)), "many"),
    (profile(match(1), match(2, "vip")), "vip"),  # a VIP on a shared line is still a VIP
    (profile(), "unknown"),
    (None, "on_error"),
])
def test_lookup_takes_the_most_specific_branch(caller, branch):
    assert lookup_branch(FULL, caller) == branch


def test_a_vip_without_a_vip_branch_is_treated_by_what_else_they_are():
    no_vip = Lookup(name="who", open_ticket="t", known="k", unknown="u")
    assert lookup_branch(no_vip, profile(match(1, "vip"), open_ticket=True)) == "open_ticket"
    assert lookup_branch(no_vip, profile(match(1, "vip"))) == "known"


def test_a_missing_branch_falls_through_to_the_next_that_applies():
    only_unknown = Lookup(name="who", unknown="u")
    for caller in (profile(match(1, "vip")), profile(match(1), open_ticket=True),
                   profile(match(1)), profile(match(1), match(2)), None):
        assert lookup_branch(only_unknown, caller) == "unknown"
    # An open ticket never routes a caller with no ticket; a known caller never goes 'many'.
    assert lookup_branch(Lookup(name="who", open_ticket="t", many="m", unknown="u"),
                         profile(match(1))) == "unknown"


def test_custom_vip_levels():
    gold = Lookup(name="who", vip_levels=("gold", "platinum"), vip="v", known="k")
    assert lookup_branch(gold, profile(match(1, "platinum"))) == "vip"
    assert lookup_branch(gold, profile(match(1, "vip"))) == "known"


def test_a_lookup_with_nowhere_to_go_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="no branch"):
        lookup_branch(Lookup(name="who", known="k"), None)


# -- menus -------------------------------------------------------------------------

MENU = Menu(name="main", options={"1": "sales", "*": "main"}, words={"sales": "sales",
                                                                     "영업": "sales"})


@pytest.mark.parametrize("key, word, verdict", [
    ("1", None, ("go", "sales")),
    ("*", None, ("go", "main")),
    ("7", None, ("invalid", None)),
    ("7", "sales", ("invalid", None)),  # the key the caller pressed wins
    ("", "영업", ("go", "sales")),
    ("", "support", ("timeout", None)),  # a word the menu does not know: as if silent
    ("", None, ("timeout", None)),
])
def test_menu_choice(key, word, verdict):
    assert menu_choice(MENU, key, word) == verdict


def test_retries_count_prompts_and_at_least_one_is_played():
    assert [attempts_of(n) for n in (3, 1, 0, -2)] == [3, 1, 1, 1]


def test_option_keys_are_the_escape_digits():
    assert option_keys({"1": "a", "2": "b", "#": "c"}) == "12#"
    assert option_keys({}) == ""
    with pytest.raises(ValueError):
        option_keys({"1\n": "a"})


def test_only_a_dtmf_answer_of_record_file_carries_a_key():
    assert recorded_key(parse_result("200 result=49 (dtmf) endpos=8000")) == "1"
    assert recorded_key(parse_result("200 result=35 (dtmf) endpos=8000")) == "#"
    # After silence or a timeout Asterisk puts the milliseconds left in result=.
    assert recorded_key(parse_result("200 result=994 (timeout) endpos=16000")) == ""
    assert recorded_key(parse_result("200 result=49 (timeout) endpos=16000")) == ""
    assert recorded_key(parse_result("200 result=-1 (hangup) endpos=0")) == ""


def test_seconds_to_milliseconds():
    assert (seconds_ms(1.5), seconds_ms(0.0004), seconds_ms(-1)) == (1500, 0, 0)


# -- flows, prompts, files -----------------------------------------------------------

def flow(*nodes, language="en") -> Flow:
    return Flow(name="f", start=nodes[0].name, nodes={n.name: n for n in nodes}, schedules={},
                language=language)


def test_the_safest_exit_is_the_first_queue_else_none():
    with_queues = flow(Play(name="p", next="q2"), Queue(name="q2", queue="b"),
                       Queue(name="q1", queue="a"))
    assert safest_exit(with_queues).name == "q2"
    assert safest_exit(flow(Hangup(name="h"))) is None
    assert safest_exit(None) is None


def test_flow_languages_are_its_own_and_every_prompt_variant():
    greet = Prompt(tts="Hello", by_language={"de": Prompt(tts="Hallo"), "ko": Prompt(tts="안녕")})
    menu = Menu(name="m", prompt=Prompt(sound="beep", by_language={"fr": Prompt(sound="bip")}),
                options={"1": "h"})
    assert flow_languages(flow(Play(name="p", prompt=greet, next="m"), menu,
                               Hangup(name="h"))) == {"en", "de", "ko", "fr"}


def test_has_sound_follows_the_language_variant():
    assert has_sound(Prompt(sound="beep"), "en")
    assert not has_sound(Prompt(), "en") and not has_sound(Prompt(tts="  "), "en")
    assert has_sound(Prompt(by_language={"de": Prompt(tts="Hallo")}), "de")


@pytest.mark.parametrize("linkedid, uniqueid, expected", [
    ("1712345678.42", "1712345678.43", "1712345678.42"),
    ("../../etc/x", "1712345678.43", "1712345678.43"),
    ("", "1712345678.43", "1712345678.43"),
    ("a b", "x/y", None),
])
def test_file_names_come_only_from_safe_ids(linkedid, uniqueid, expected):
    got = file_id_for(linkedid, uniqueid)
    if expected is None:
        assert len(got) == 32 and got.isalnum()
    else:
        assert got == expected


@pytest.mark.parametrize("pattern, good, bad", [
    (LANGUAGE, ["en", "de", "en_GB", "pt-BR", "zh"], ["", "e", "EN", "en\n", "en GB", "x" * 17]),
    (NAME, ["support", "sales_new", "vip-2"], ["", "a,b", "a b", "a\n", "a;b"]),
    (TRANSFER_NUMBER, ["+442079460958", "1001"], ["", "+", "1001&PJSIP/x", "12\n"]),
])
def test_what_may_reach_a_channel_variable(pattern, good, bad):
    assert all(pattern.fullmatch(v) for v in good)
    assert not any(pattern.fullmatch(v) for v in bad)
