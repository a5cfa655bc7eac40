"""Menu files (YAML) into checked ``Flow`` objects, and the registry the runtime asks.

A flow is refused, never half-loaded: every field is checked against its kind
(the values reach the dialplan, so names and numbers are matched strictly), then
the graph (unknown targets, unreachable nodes, loops with no way out, prompts
that do not exist). Each problem is a ``MenuError`` naming the file, the node and
what is wrong; a file with several problems raises one error listing them all.

YAML notes: files are read with a ``yaml.SafeLoader`` that also refuses a key
given twice (two nodes called ``main`` would otherwise silently become one).
Quote DIDs, mailboxes and numbers: YAML reads an unquoted ``0123`` as the
number 83. Quote ``"*"`` and ``"#"`` as menu keys (unquoted they are YAML syntax).
"""
from __future__ import annotations

import dataclasses
import re
import threading
import unicodedata
from pathlib import Path
from typing import Callable, Collection

from cti.yaml_file import read_yaml

from . import hours
from .model import (KINDS, TERMINAL, Collect, Flow, Hours, Language, Lookup, Menu, Node,
                    Play, Prompt, Queue, Schedule, Transfer, Voicemail)

FLOW_NAME = re.compile(r"[a-z0-9_-]{1,40}")
NODE_NAME = re.compile(r"[a-z0-9_]{1,40}")
SCHEDULE_NAME = re.compile(r"[a-z0-9_-]{1,40}")
QUEUE_NAME = re.compile(r"[a-z0-9_-]{1,40}")
SKILL = re.compile(r"[a-z0-9_-]{1,40}")
CHECK_NAME = re.compile(r"[a-z0-9_]{0,40}")
LANGUAGE = re.compile(r"(?=.{2,16}$)[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
DTMF = re.compile(r"[0-9*#]")
DID = re.compile(r"[0-9]{1,20}|\*")
MAILBOX = re.compile(r"[0-9]{1,10}")
NUMBER = re.compile(r"\+?[0-9]{2,20}")
SOUND = re.compile(r"[A-Za-z0-9_/-]{1,100}")
TTS_MAX = 500
TOP_LEVEL = ("flow", "dids", "start", "language", "schedules", "nodes")
EDGES = ("next", "on_fail", "valid", "vip", "open_ticket", "known", "many", "unknown",
         "on_error", "open", "closed")
REQUIRED = {Play: ("prompt", "next"), Menu: ("prompt", "on_fail"),
            Collect: ("prompt", "valid", "on_fail"), Hours: ("schedule", "open", "closed"),
            Language: ("prompt", "options", "next"), Queue: ("queue",),
            Voicemail: ("mailbox",), Transfer: ("number",)}


class MenuError(ValueError):
    """A menu file refused: ``file``, ``node`` (None for the file as a whole) and
    ``problem``. ``problems`` holds every single problem when one error reports several."""

    def __init__(self, file: str, node: str | None, problem: str,
                 problems: tuple["MenuError", ...] = ()):
        self.file, self.node, self.problem = str(file), node, problem
        self.problems = tuple(problems) or (self,)
        super().__init__(f"{self.file}: {self.where()}{problem}")

    def where(self) -> str:
        return f"node {self.node!r}: " if self.node else ""

    @classmethod
    def combine(cls, errors: list["MenuError"]) -> "MenuError":
        if len(errors) == 1:
            return errors[0]
        lines = "\n".join(f"  - {e.where()}{e.problem}" for e in errors)
        return cls(errors[0].file, None, f"{len(errors)} problems:\n{lines}", tuple(errors))


class _Invalid(Exception):
    """One bad value; the caller adds the file and node."""


# -- values ----------------------------------------------------------------


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _match(pattern: re.Pattern, what: str):
    def parse(value):
        if isinstance(value, int) and not isinstance(value, bool):
            raise _Invalid(f"{value!r} must be quoted text (YAML reads unquoted digits as a "
                           f"number and drops leading zeros): {what}")
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise _Invalid(f"{_show(value)} is not {what}")
        return value
    return parse


def _integer(low: int, high: int):
    def parse(value):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _Invalid(f"{_show(value)} is not a whole number from {low} to {high}")
        return value
    return parse


def _seconds(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.5 <= value <= 60:
        raise _Invalid(f"{_show(value)} is not a number of seconds from 0.5 to 60")
    return float(value)


def _listed(parse_item, unique: bool = True):
    def parse(values):
        if not isinstance(values, list):
            raise _Invalid(f"{_show(values)} is not a list")
        items = [parse_item(v) for v in values]
        return tuple(dict.fromkeys(items)) if unique else tuple(items)
    return parse


def _mapping(parse_key, parse_value):
    def parse(values):
        if not isinstance(values, dict):
            raise _Invalid(f"{_show(values)} is not a mapping")
        out = {}
        for key, value in values.items():
            clean = parse_key(key)
            if clean in out:
                raise _Invalid(f"{clean!r} is given twice")
            try:
                out[clean] = parse_value(value)
            except _Invalid as exc:
                raise _Invalid(f"[{clean!r}]: {exc}") from None
        return out
    return parse


def _key(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9:
        return str(value)
    if not isinstance(value, str) or not DTMF.fullmatch(value):
        raise _Invalid(f"{_show(value)} is not a key (one of 0-9, \"*\", \"#\")")
    return value


def _word(value) -> str:
    """A spoken word or short phrase in lower case, any script."""
    if isinstance(value, bool):
        raise _Invalid(f"{value!r} is not a word: quote yes/no/on/off (YAML reads them "
                       "as true/false)")
    ok = (isinstance(value, str) and 1 <= len(value) <= 40 and value == value.lower()
          and all(part and all(unicodedata.category(ch)[0] in "LM" for ch in part)
                  for part in value.split(" ")))
    if not ok:
        raise _Invalid(f"{_show(value)} is not a lower-case word (letters, 1-40 characters)")
    return value


def _language(value) -> str:
    if isinstance(value, bool):
        raise _Invalid(f"{value!r} is not a language code: quote \"no\" (YAML reads it as false)")
    return _match(LANGUAGE, "a language code like en, zh or pt-BR")(value)


def _sound(value) -> str:
    if (not isinstance(value, str) or not SOUND.fullmatch(value)
            or not all(value.split("/"))):
        raise _Invalid(f"{_show(value)} is not a sound name (letters, digits, _ - /; "
                       "no extension, no leading /)")
    return value


def _tts(value) -> str:
    text = value.strip() if isinstance(value, str) else None
    if not text or len(text) > TTS_MAX:
        raise _Invalid(f"{_show(value)} is not text of 1 to {TTS_MAX} characters")
    if not all(ch.isprintable() or unicodedata.category(ch) == "Zs" for ch in text):
        raise _Invalid(f"{_show(value)} contains control characters")
    return text


def _prompt(value, variants: bool = True) -> Prompt:
    if isinstance(value, str):
        return Prompt(sound=_sound(value))
    if not isinstance(value, dict):
        raise _Invalid(f"{_show(value)} is not a prompt (a sound name, {{sound: ..}} or "
                       "{tts: ..})")
    if ("sound" in value) == ("tts" in value):
        raise _Invalid("a prompt has either sound or tts (one of them)")
    base = (Prompt(sound=_sound(value["sound"])) if "sound" in value
            else Prompt(tts=_tts(value["tts"])))
    by_language = {}
    for key, variant in value.items():
        if key in ("sound", "tts"):
            continue
        if not variants or not isinstance(key, str) or not LANGUAGE.fullmatch(key):
            raise _Invalid(f"unknown key {_show(key)} (sound, tts, or a language code "
                           "with its own prompt)")
        try:
            by_language[key] = _prompt(variant, variants=False)
        except _Invalid as exc:
            raise _Invalid(f"{key}: {exc}") from None
    return dataclasses.replace(base, by_language=by_language)


_node_name = _match(NODE_NAME, "a node name (a-z, 0-9, _; up to 40)")
FIELDS: dict = {
    **{edge: _node_name for edge in EDGES},
    "prompt": _prompt, "invalid_prompt": _prompt, "timeout_prompt": _prompt,
    "greeting": _prompt,
    "timeout": _seconds, "retries": _integer(1, 10), "priority": _integer(0, 100),
    "min_digits": _integer(1, 32), "max_digits": _integer(1, 32),
    "words": _mapping(_word, _node_name),
    ("menu", "options"): _mapping(_key, _node_name),
    ("language", "options"): _mapping(_key, _language),
    "skills": _listed(_match(SKILL, "a skill name (a-z, 0-9, _ -; up to 40)")),
    "vip_levels": _listed(_match(re.compile(r"[^\x00-\x1f\x7f]{1,40}"),
                                 "a customer level (1-40 characters)")),
    "check": _match(CHECK_NAME, "a check name (a-z, 0-9, _)"),
    "schedule": _match(SCHEDULE_NAME, "a schedule name"),
    "queue": _match(QUEUE_NAME, "a queue name (a-z, 0-9, _ -; up to 40)"),
    "mailbox": _match(MAILBOX, "a mailbox (1-10 digits)"),
    "number": _match(NUMBER, "a number to dial (2-20 digits, optional leading +)"),
    "read_back": lambda value: _boolean(value),
}


def _boolean(value) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"{_show(value)} is not true or false")
    return value


def field_parser(kind: str, field: str):
    return FIELDS.get((kind, field)) or FIELDS.get(field)


# -- nodes -----------------------------------------------------------------


def _node(file: str, name, data) -> Node:
    if not isinstance(name, str) or not NODE_NAME.fullmatch(name):
        raise MenuError(file, str(name), "a node name is 1-40 of a-z, 0-9, _")
    if not isinstance(data, dict):
        raise MenuError(file, name, "a node is a mapping with a kind")
    kind = data.get("kind")
    if kind not in KINDS:
        raise MenuError(file, name, f"kind {_show(kind)} is not one of {', '.join(KINDS)}")
    cls = KINDS[kind]
    allowed = [f.name for f in dataclasses.fields(cls) if f.name != "name"]
    values, problems = {}, []
    for field, value in data.items():
        if field == "kind":
            continue
        parse = field_parser(kind, field) if field in allowed else None
        if parse is None:
            problems.append(f"unknown field {_show(field)} for a {kind} node"
                            f" (fields: {', '.join(allowed) or 'none'})")
            continue
        try:
            values[field] = parse(value)
        except _Invalid as exc:
            problems.append(f"{field}: {exc}")
    problems += _missing(cls, values, given=set(data))
    if problems:
        raise MenuError.combine([MenuError(file, name, p) for p in problems])
    return cls(name=name, **values)


def _missing(cls: type[Node], values: dict, given: set) -> list[str]:
    """Required fields left out or empty (a field given but bad is reported as bad)."""
    def empty(field):
        return field not in given or (field in values and not values[field])

    problems = [f"{field} is required" for field in REQUIRED.get(cls, ()) if empty(field)]
    if cls is Menu and empty("options") and empty("words"):
        problems.append("a menu needs options (keys) or words")
    if cls is Lookup and empty("unknown"):
        # The runtime falls through a missing branch to the next that applies and
        # ends at unknown (also for a CRM error without on_error): without it a
        # caller would have nowhere to go.
        problems.append("unknown is required: every caller no other branch takes "
                        "(and everyone when the CRM fails without on_error) goes there")
    low, high = values.get("min_digits", 1), values.get("max_digits", 10)
    if cls is Collect and low > high:
        problems.append(f"min_digits: {low} is more than max_digits ({high})")
    return problems


# -- the file --------------------------------------------------------------


def load_flow(path: Path, *, prompt_exists: Callable[[str, str], bool] = lambda sound, lang: True,
              checks: Collection[str] = ("customer_code",)) -> Flow:
    """The flow in ``path``; MenuError listing every problem if it is refused."""
    path = Path(path)
    file = str(path)
    data = read_yaml(path, lambda file, problem: MenuError(file, None, problem))
    if not isinstance(data, dict):
        raise MenuError(file, None, "a menu file is a mapping with flow, start and nodes")
    errors: list[MenuError] = []
    header = _header(file, data, errors)
    schedules = _schedules(file, data.get("schedules"), errors)
    nodes = _nodes(file, data.get("nodes"), errors)
    if errors:
        raise MenuError.combine(errors)
    flow = Flow(source=file, nodes=nodes, schedules=schedules, **header)
    errors = _references(flow, checks)
    if not errors:  # an unknown target would make reachability errors misleading
        errors = _paths(flow)
    errors += _prompts(flow, prompt_exists)
    if errors:
        raise MenuError.combine(errors)
    return flow


def _header(file: str, data: dict, errors: list[MenuError]) -> dict:
    def bad(problem):
        errors.append(MenuError(file, None, problem))

    for key in data:
        if key not in TOP_LEVEL:
            bad(f"unknown key {_show(key)} (keys: {', '.join(TOP_LEVEL)})")
    header = {"name": data.get("flow"), "start": data.get("start"),
              "language": data.get("language", "en"), "dids": ("*",)}
    for key, field, parse in (("flow", "name", _match(FLOW_NAME, "a flow name (a-z, 0-9, _ -)")),
                              ("start", "start", _node_name), ("language", "language", _language)):
        if key not in data:
            if key != "language":
                bad(f"{key} is required")
            continue
        try:
            header[field] = parse(data[key])
        except _Invalid as exc:
            bad(f"{key}: {exc}")
    if "dids" in data:
        try:
            header["dids"] = _dids(data["dids"])
        except _Invalid as exc:
            bad(f"dids: {exc}")
    return header


def _dids(values) -> tuple[str, ...]:
    dids = _listed(_match(DID, "a DID (digits) or \"*\""), unique=False)(values)
    if not dids:
        raise _Invalid("is empty (use [\"*\"] for any dialled number)")
    if len(set(dids)) != len(dids):
        raise _Invalid("a DID is listed twice")
    return dids


def _schedules(file: str, data, errors: list[MenuError]) -> dict[str, Schedule]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        errors.append(MenuError(file, None, "schedules is a mapping of name to schedule"))
        return {}
    schedules = {}
    for name, spec in data.items():
        if not isinstance(name, str) or not SCHEDULE_NAME.fullmatch(name):
            errors.append(MenuError(file, None, f"schedule name {_show(name)} is not "
                                                "1-40 of a-z, 0-9, _ -"))
            continue
        try:
            schedules[name] = hours.parse_schedule(name, spec)
        except ValueError as exc:
            errors.append(MenuError(file, None, f"schedule {name!r}: {exc}"))
    return schedules


def _nodes(file: str, data, errors: list[MenuError]) -> dict[str, Node]:
    if not isinstance(data, dict) or not data:
        errors.append(MenuError(file, None, "nodes is required: a mapping of name to node"))
        return {}
    nodes = {}
    for name, spec in data.items():
        try:
            nodes[name] = _node(file, name, spec)
        except MenuError as exc:
            errors.extend(exc.problems)
    return nodes


# -- the graph -------------------------------------------------------------


def _references(flow: Flow, checks: Collection[str]) -> list[MenuError]:
    file, errors = flow.source, []
    if flow.start not in flow.nodes:
        errors.append(MenuError(file, None, f"start {flow.start!r} is not a node"))
    for node in flow.nodes.values():
        for label, target in node.targets().items():
            if target not in flow.nodes:
                errors.append(MenuError(file, node.name,
                                        f"{label} goes to unknown node {target!r}"))
        if isinstance(node, Hours) and node.schedule not in flow.schedules:
            errors.append(MenuError(file, node.name,
                                    f"schedule {node.schedule!r} is not in schedules"))
        if isinstance(node, Collect) and node.check and node.check not in checks:
            errors.append(MenuError(file, node.name, f"check {node.check!r} is not one of "
                                                     f"{', '.join(sorted(checks)) or 'none'}"))
    return errors


def _paths(flow: Flow) -> list[MenuError]:
    """Unreachable nodes, and nodes from which no terminal node can be reached."""
    reachable = _closure({flow.start}, lambda n: flow.nodes[n].targets().values())
    incoming: dict[str, set[str]] = {name: set() for name in flow.nodes}
    for node in flow.nodes.values():
        for target in node.targets().values():
            incoming[target].add(node.name)
    terminals = {n for n, node in flow.nodes.items() if isinstance(node, TERMINAL)}
    way_out = _closure(terminals, lambda n: incoming[n])
    errors = [MenuError(flow.source, name, f"unreachable from start {flow.start!r}")
              for name in flow.nodes if name not in reachable]
    for name in flow.nodes:
        if name in reachable and name not in way_out:
            errors.append(MenuError(flow.source, name, "a loop with no way out: "
                                    f"{' -> '.join(_loop(flow, name, way_out))} never reaches "
                                    "a queue, voicemail, fax, transfer or hangup"))
    return errors


def _closure(start: set[str], neighbours) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for other in neighbours(todo.pop()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def _loop(flow: Flow, name: str, way_out: set[str]) -> list[str]:
    """A path from ``name`` round a loop, for the message (every successor of a
    node with no way out has no way out either)."""
    path = [name]
    while True:
        following = [t for t in flow.nodes[path[-1]].targets().values() if t not in way_out]
        if not following:
            return path
        path.append(following[0])
        if path[-1] in path[:-1]:
            return path


def _prompts(flow: Flow, prompt_exists: Callable[[str, str], bool]) -> list[MenuError]:
    errors = []
    for node in flow.nodes.values():
        for prompt in node.prompts():
            variants = [(flow.language, prompt)] + list(prompt.by_language.items())
            for language, variant in variants:
                if variant.sound and not prompt_exists(variant.sound, language):
                    errors.append(MenuError(flow.source, node.name, f"prompt sound "
                                            f"{variant.sound!r} does not exist in {language!r}"))
    return errors


# -- a directory -----------------------------------------------------------


def menu_files(directory: Path) -> list[Path]:
    """*.yaml and *.yml, sorted; hidden files (editor locks, '._' copies) skipped."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MenuError(str(directory), None, "is not a directory")
    return sorted(p for p in directory.iterdir()
                  if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file())


def _load_directory(directory: Path, **loader_kwargs) -> tuple[dict[str, Flow], list[MenuError]]:
    """Every flow, or the problems: one MenuError per bad file (each may list several),
    plus flow names or DIDs claimed twice."""
    try:
        files = menu_files(directory)
    except MenuError as exc:
        return {}, [exc]
    if not files:
        return {}, [MenuError(str(directory), None, "has no *.yaml menu files")]
    flows, errors = {}, []
    for path in files:
        try:
            flow = load_flow(path, **loader_kwargs)
        except MenuError as exc:
            errors.append(exc)
            continue
        if flow.name in flows:
            errors.append(MenuError(flow.source, None, f"flow name {flow.name!r} is also used "
                                                       f"by {flows[flow.name].source}"))
        else:
            flows[flow.name] = flow
    if not errors:
        errors = _did_clashes(flows)
    return flows, errors


def _did_clashes(flows: dict[str, Flow]) -> list[MenuError]:
    owner: dict[str, Flow] = {}
    errors = []
    for flow in flows.values():
        for did in flow.dids:
            if did in owner:
                errors.append(MenuError(flow.source, None, f"DID {did!r} is also claimed by "
                                                           f"flow {owner[did].name!r}"))
            else:
                owner[did] = flow
    return errors


def load_flows(directory: Path, **loader_kwargs) -> dict[str, Flow]:
    """Every flow in ``directory`` by name, or the first bad file's MenuError."""
    flows, errors = _load_directory(directory, **loader_kwargs)
    if errors:
        raise errors[0]
    return flows


class MenuRegistry:
    """The flows in use. ``reload`` swaps them only when every file is good, so a
    broken edit never takes the menus down; the errors are returned to report."""

    def __init__(self, directory: Path, **loader_kwargs):
        self.directory = Path(directory)
        self.loader_kwargs = loader_kwargs
        self._lock = threading.Lock()
        self._current: tuple[dict[str, Flow], dict[str, Flow]] = ({}, {})  # flows, by DID

    @property
    def flows(self) -> dict[str, Flow]:
        return self._current[0]

    def reload(self) -> list[MenuError]:
        with self._lock:
            flows, errors = _load_directory(self.directory, **self.loader_kwargs)
            if errors:
                return [problem for error in errors for problem in error.problems]
            by_did = {did: flow for flow in flows.values() for did in flow.dids}
            self._current = (flows, by_did)  # one assignment: readers see old or new
            return []

    def flow_for_did(self, did: str) -> Flow | None:
        _, by_did = self._current
        return by_did.get(did) or by_did.get("*")
