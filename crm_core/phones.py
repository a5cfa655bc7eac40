"""Phone numbers in, E.164 out: the one form the CRM stores and matches on.

Foreign formats (national, 00-prefixed, spaces, dots, brackets) are accepted
when the `phonenumbers` library can place them, with a configurable default
region for numbers written without a country code. Letters are refused:
a vanity number must be entered as digits, so what is stored is what rings.
"""
from __future__ import annotations

import re

import phonenumbers

from .errors import ValidationError

MAX_INPUT = 40
_LETTERS = re.compile(r"[^\W\d_]")  # any letter, in any script
_ALLOWED = re.compile(r"^[\d\s+().\-/]+$")


def normalize(raw: str, region: str = "US", field: str = "phone") -> str:
    """The E.164 form of ``raw`` or a ValidationError naming ``field``."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError.one(field, "a phone number is required")
    text = raw.strip()
    if len(text) > MAX_INPUT:
        raise ValidationError.one(field, f"longer than {MAX_INPUT} characters")
    if _LETTERS.search(text):
        raise ValidationError.one(field, f"{text!r} contains letters; enter the digits")
    if not _ALLOWED.match(text):
        raise ValidationError.one(field, f"{text!r} has characters a phone number cannot have")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError.one(field, f"{raw!r} is not a phone number ({exc})") from None
    if not phonenumbers.is_possible_number(number):
        raise ValidationError.one(field, f"{raw!r} has the wrong length for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalize(raw: str | None, region: str = "US") -> str | None:
    """E.164 or None: for caller IDs, where bad input must not stop a call."""
    try:
        return normalize(raw or "", region)
    except ValidationError:
        return None


def check_region(region: str) -> str:
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError.one("default_region", f"{region!r} is not a region code like US or DE")
    return region
