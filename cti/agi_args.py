"""Validation and quoting of what goes into an AGI command line.

An AGI command is one line; a CR or LF in a caller-supplied value would end
it and start another command of the caller's choosing.  Values are also
quoted the way Asterisk's agi.c parse_args() unquotes them.
"""
from __future__ import annotations

import re

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_().]*")
_SOUND = re.compile(r"[A-Za-z0-9_/.-]+")
_DIGITS = re.compile(r"[0-9*#]*")
_APPLICATION = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_FORBIDDEN = ("\r", "\n", "\0")


def check_text(what: str, text: str) -> str:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, got {type(text).__name__}")
    for char in _FORBIDDEN:
        if char in text:
            raise ValueError(f"{what} contains a {char!r} character; CR, LF and NUL are refused"
                             " so a value cannot inject AGI commands")
    return text


def quote(what: str, text: str) -> str:
    check_text(what, text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(pattern: re.Pattern[str], what: str, value: str, allowed: str) -> str:
    check_text(what, value)
    if not pattern.fullmatch(value):
        raise ValueError(f"invalid {what} {value!r}: {allowed}")
    return value


def variable_name(name: str) -> str:
    return _check(_VARIABLE, "variable name", name,
                  "a letter or '_' then letters, digits, '_', '(', ')' or '.'")


def sound_name(name: str) -> str:
    _check(_SOUND, "sound file name", name, "letters, digits, '_', '/', '.' and '-' only")
    if ".." in name.split("/"):
        raise ValueError(f"invalid sound file name {name!r}: '..' is not allowed")
    return name


def digits(value: str, what: str = "escape digits") -> str:
    return _check(_DIGITS, what, value, "only 0-9, * and #")


def application(name: str) -> str:
    return _check(_APPLICATION, "application name", name, "letters, digits and '_' only")


def integer(what: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value
