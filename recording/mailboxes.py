"""Voicemail mailboxes: the ``mailboxes:`` section of the recording policy file.

    mailboxes:
      "100":
        queue: support                 # a callback for this queue per message
        email: [support-team@example.org]
        greeting: {tts: "You have reached support outside our opening hours ..."}
        # or greeting: {sound: vm-intro}; tts takes an optional language (voice): ko

The file's other top-level key, ``recording:``, is the recording policy (read
by recording.policy); any other top-level key is refused, as is a key given
twice anywhere, an unknown key in a mailbox, a mailbox id that is not digits
(quote it: YAML reads 0100 as the number 64) and an address that is not one.
Every problem is reported at once with the file and its key path; a refused
file changes nothing (the caller keeps the mailboxes it had).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from crm_core.errors import ValidationError
from crm_core.validation import clean_email
from cti.yaml_file import read_yaml

from .errors import FileProblems

TOP_LEVEL = ("recording", "mailboxes")
MAILBOX_KEYS = ("queue", "email", "greeting")
MAILBOX_ID = re.compile(r"[0-9]{1,10}")  # as the IVR's menus name mailboxes
QUEUE = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # as the ACD names queues
SOUND = re.compile(r"[A-Za-z0-9_/-]{1,100}")  # an Asterisk sound name, as in IVR prompts
LANGUAGE = re.compile(r"(?=.{2,16}\Z)[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
# Deliberately narrow: what reaches an SMTP envelope and a To: header.
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
TTS_MAX = 500
MAX_ADDRESSES = 20


class MailboxError(FileProblems):
    """The mailbox file is refused: ``file`` and every problem as "key.path: what"."""


@dataclass(frozen=True)
class Greeting:
    """What a caller hears before the beep: an Asterisk sound, or text spoken by TTS."""
    sound: str = ""
    tts: str = ""
    language: str = "en"  # the TTS voice's language


@dataclass(frozen=True)
class Mailbox:
    id: str
    queue: str  # the callback's queue
    email: tuple[str, ...]  # who gets each message
    greeting: Greeting | None = None  # None: the IVR node's or the ACD's own greeting


class _Bad(Exception):
    """One bad value; the caller adds the key path."""


# -- reading --------------------------------------------------------------------

def read_file(path: Path | str):
    """The file's YAML (MailboxError for an unreadable file or bad YAML)."""
    return read_yaml(path, MailboxError.one)


def load_mailboxes(path: Path | str) -> dict[str, Mailbox]:
    """The mailboxes of the policy file, checked; MailboxError naming every problem."""
    return parse_mailboxes(read_file(path), str(path))


def parse_mailboxes(data, source: str = "<mailboxes>") -> dict[str, Mailbox]:
    problems: list[str] = []
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MailboxError(source, ["the file must be a mapping with recording: and mailboxes:"])
    for key in data:
        if key not in TOP_LEVEL:
            problems.append(f"{_key(key)}: unknown top-level key (known: {', '.join(TOP_LEVEL)})")
    section = data.get("mailboxes") or {}
    if not isinstance(section, dict):
        problems.append("mailboxes: a mapping of mailbox ids (quoted digits) to mailboxes")
        section = {}
    found = {}
    for key, value in section.items():
        mailbox = _mailbox(key, value, problems)
        if mailbox is not None:
            found[mailbox.id] = mailbox
    if problems:
        raise MailboxError(source, problems)
    return found


def _mailbox(key, value, problems: list[str]) -> Mailbox | None:
    where = f"mailboxes.{_key(key)}"
    if isinstance(key, int) and not isinstance(key, bool):
        problems.append(f"{where}: quote the mailbox id (YAML reads unquoted digits as a "
                        "number and drops leading zeros)")
        return None
    if not isinstance(key, str) or not MAILBOX_ID.fullmatch(key):
        problems.append(f"{where}: a mailbox id is 1-10 digits")
        return None
    if not isinstance(value, dict):
        problems.append(f"{where}: a mapping with queue, email and greeting")
        return None
    before = len(problems)
    for name in value:
        if name not in MAILBOX_KEYS:
            problems.append(f"{where}.{_key(name)}: unknown key (known: {', '.join(MAILBOX_KEYS)})")
    for name in ("queue", "email"):
        if name not in value:
            problems.append(f"{where}.{name}: is required")
    queue = _field(where, "queue", value, _queue, problems)
    email = _field(where, "email", value, _addresses, problems)
    greeting = _field(where, "greeting", value, _greeting, problems)
    if len(problems) > before:
        return None
    return Mailbox(id=key, queue=queue, email=email, greeting=greeting)


