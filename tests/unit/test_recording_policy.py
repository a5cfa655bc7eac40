"""The recording policy file: what it accepts, what it refuses (every problem
named by its key path), and decide() for each mode, percent with a seeded rng."""
import random

import pytest
import yaml

from recording.errors import PolicyError
from recording.policy import Policy, Rule, decide, load_policy, parse_policy


def parse(text: str, retention: int = 90) -> Policy:
    return parse_policy(yaml.safe_load(text), "p.yaml", retention)


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse(text)
    assert str(info.value).startswith("p.yaml: ")
    return info.value.problems


def test_entries_inherit_from_defaults_and_defaults_from_the_settings():
    policy = parse("""
recording:
  defaults: {mode: all, channels: mixed, consent: true}
  queues:
    support: {retention_days: 30}
    sales: {mode: percent, percent: 12.5, channels: stereo}
    quiet: {mode: none}
  outbound: {mode: on_demand, consent: false}
  campaigns:
    spring: {mode: percent, percent: 5}
mailboxes: {"100": {queue: support}}
""", retention=45)
    assert policy.defaults == Rule("all", None, "mixed", True, 45)
    assert policy.rule_for("support") == Rule("all", None, "mixed", True, 30)
    assert policy.rule_for("sales") == Rule("percent", 12.5, "stereo", True, 45)
    assert policy.rule_for("unknown-queue") == policy.defaults
    assert policy.rule_for(None, "outbound") == Rule("on_demand", None, "mixed", False, 45)
    assert policy.rule_for("spring", "campaign").percent == 5.0
    assert policy.rule_for("other", "campaign") == policy.defaults
    assert policy.consent_queues() == ["sales", "support"]  # quiet records nothing


def test_an_empty_file_or_section_records_nothing():
    for text in ("", "recording:\n", "mailboxes: {}\n"):
        policy = parse(text)
        assert policy.rule_for("any") == Rule() and policy.outbound == Rule()


def test_every_problem_is_named_by_its_key_path():
    found = problems("""
extra: 1
recording:
  default: {}
  defaults: {mode: sometimes, percent: 120}
  queues:
    support: {mode: percent}
    sales: {mode: all, percent: 10, chanels: stereo}
    "bad name!": {mode: all}
    vip: {channels: quad, consent: "yes", retention_days: 0}
    old: {retention_days: 40000}
    float: {retention_days: 2.5}
  outbound: {mode: all, consent: true}
  campaigns: [spring]
""")
    assert found == [
        '"extra": unknown top-level key (allowed: recording, mailboxes)',
        "recording.default: unknown key (allowed: defaults, queues, outbound, campaigns)",
        'recording.defaults.mode: "sometimes" is not one of all, none, on_demand, percent',
        "recording.defaults.percent: 120 is not a number from 0 to 100",
        "recording.queues.support.percent: required with mode percent (0-100)",
        "recording.queues.sales.chanels: unknown key (allowed: mode, percent, channels, "
        "consent, retention_days)",
        "recording.queues.sales.percent: only with mode percent (the mode is all)",
        'recording.queues."bad name!": not a name (1-64 letters, digits, \'_\', \'.\', \'-\')',
        'recording.queues.vip.channels: "quad" is not one of stereo, mixed',
        'recording.queues.vip.consent: "yes" is not true or false',
        "recording.queues.vip.retention_days: 0 is not a whole number of days from 1 to 36500",
        "recording.queues.old.retention_days: 40000 is not a whole number of days from 1 to 36500",
        "recording.queues.float.retention_days: 2.5 is not a whole number of days from 1 to 36500",
        "recording.outbound.consent: cannot be true: a click-to-dial customer is not played an "
        "announcement (tell them yourself, or record on demand)",
        "recording.campaigns: must be a mapping of names to settings",
    ]


def test_percent_without_mode_percent_and_bad_shapes():
    assert problems("recording:\n  defaults: {percent: 10}\n") == [
        "recording.defaults.percent: only with mode percent (the mode is none)"]
    assert problems("recording: [1, 2]\n") == ["recording: must be a mapping"]
    assert problems("recording:\n  queues: {support: all}\n") == [
        "recording.queues.support: must be a mapping of mode, percent, channels, consent, "
        "retention_days"]
    with pytest.raises(PolicyError, match="must be a mapping with the key 'recording'"):
        parse("- a\n- b\n")
    # a percent given in the defaults is inherited by a queue that only sets the mode
    policy = parse("recording:\n  defaults: {mode: percent, percent: 7}\n"
                   "  queues: {a: {mode: percent}, b: {mode: all}}\n")
    assert policy.rule_for("a").percent == 7.0 and policy.rule_for("b").percent is None


def test_the_file_itself(tmp_path):
    good = tmp_path / "recording.yaml"
    good.write_text("recording:\n  queues:\n    support: {mode: all}\n")
    assert load_policy(good, 30).rule_for("support") == Rule("all", retention_days=30)
    twice = tmp_path / "twice.yaml"
    twice.write_text("recording:\n  queues:\n    support: {mode: all}\n    support: {mode: none}\n")
    with pytest.raises(PolicyError, match=r"twice.yaml: YAML syntax error at line 4.*'support' "
                                          r"is given twice"):
        load_policy(twice)
    with pytest.raises(PolicyError, match="cannot read the file"):
        load_policy(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PolicyError, match="is not UTF-8 text"):
        load_policy(binary)
    evil = tmp_path / "evil.yaml"
    evil.write_text("recording: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(PolicyError, match="YAML"):
        load_policy(evil)


def test_the_repository_policy_file_loads():
    policy = load_policy("recording.yaml")
    assert policy.rule_for("support").mode == "all"


POLICY = parse_policy({"recording": {
    "defaults": {"mode": "none"},
    "queues": {"all": {"mode": "all"}, "demand": {"mode": "on_demand"},
               "half": {"mode": "percent", "percent": 50},
               "zero": {"mode": "percent", "percent": 0},
               "full": {"mode": "percent", "percent": 100}},
    "outbound": {"mode": "on_demand"}}})


class Never:
    def random(self):
        raise AssertionError("drawn although the policy is not a percent")


def test_decide_each_mode():
    assert decide(POLICY, "all", "inbound", Never()).record
    assert not decide(POLICY, "nobody-listed", "inbound", Never()).record
    demand = decide(POLICY, "demand", "inbound", Never())
    assert not demand.record and demand.rule.mode == "on_demand"
    outbound = decide(POLICY, None, "outbound", Never())
    assert not outbound.record
    assert outbound.why == "outbound calls: recorded when the agent starts it"
    assert not decide(POLICY, "zero", "inbound", random.Random(1)).record
    assert decide(POLICY, "full", "inbound", random.Random(1)).record
    with pytest.raises(ValueError, match="direction"):
        decide(POLICY, "all", "sideways", Never())


def test_percent_is_one_draw_per_call_from_the_rng():
    rng = random.Random(20261123)
    draws = [decide(POLICY, "half", "inbound", rng).record for _ in range(2000)]
    again = random.Random(20261123)
    # the same seed, the same calls
    assert draws == [again.random() * 100 < 50 for _ in range(2000)]
    assert 900 < sum(draws) < 1100
    decision = decide(POLICY, "half", "inbound", random.Random(5))
    assert decision.why.startswith("inbound half: 50% of calls, drew ")
