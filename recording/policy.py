"""The recording policy: which calls are recorded, how, and for how long.

It is the ``recording:`` section of the policy file (settings.recording.policy_file);
the file's other top-level key, ``mailboxes``, belongs to voicemail and is not
read here.  The shape::

    recording:
      defaults: {mode: none, channels: stereo, consent: false, retention_days: 90}
      queues:                       # queue name -> what applies to its calls
        support: {mode: all, consent: true, retention_days: 30}
        sales: {mode: percent, percent: 50, channels: mixed}
      outbound: {mode: on_demand}   # calls agents place from the console
      campaigns:                    # the dialer's campaigns (same keys)
        spring: {mode: all}

Per entry: ``mode`` all | none | on_demand | percent; ``percent`` 0-100 (only
with mode percent, and then required); ``channels`` stereo (the caller left, the
agent right) | mixed; ``consent`` true: the caller hears an announcement before
waiting, and a call whose caller did not hear it is not recorded;
``retention_days`` 1-36500.  A key an entry leaves out comes from ``defaults``,
and what ``defaults`` leaves out is built in (mode none, stereo, no consent,
settings.recording.retention_days).

A file is refused as a whole, every problem named by its key path; unknown keys
and keys given twice are refused (a typo must not silently mean "the default").
``decide`` is pure: the random draw of a percent policy comes from the ``rng``
it is given.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from cti.yaml_file import read_yaml

from .errors import PolicyError

__all__ = ["Rule", "Policy", "Decision", "load_policy", "parse_policy", "decide", "MODES",
           "CHANNELS", "DIRECTIONS"]

MODES = ("all", "none", "on_demand", "percent")
CHANNELS = ("stereo", "mixed")
DIRECTIONS = ("inbound", "outbound", "campaign")
TOP_LEVEL = ("recording", "mailboxes")
SECTIONS = ("defaults", "queues", "outbound", "campaigns")
ENTRY_KEYS = ("mode", "percent", "channels", "consent", "retention_days")
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # queue and campaign names, as the ACD's


@dataclass(frozen=True)
class Rule:
    mode: str = "none"
    percent: float | None = None
    channels: str = "stereo"
    consent: bool = False
    retention_days: int = 90


@dataclass(frozen=True)
class Policy:
    defaults: Rule = field(default_factory=Rule)
    queues: Mapping[str, Rule] = field(default_factory=dict)
    outbound: Rule = field(default_factory=Rule)
    campaigns: Mapping[str, Rule] = field(default_factory=dict)
    source: str = ""

    def rule_for(self, name: str | None, direction: str = "inbound") -> Rule:
        """What applies to a call of queue (or campaign) ``name`` going ``direction``."""
        if direction == "outbound":
            return self.outbound
        table = self.campaigns if direction == "campaign" else self.queues
        return table.get(name or "", self.defaults)

    def consent_queues(self) -> list[str]:
        return sorted(name for name, rule in self.queues.items()
                      if rule.consent and rule.mode != "none")


@dataclass(frozen=True)
class Decision:
    record: bool  # start recording at answer
    rule: Rule
    why: str  # one line for the log


def decide(policy: Policy, queue: str | None, direction: str, rng) -> Decision:
    """Whether a call just answered is recorded now.  ``rng`` has random() in
    [0, 1) (random.Random); it is drawn only for a percent policy."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    rule = policy.rule_for(queue, direction)
    where = "outbound calls" if direction == "outbound" else f"{direction} {queue or '-'}"
    if rule.mode == "all":
        return Decision(True, rule, f"{where}: every call is recorded")
    if rule.mode == "none":
        return Decision(False, rule, f"{where}: calls are not recorded")
    if rule.mode == "on_demand":
        return Decision(False, rule, f"{where}: recorded when the agent starts it")
    draw = rng.random() * 100.0
    chosen = draw < (rule.percent or 0.0)
    return Decision(chosen, rule, f"{where}: {rule.percent:g}% of calls, drew {draw:.1f}"
                    f" -> {'recorded' if chosen else 'not recorded'}")


# -- loading -------------------------------------------------------------------------