def _field(where: str, name: str, value: dict, parse, problems: list[str]):
    if name not in value:
        return None
    try:
        return parse(value[name])
    except _Bad as exc:
        problems.append(f"{where}.{name}: {exc}")
        return None


# -- values ----------------------------------------------------------------------

def _key(value) -> str:
    """A key as it appears in a key path: mailboxes.100.email."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _show(value) -> str:
    """A value as it appears in a problem: quoted, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _queue(value) -> str:
    if not isinstance(value, str) or not QUEUE.fullmatch(value):
        raise _Bad(f"{_show(value)} is not a queue name (letters, digits, '_', '.', '-')")
    return value


def check_address(value) -> str:
    """An e-mail address we will put in an SMTP envelope; ValueError otherwise."""
    if not isinstance(value, str) or len(value) > 254 or not EMAIL.fullmatch(value):
        raise ValueError(f"{_show(value)} is not an e-mail address")
    try:
        clean_email(value)  # and one the CRM's outbox takes
    except ValidationError:
        raise ValueError(f"{_show(value)} is not an e-mail address") from None
    return value


def _addresses(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _Bad("a list of one or more e-mail addresses")
    if len(value) > MAX_ADDRESSES:
        raise _Bad(f"at most {MAX_ADDRESSES} addresses")
    out = []
    for item in value:
        try:
            address = check_address(item).lower()
        except ValueError as exc:
            raise _Bad(str(exc)) from None
        if address not in out:
            out.append(address)
    return tuple(out)


def _greeting(value) -> Greeting | None:
    if value is None:
        return None
    if not isinstance(value, dict) or ("sound" in value) == ("tts" in value):
        raise _Bad("a greeting is {sound: name} or {tts: text} (one of them)")
    unknown = set(value) - {"sound", "tts", "language"}
    if unknown:
        raise _Bad(f"unknown key {_show(sorted(map(str, unknown))[0])} (sound, tts, language)")
    if "sound" in value:
        sound = value["sound"]
        if "language" in value:
            raise _Bad("language goes with tts (a sound follows the caller's language)")
        if not isinstance(sound, str) or not SOUND.fullmatch(sound) or not all(sound.split("/")):
            raise _Bad(f"{_show(sound)} is not a sound name (letters, digits, _ - /; no "
                       "extension, no leading /)")
        return Greeting(sound=sound)
    return Greeting(tts=_tts(value["tts"]), language=_language(value.get("language", "en")))


def _tts(value) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > TTS_MAX:
        raise _Bad(f"tts is text of 1 to {TTS_MAX} characters")
    if not all(ch.isprintable() or unicodedata.category(ch) == "Zs" for ch in text):
        raise _Bad("tts contains control characters")
    return text


def _language(value) -> str:
    if not isinstance(value, str) or not LANGUAGE.fullmatch(value):
        raise _Bad(f"{_show(value)} is not a language code like en, ko or zh")
    return value


# -- checks against the IVR and the ACD -------------------------------------------

def missing(mailboxes: Mapping[str, Mailbox], used: Mapping[str, list[str]]) -> list[str]:
    """Problems: every mailbox ``used`` names ({id: [where, ...]}) that is not defined."""
    return [f"mailbox {mailbox!r} (named by {', '.join(sorted(places))}) is not in mailboxes:"
            for mailbox, places in sorted(used.items()) if mailbox not in mailboxes]


def unknown_queues(mailboxes: Mapping[str, Mailbox], queues) -> list[str]:
    """Problems: mailboxes whose callback queue the ACD does not have."""
    return [f"mailboxes.{m.id}.queue: unknown queue {m.queue!r} (the ACD has "
            f"{', '.join(sorted(queues)) or 'none'})"
            for m in mailboxes.values() if m.queue not in queues]
