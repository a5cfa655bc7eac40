"""The queue configuration file (YAML) into checked ``QueueConfig`` objects.

A file is refused as a whole, never half-loaded, with every problem named by its
key path at once::

    queues/demo.yaml: 2 problems:
      - queues.sales.overflow.target: unknown queue "suport"
      - queues.support.ring_timeout: 1 is not a number from 3 to 300

The shape::

    queues:
      sales:
        skills: [sales]                     # required skills (all of them); default none
        priority: 5                         # 0-1000, higher first; default 0
        service_level: {seconds: 20, target: 0.8}
        max_wait: 120                       # seconds before `overflow` applies
        overflow: {action: queue, target: support}
                  # or {action: relax, skills: [..]}, {action: voicemail, mailbox: "100"},
                  #    {action: callback}
        ring_timeout: 15                    # 3-300 s
        wrap_up: 10                         # 0-3600 s
        moh: default                        # Asterisk music-on-hold class
        announce: {position: true, every: 30}   # every 10-600 s
        callback_key: "1"                   # one DTMF key: 0-9, "*", "#"
        last_agent: true
        vip_weight: 300                     # 0-86400 s

Unknown keys are refused (a typo must not silently mean "the default"), so are
a key given twice, ``max_wait`` without ``overflow`` (and the reverse), and an
overflow chain that leads back to a queue it left (sales -> support -> sales).
The file is read with a safe YAML loader (``yaml.SafeLoader``, only refusing
duplicate keys on top of it).
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Iterable, Mapping

from cti.yaml_file import read_yaml

from .model import OVERFLOW_ACTIONS, Overflow, QueueConfig

__all__ = ["QueueConfigError", "load_queues", "parse_queues", "check_ivr_queues", "NAME",
           "SKILL"]

NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # queue names
SKILL = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # as the router and the CRM
MOH_CLASS = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAILBOX = re.compile(r"[A-Za-z0-9_-]{1,40}")
DTMF = re.compile(r"[0-9*#]")
TOP_LEVEL = ("queues",)
QUEUE_KEYS = ("skills", "priority", "service_level", "max_wait", "overflow", "ring_timeout",
              "wrap_up", "moh", "announce", "callback_key", "last_agent", "vip_weight")
OVERFLOW_KEYS = {"queue": ("target",), "relax": ("skills",), "voicemail": ("mailbox",),
                 "callback": ()}


class QueueConfigError(ValueError):
    """A queue file refused; ``problems`` lists every problem, each starting with
    its key path (``queues.sales.overflow.target: unknown queue "x"``)."""

    def __init__(self, source: str, problems: list[str]):
        self.source = str(source)
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = f"{self.source}: {self.problems[0]}"
        else:
            text = f"{self.source}: {len(self.problems)} problems:\n" + "\n".join(
                f"  - {p}" for p in self.problems)
        super().__init__(text)


def load_queues(path: str | Path) -> dict[str, QueueConfig]:
    """Read and check a queue file; QueueConfigError lists every problem."""
    data = read_yaml(path, lambda source, problem: QueueConfigError(source, [problem]))
    return parse_queues(data, str(path))


# -- values ----------------------------------------------------------------


class _Bad(Exception):
    """One bad value; the caller adds the key path."""


def _show(value) -> str:
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(low: float, high: float, *, low_open: bool = False, integer: bool = False):
    kind = "a whole number" if integer else "a number"
    if low_open:
        span = f"greater than {low:g} and at most {high:g}"
    else:
        span = f"from {low:g} to {high:g}"

    def parse(value):
        ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type or not math.isfinite(value) \
                or not (low < value if low_open else low <= value) or value > high:
            raise _Bad(f"{_show(value)} is not {kind} {span}")
        return value
    return parse


def _name(pattern: re.Pattern, what: str):
    def parse(value):
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise _Bad(f"{_show(value)} is not {what}")
        return value
    return parse


_skill = _name(SKILL, "a skill name (1-64 letters, digits, '_', '.', '-')")
_queue_name = _name(NAME, "a queue name (1-64 letters, digits, '_', '.', '-')")


def _skills(value) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Bad(f"{_show(value)} is not a list of skills")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(_skill(item))
        except _Bad as exc:
            raise _Bad(f"[{i}] {exc}") from None
    return tuple(dict.fromkeys(out))


def _bool(value) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"{_show(value)} is not true or false")
    return value


def _key(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9:
        return str(value)
    if not isinstance(value, str) or not DTMF.fullmatch(value):
        raise _Bad(f"{_show(value)} is not one DTMF key (0-9, \"*\" or \"#\")")
    return value


def _mailbox(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise _Bad(f"{value!r} must be quoted text (YAML reads unquoted digits as a number "
                   "and drops leading zeros)")
    if not isinstance(value, str) or not MAILBOX.fullmatch(value):
        raise _Bad(f"{_show(value)} is not a mailbox (1-40 letters, digits, '_', '-')")
    return value


_priority = _number(0, 1000, integer=True)
_sl_seconds = _number(0, 86400, low_open=True)
_sl_target = _number(0, 1)
_max_wait = _number(0, 86400, low_open=True)
_ring_timeout = _number(3, 300)
_wrap_up = _number(0, 3600)
_announce_every = _number(10, 600)
_vip_weight = _number(0, 86400)
_moh = _name(MOH_CLASS, "a music-on-hold class name (1-64 letters, digits, '_', '-')")


# -- the file ----------------------------------------------------------------


class _Problems:
    def __init__(self):
        self.items: list[str] = []

    def add(self, path: str, problem: str) -> None:
        self.items.append(f"{path}: {problem}")

    def field(self, path: str, parse, value, default=None):
        try:
            return parse(value)
        except _Bad as exc:
            self.add(path, str(exc))
            return default


def _unknown_keys(data: dict, known: Iterable[str], path: str, problems: _Problems) -> None:
    known = tuple(known)
    for key in data:
        if key not in known:
            problems.add(f"{path}.{key}" if path else str(key),
                         f"unknown key (known: {', '.join(known)})")


def parse_queues(data, source: str = "<queues>") -> dict[str, QueueConfig]:
    """The queues of an already-parsed YAML document; QueueConfigError lists every problem."""
    problems = _Problems()
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}"
        raise QueueConfigError(source, [f"the file is {what}, not a mapping: it must start "
                                        "with a 'queues:' key holding one entry per queue"])
    _unknown_keys(data, TOP_LEVEL, "", problems)
    raw_queues = data.get("queues")
    if not isinstance(raw_queues, dict) or not raw_queues:
        problems.add("queues", "missing or empty: a mapping of queue name to its settings"
                     if not raw_queues else f"{_show(raw_queues)} is not a mapping")
        raise QueueConfigError(source, problems.items)
    names = [name for name in raw_queues if isinstance(name, str) and NAME.fullmatch(name)]
    for name in raw_queues:
        if name not in names:
            problems.add(f"queues.{name}", f"{_show(name)} is not a queue name "
                                           "(1-64 letters, digits, '_', '.', '-')")
    out: dict[str, QueueConfig] = {}
    for name in names:
        config = _queue(name, raw_queues[name], set(names), problems)
        if config is not None:
            out[name] = config
    _check_cycles(out, problems)
    if problems.items:
        raise QueueConfigError(source, problems.items)
    return out


# A queue's plain keys, and its two small mappings: key -> (example, {sub-key: (field, parse)}).
_SIMPLE = (("skills", _skills), ("priority", _priority), ("ring_timeout", _ring_timeout),
           ("wrap_up", _wrap_up), ("moh", _moh), ("callback_key", _key),
           ("last_agent", _bool), ("vip_weight", _vip_weight))
_NESTED = {
    "service_level": ("{seconds: 20, target: 0.8}",
                      {"seconds": ("sl_seconds", _sl_seconds),
                       "target": ("sl_target", _sl_target)}),
    "announce": ("{position: true, every: 30}",
                 {"position": ("announce_position", _bool),
                  "every": ("announce_every", _announce_every)}),
}
# QueueConfig fields held as seconds or shares (YAML may give them as whole numbers).
_FLOATS = {"ring_timeout", "wrap_up", "vip_weight", "sl_seconds", "sl_target", "announce_every",
           "max_wait"}


def _put(fields: dict, name: str, value) -> None:
    """Keep a field that parsed (None: its problem is already recorded)."""
    if value is not None:
        fields[name] = float(value) if name in _FLOATS else value


def _nested(raw, path: str, example: str, subfields: dict, fields: dict,
            problems: _Problems) -> None:
    if not isinstance(raw, dict):
        problems.add(path, f"{_show(raw)} is not a mapping like {example}")
        return
    _unknown_keys(raw, subfields, path, problems)
    for key, (name, parse) in subfields.items():
        if key in raw:
            _put(fields, name, problems.field(f"{path}.{key}", parse, raw[key]))


def _queue(name: str, raw, names: set[str], problems: _Problems) -> QueueConfig | None:
    path = f"queues.{name}"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.add(path, f"{_show(raw)} is not a mapping of the queue's settings")
        return None
    _unknown_keys(raw, QUEUE_KEYS, path, problems)
    fields: dict = {"name": name}
    for key, parse in _SIMPLE:
        if key in raw:
            _put(fields, key, problems.field(f"{path}.{key}", parse, raw[key]))
    for key, (example, subfields) in _NESTED.items():
        if key in raw:
            _nested(raw[key], f"{path}.{key}", example, subfields, fields, problems)
    max_wait = raw.get("max_wait")
    if max_wait is not None:
        _put(fields, "max_wait", problems.field(f"{path}.max_wait", _max_wait, max_wait))
    if raw.get("overflow") is not None:
        overflow = _overflow(name, raw["overflow"], names, problems)
        if overflow is not None:
            fields["overflow"] = overflow
        if max_wait is None:
            problems.add(f"{path}.overflow", "needs max_wait (the seconds after which it applies)")
    elif max_wait is not None:
        problems.add(f"{path}.max_wait", "needs an overflow (what happens when it is reached)")
    return QueueConfig(**fields)


def _overflow(name: str, raw, names: set[str], problems: _Problems) -> Overflow | None:
    path = f"queues.{name}.overflow"
    if not isinstance(raw, dict):
        problems.add(path, f"{_show(raw)} is not a mapping like {{action: queue, target: support}}")
        return None
    action = raw.get("action")
    if action not in OVERFLOW_ACTIONS:
        problems.add(f"{path}.action", ("missing" if action is None else f"{_show(action)} is "
                                        "unknown") + f" (one of {', '.join(OVERFLOW_ACTIONS)})")
        return None
    needs = OVERFLOW_KEYS[action]
    _unknown_keys(raw, ("action", *needs), path, problems)
    for key in needs:
        if key not in raw:
            problems.add(f"{path}.{key}", f"required for action {action}")
            return None
    if action == "queue":
        target = problems.field(f"{path}.target", _queue_name, raw["target"])
        if target is None:
            return None
        if target not in names:
            problems.add(f"{path}.target", f"unknown queue {_show(target)}")
            return None
        return Overflow(action, target=target)
    if action == "relax":
        skills = problems.field(f"{path}.skills", _skills, raw["skills"])
        return None if skills is None else Overflow(action, skills=skills)
    if action == "voicemail":
        mailbox = problems.field(f"{path}.mailbox", _mailbox, raw["mailbox"])
        return None if mailbox is None else Overflow(action, target=mailbox)
    return Overflow(action)


def _check_cycles(queues: dict[str, QueueConfig], problems: _Problems) -> None:
    """A "queue" overflow chain must end: a call can never come back to a queue it left."""
    reported: set[frozenset[str]] = set()
    for start in queues:
        chain = [start]
        current = queues[start]
        while current.overflow is not None and current.overflow.action == "queue":
            nxt = current.overflow.target
            if nxt in chain:
                loop = chain[chain.index(nxt):]
                key = frozenset(loop)
                if key not in reported:
                    reported.add(key)
                    problems.add(f"queues.{loop[-1]}.overflow.target", "overflow cycle "
                                 + " -> ".join([*loop, nxt]))
                break
            if nxt not in queues:
                break
            chain.append(nxt)
            current = queues[nxt]


def check_ivr_queues(queues: Mapping[str, QueueConfig],
                     queue_names_used_by_menus: Iterable[str] | Mapping[str, object]) -> list[str]:
    """Problems for IVR menus naming a queue the configuration does not define.

    ``queue_names_used_by_menus`` is the names, or a mapping of name to where it is
    used (text, or a list of places, e.g. ``"menus/demo.yaml node sales"``)."""
    problems = []
    used = queue_names_used_by_menus
    for name in sorted(set(used), key=str):
        if name in queues:
            continue
        where = used[name] if isinstance(used, Mapping) else None
        if isinstance(where, (list, tuple, set, frozenset)):
            where = ", ".join(sorted(map(str, where)))
        at = f" (used by {where})" if where else ""
        problems.append(f"unknown queue {_show(name)}{at}: "
                        f"defined queues are {', '.join(sorted(queues)) or 'none'}")
    return problems
