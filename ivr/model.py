"""IVR menus as data: the node kinds a menu file describes.

A *flow* (one YAML file) is a graph of named nodes starting at ``start``. Every
node says where the caller goes next by node name; the terminal kinds (queue,
voicemail, fax, transfer, hangup) hand the call on or end it. The loader
(``ivr.loader``) builds these objects from YAML and refuses a flow with an
unknown target, an unreachable node, a loop with no way out, or a prompt that
does not exist; the runtime (``ivr.runtime``) walks them on a live call.

Example (``menus/main.yaml``)::

    flow: main
    dids: ["8005550100"]          # which dialled numbers start here ("*": any)
    start: identify
    schedules:
      office: {timezone: Europe/London, weekly: {mon-fri: ["09:00-17:30"]},
               holidays: ["2026-12-25"]}
    nodes:
      identify: {kind: lookup, vip: vip_queue, open_ticket: support_queue,
                 known: greet, unknown: hours}
      greet:    {kind: play, prompt: {tts: "Welcome back"}, next: hours}
      hours:    {kind: hours, schedule: office, open: main, closed: after_hours}
      main:     {kind: menu, prompt: {sound: demo-instruct}, timeout: 5, retries: 3,
                 options: {"1": sales, "2": support, "9": account},
                 words: {sales: sales, support: support}, on_fail: operator}
      account:  {kind: collect, prompt: {tts: "Enter your account number"},
                 min_digits: 4, max_digits: 10, check: customer_code,
                 valid: support_queue, retries: 2, on_fail: operator}
      sales:    {kind: queue, queue: sales, skills: [sales], priority: 5}
      ...
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

# -- prompts -------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """What the caller hears: an Asterisk sound file, or text spoken by TTS
    (espeak-ng, cached as an 8 kHz file), optionally per language."""
    sound: str = ""  # e.g. "demo-instruct" (Asterisk sound name, no extension)
    tts: str = ""  # text to synthesise
    by_language: dict[str, "Prompt"] = field(default_factory=dict)  # "zh" -> Prompt(...)

    def for_language(self, language: str) -> "Prompt":
        return self.by_language.get(language, self)


# -- nodes ---------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    name: str

    def targets(self) -> dict[str, str]:
        """Outgoing edges: {label: node name}. Terminal nodes have none."""
        return {}

    def prompts(self) -> list[Prompt]:
        return []


@dataclass(frozen=True)
class Play(Node):
    prompt: Prompt = Prompt()
    next: str = ""

    def targets(self):
        return {"next": self.next}

    def prompts(self):
        return [self.prompt]


@dataclass(frozen=True)
class Menu(Node):
    """Keys (and optionally spoken words) to targets, with timeout and retries."""
    prompt: Prompt = Prompt()
    options: dict[str, str] = field(default_factory=dict)  # "1" -> node; "*" may repeat
    words: dict[str, str] = field(default_factory=dict)  # spoken word -> node (speech input)
    timeout: float = 5.0  # seconds to wait for a key after the prompt
    retries: int = 3  # prompts played before on_fail
    invalid_prompt: Prompt = Prompt(sound="pm-invalid-option")  # in Asterisk core sounds
    timeout_prompt: Prompt = Prompt()  # empty: just repeat the menu prompt
    on_fail: str = ""  # where a caller goes after `retries` timeouts / invalid keys

    def targets(self):
        edges = {f"key {k}": v for k, v in self.options.items()}
        edges.update({f"word {w}": v for w, v in self.words.items()})
        edges["on_fail"] = self.on_fail
        return edges

    def prompts(self):
        return [p for p in (self.prompt, self.invalid_prompt, self.timeout_prompt)
                if p.sound or p.tts]


@dataclass(frozen=True)
class Collect(Node):
    """Collect a number (account, order) and check it, e.g. against the CRM."""
    prompt: Prompt = Prompt()
    min_digits: int = 1
    max_digits: int = 10
    timeout: float = 6.0
    check: str = ""  # a checker name (ivr.checks); "" accepts any well-formed number
    valid: str = ""
    retries: int = 2
    invalid_prompt: Prompt = Prompt(sound="pm-invalid-option")  # in Asterisk core sounds
    on_fail: str = ""
    read_back: bool = False  # say "you entered" and the digits (Asterisk's SAY DIGITS)

    def targets(self):
        return {"valid": self.valid, "on_fail": self.on_fail}

    def prompts(self):
        return [p for p in (self.prompt, self.invalid_prompt) if p.sound or p.tts]


@dataclass(frozen=True)
class Lookup(Node):
    """CRM lookup by caller ID. The first matching branch wins: vip, open_ticket,
    known (one customer), many (a shared number), unknown. ``on_error`` is taken
    when the CRM cannot answer, so the caller never waits in dead air."""
    vip_levels: tuple[str, ...] = ("vip",)
    vip: str = ""
    open_ticket: str = ""
    known: str = ""
    many: str = ""
    unknown: str = ""
    on_error: str = ""

    def targets(self):
        return {k: v for k, v in (("vip", self.vip), ("open_ticket", self.open_ticket),
                                  ("known", self.known), ("many", self.many),
                                  ("unknown", self.unknown), ("on_error", self.on_error)) if v}


@dataclass(frozen=True)
class Hours(Node):
    schedule: str = ""
    open: str = ""
    closed: str = ""

    def targets(self):
        return {"open": self.open, "closed": self.closed}


@dataclass(frozen=True)
class Language(Node):
    prompt: Prompt = Prompt()
    options: dict[str, str] = field(default_factory=dict)  # key -> language code ("1": "en")
    timeout: float = 5.0
    next: str = ""  # where every choice (and no choice) continues

    def targets(self):
        return {"next": self.next}

    def prompts(self):
        return [self.prompt]


@dataclass(frozen=True)
class Queue(Node):
    """Hand the caller to the ACD: a queue with required skills and a priority."""
    queue: str = ""
    skills: tuple[str, ...] = ()
    priority: int = 0


@dataclass(frozen=True)
class Voicemail(Node):
    mailbox: str = ""
    greeting: Prompt = Prompt()

    def prompts(self):
        return [self.greeting] if (self.greeting.sound or self.greeting.tts) else []


@dataclass(frozen=True)
class Fax(Node):
    """Hand the call to the fax receiver."""


@dataclass(frozen=True)
class Transfer(Node):
    number: str = ""  # E.164 or an internal extension


@dataclass(frozen=True)
class Hangup(Node):
    prompt: Prompt = Prompt()  # optional goodbye

    def prompts(self):
        return [self.prompt] if (self.prompt.sound or self.prompt.tts) else []


TERMINAL = (Queue, Voicemail, Fax, Transfer, Hangup)
KINDS: dict[str, type[Node]] = {
    "play": Play, "menu": Menu, "collect": Collect, "lookup": Lookup, "hours": Hours,
    "language": Language, "queue": Queue, "voicemail": Voicemail, "fax": Fax,
    "transfer": Transfer, "hangup": Hangup,
}

# -- schedules -----------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Opening hours: per weekday (0 = Monday) a list of (open, close) times in
    ``timezone``; holidays are closed all day."""
    name: str
    timezone: str
    weekly: dict[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date] = frozenset()


# -- a flow ----------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    nodes: dict[str, Node]
    schedules: dict[str, Schedule]
    dids: tuple[str, ...] = ("*",)
    language: str = "en"
    source: str = ""  # the file it came from, for error messages
