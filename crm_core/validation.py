"""Validation of customer data, shared by the service layer, the CSV import and
the REST API, so that every edge refuses the same things with the same words.

``clean_customer`` collects every problem before raising, so a form or a CSV
row is told everything that is wrong with it at once.
"""
from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from . import phones as phone_numbers
from .errors import ValidationError
from .models import CUSTOMER_KINDS

EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
LANGUAGE = re.compile(r"^(?=.{2,16}$)[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")  # fits the column
CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
TAG = re.compile(r"^[\w .-]{1,40}$")
LABEL = re.compile(r"^[\w .-]{0,20}$")
CUSTOM_FIELDS_MAX = 4096  # bytes of JSON
_ZONES: frozenset[str] | None = None

TEXT_LIMITS = {"name": 200, "level": 32, "segment": 64, "address": 300, "postcode": 20,
               "city": 100}
FIELDS = ("kind", "code", "name", "company_id", "level", "segment", "owner_id", "language",
          "timezone", "address", "postcode", "city", "country", "custom_fields",
          "phones", "emails", "tags")


def _printable(text: str) -> bool:
    return text.isprintable()


def clean_text(value, field: str, limit: int, errors: dict, required: bool = False) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = "must be text"
        return None
    value = value.strip()
    if required and not value:
        errors[field] = "is required"
    elif len(value) > limit:
        errors[field] = f"longer than {limit} characters"
    elif not _printable(value):
        errors[field] = "contains control characters"
    else:
        return value
    return None


def clean_long_text(value, field: str, limit: int, errors: dict,
                    required: bool = False) -> str | None:
    """Free text (notes, descriptions) keeps its line breaks and tabs; other control
    characters are refused (PostgreSQL cannot even store NUL)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = "must be text"
    elif required and not value.strip():
        errors[field] = "is required"
    elif len(value) > limit:
        errors[field] = f"longer than {limit} characters"
    elif not all(ch.isprintable() or ch in "\n\r\t" for ch in value):
        errors[field] = "contains control characters"
    else:
        return value.strip()
    return None


def valid_timezone(name: str) -> bool:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    if name in _ZONES or name == "UTC":
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def clean_email(value, field: str = "email") -> str:
    if not isinstance(value, str) or not EMAIL.match(value.strip()) or len(value.strip()) > 254 \
            or not _printable(value.strip()):
        raise ValidationError.one(field, f"{value!r} is not an e-mail address")
    return value.strip().lower()


def _optional_id(value, field: str, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        errors[field] = "must be a record id (a whole number)"
        return None
    return int(value)


def _phones(values, region: str, errors: dict) -> list[dict]:
    out, seen = [], set()
    for i, item in enumerate(values or []):
        number, label = (item.get("number"), item.get("label", "")) if isinstance(item, dict) \
            else (item, "")
        try:
            e164 = phone_numbers.normalize(number, region, field=f"phones[{i}]")
        except ValidationError as exc:
            errors.update(exc.errors)
            continue
        if not isinstance(label, str) or not LABEL.match(label):
            errors[f"phones[{i}].label"] = "up to 20 letters, digits, spaces, '.', '-'"
        elif e164 not in seen:
            seen.add(e164)
            out.append({"e164": e164, "label": label, "raw": str(number).strip()[:40]})
    return out


def _emails(values, errors: dict) -> list[dict]:
    out, seen = [], set()
    for i, item in enumerate(values or []):
        address, label = (item.get("address"), item.get("label", "")) if isinstance(item, dict) \
            else (item, "")
        try:
            clean = clean_email(address, field=f"emails[{i}]")
        except ValidationError as exc:
            errors.update(exc.errors)
            continue
        if not isinstance(label, str) or not LABEL.match(label):
            errors[f"emails[{i}].label"] = "up to 20 letters, digits, spaces, '.', '-'"
        elif clean not in seen:
            seen.add(clean)
            out.append({"address": clean, "label": label})
    return out


def _tags(values, errors: dict) -> list[str]:
    tags = []
    for i, tag in enumerate(values or []):
        if not isinstance(tag, str) or not TAG.match(tag.strip()):
            errors[f"tags[{i}]"] = "a tag is 1-40 letters, digits, spaces, '.', '-' or '_'"
        elif tag.strip() not in tags:
            tags.append(tag.strip())
    return tags


def _custom_fields(value, errors: dict) -> dict | None:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and 0 < len(k) <= 40 for k in value):
        errors["custom_fields"] = "must be an object with names of 1-40 characters"
        return None
    if not all(v is None or isinstance(v, (str, int, float, bool)) for v in value.values()):
        errors["custom_fields"] = "values must be text, numbers, true/false or null"
        return None
    texts = [*value, *(v for v in value.values() if isinstance(v, str))]
    if not all(_printable(text) for text in texts):  # PostgreSQL cannot even store NUL
        errors["custom_fields"] = "names and values must not contain control characters"
        return None
    if len(json.dumps(value, ensure_ascii=False).encode()) > CUSTOM_FIELDS_MAX:
        errors["custom_fields"] = f"larger than {CUSTOM_FIELDS_MAX} bytes"
        return None
    return value


def clean_customer(data: dict, *, partial: bool = False, region: str = "US") -> dict:
    """Checked and normalised customer fields; ValidationError naming every bad field.

    ``partial`` (an update) checks only the fields given; otherwise ``name`` is required.
    """
    if not isinstance(data, dict):
        raise ValidationError.one("body", "must be an object")
    errors: dict[str, str] = {}
    for key in data:
        if key not in FIELDS:
            errors[key] = "unknown field"
    out: dict = {}
    for field, limit in TEXT_LIMITS.items():
        if field in data or (field == "name" and not partial):
            value = clean_text(data.get(field), field, limit, errors, required=field == "name")
            if value is not None:
                out[field] = value
    if "kind" in data:
        if data["kind"] not in CUSTOMER_KINDS:
            errors["kind"] = f"must be one of {', '.join(CUSTOMER_KINDS)}"
        else:
            out["kind"] = data["kind"]
    if data.get("code") not in (None, ""):
        if not isinstance(data["code"], str) or not CODE.match(data["code"]):
            errors["code"] = "1-32 letters, digits, '.', '_' or '-'"
        else:
            out["code"] = data["code"]
    elif "code" in data:
        out["code"] = None
    for field in ("company_id", "owner_id"):
        if field in data:
            out[field] = _optional_id(data[field], field, errors)
    if "language" in data:
        if not isinstance(data["language"], str) or not LANGUAGE.match(data["language"]):
            errors["language"] = "a language tag like en, zh or pt-BR"
        else:
            out["language"] = data["language"]
    if "timezone" in data:
        if not isinstance(data["timezone"], str) or not valid_timezone(data["timezone"]):
            errors["timezone"] = "an IANA time zone like Europe/Berlin or Asia/Shanghai"
        else:
            out["timezone"] = data["timezone"]
    if data.get("country") not in (None, ""):
        if not isinstance(data["country"], str) or not COUNTRY.match(data["country"]):
            errors["country"] = "a two-letter country code like US or CN"
        else:
            out["country"] = data["country"]
    if "custom_fields" in data:
        value = _custom_fields(data["custom_fields"], errors)
        if value is not None:
            out["custom_fields"] = value
    for field, clean in (("phones", lambda v: _phones(v, region, errors)),
                         ("emails", lambda v: _emails(v, errors)), ("tags", lambda v: _tags(v, errors))):
        if field in data:
            if data[field] is not None and not isinstance(data[field], list):
                errors[field] = "must be a list"
            else:
                out[field] = clean(data[field])
    if errors:
        raise ValidationError(errors)
    return out