def load_policy(path: str | Path, retention_days: int = 90) -> Policy:
    """Read and check the policy file; PolicyError lists every problem.
    ``retention_days``: what applies when the file does not say."""
    data = read_yaml(path, PolicyError.one)
    return parse_policy(data, str(path), retention_days)


def parse_policy(data, source: str = "<policy>", retention_days: int = 90) -> Policy:
    """The checked Policy of a loaded file (a dict, or None for an empty file)."""
    problems: list[str] = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(source, ["the file must be a mapping with the key 'recording'"])
    for key in data:
        if key not in TOP_LEVEL:
            problems.append(f"{_show(key)}: unknown top-level key (allowed: "
                            f"{', '.join(TOP_LEVEL)})")
    section = data.get("recording")
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise PolicyError(source, problems + ["recording: must be a mapping"])
    for key in section:
        if key not in SECTIONS:
            problems.append(f"recording.{key}: unknown key (allowed: {', '.join(SECTIONS)})")
    builtin = Rule(retention_days=retention_days)
    defaults = _entry(section.get("defaults"), "recording.defaults", builtin, problems)
    queues = _table(section.get("queues"), "recording.queues", defaults, problems)
    outbound = _entry(section.get("outbound"), "recording.outbound", defaults, problems)
    if outbound.consent:
        problems.append("recording.outbound.consent: cannot be true: a click-to-dial "
                        "customer is not played an announcement (tell them yourself, or "
                        "record on demand)")
    campaigns = _table(section.get("campaigns"), "recording.campaigns", defaults, problems)
    if problems:
        raise PolicyError(source, problems)
    return Policy(defaults, queues, outbound, campaigns, source)


def _table(value, where: str, defaults: Rule, problems: list[str]) -> dict[str, Rule]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{where}: must be a mapping of names to settings")
        return {}
    table = {}
    for name, entry in value.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            problems.append(f"{where}.{_show(name)}: not a name (1-64 letters, digits, "
                            "'_', '.', '-')")
            continue
        table[name] = _entry(entry, f"{where}.{name}", defaults, problems)
    return table


def _entry(value, where: str, inherited: Rule, problems: list[str]) -> Rule:
    """One entry's rule: its own keys over ``inherited``."""
    if value is None:
        return inherited
    if not isinstance(value, dict):
        problems.append(f"{where}: must be a mapping of {', '.join(ENTRY_KEYS)}")
        return inherited
    before = len(problems)
    for key in value:
        if key not in ENTRY_KEYS:
            problems.append(f"{where}.{key}: unknown key (allowed: {', '.join(ENTRY_KEYS)})")
    changes = {}
    for key, check in _CHECKS.items():
        if key in value:
            try:
                changes[key] = check(value[key])
            except _Bad as exc:
                problems.append(f"{where}.{key}: {exc}")
    mode = changes.get("mode", inherited.mode)
    given_percent = "percent" in changes  # given, and a valid number
    if "mode" in changes and mode != "percent":
        changes["percent"] = None  # not inherited into a mode that has none
    if "mode" not in value or "mode" in changes:  # (a bad mode is reported already)
        if mode == "percent" and "percent" not in value and inherited.percent is None:
            problems.append(f"{where}.percent: required with mode percent (0-100)")
        if given_percent and mode != "percent":
            problems.append(f"{where}.percent: only with mode percent (the mode is {mode})")
    if len(problems) > before:
        return inherited
    return replace(inherited, **changes)


class _Bad(Exception):
    """One bad value; the caller adds the key path."""


def _show(value) -> str:
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _one_of(choices: tuple[str, ...]):
    def check(value):
        if not isinstance(value, str) or value not in choices:
            raise _Bad(f"{_show(value)} is not one of {', '.join(choices)}")
        return value
    return check


def _percent(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not 0 <= value <= 100:
        raise _Bad(f"{_show(value)} is not a number from 0 to 100")
    return float(value)


def _flag(value) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"{_show(value)} is not true or false")
    return value


def _days(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 36500:
        raise _Bad(f"{_show(value)} is not a whole number of days from 1 to 36500")
    return value


_CHECKS = {"mode": _one_of(MODES), "percent": _percent, "channels": _one_of(CHANNELS),
           "consent": _flag, "retention_days": _days}
