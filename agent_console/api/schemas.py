"""Request parsing: the JSON body, query parameters and body fields, each
refused with an error that names the parameter or field at fault.

The services validate what the data means (a phone number, a ticket status);
this edge checks its shape (an object, a whole number, a time), so a wrong type
never reaches them.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import datetime

from flask import request

from crm_core.errors import ValidationError

from .errors import MalformedBody

MAX_LIMIT = 200
MAX_OFFSET = 1_000_000
MAX_ID = 2**31 - 1  # record ids are 32-bit integers on PostgreSQL
_MISSING = object()
_WHOLE = re.compile(r"-?[0-9]{1,19}")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def json_body() -> dict:
    """The body as a JSON object, or a 400 naming ``body``."""
    if not request.is_json:
        raise MalformedBody("send JSON with 'Content-Type: application/json'")
    raw = request.get_data(cache=True)  # 413 when over the limit
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise MalformedBody("is not UTF-8") from None
    except RecursionError:
        raise MalformedBody("is nested too deeply") from None
    except ValueError as exc:
        raise MalformedBody(f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise MalformedBody("must be a JSON object")
    return data


def query_int(name: str, *, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within [low, high], or a 422 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not _WHOLE.fullmatch(raw):
        raise ValidationError.one(name, f"must be a whole number, got {raw[:40]!r}")
    value = int(raw)
    if not low <= value <= high:
        raise ValidationError.one(name, f"must be between {low} and {high}")
    return value


def query_id(name: str) -> int | None:
    """An optional record id in the query string."""
    if not request.args.get(name):
        return None
    return query_int(name, default=0, low=1, high=MAX_ID)


def limit_offset(default_limit: int = 50) -> tuple[int, int]:
    return (query_int("limit", default=default_limit, low=1, high=MAX_LIMIT),
            query_int("offset", default=0, low=0, high=MAX_OFFSET))


def query_text(name: str, *, limit: int = 200, required: bool = False) -> str:
    value = request.args.get(name, "").strip()
    if required and not value:
        raise ValidationError.one(name, "is required")
    if len(value) > limit:
        raise ValidationError.one(name, f"longer than {limit} characters")
    if not value.isprintable():  # PostgreSQL cannot even compare with a NUL
        raise ValidationError.one(name, "contains control characters")
    return value


def query_bool(name: str, *, default: bool) -> bool:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ValidationError.one(name, "must be true or false")


def parse_time(value, *, naive_ok: bool) -> datetime:
    """An ISO 8601 time; ValueError with the reason."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time as text")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not an ISO 8601 time like 2025-06-01T14:30:00+02:00") \
            from None
    if when.tzinfo is None and not naive_ok:
        raise ValueError("needs a UTC offset, e.g. 2025-06-01T14:30:00Z")
    return when


def expected_version(body: dict) -> int:
    """The version the client read: ``version`` in the body or an If-Match header."""
    value = body.get("version", _MISSING)
    field = "version"
    if value is _MISSING:
        header = request.headers.get("If-Match", "").strip()
        if not header:
            raise ValidationError.one(
                "version", "required: send the version you read, in the body or as If-Match")
        value, field = header.removeprefix("W/").strip('"'), "If-Match"
        value = int(value) if value.isdigit() else value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError.one(field, "must be the record's version, a whole number from 1")
    return value


class Form:
    """Typed fields out of a body; collects every problem, then ``done`` raises them."""

    def __init__(self, body: dict, allowed: tuple[str, ...]):
        self.body = body
        self.errors: dict[str, str] = {k: "unknown field" for k in body if k not in allowed}

    def given(self, name: str) -> bool:
        return name in self.body

    def text(self, name: str, *, limit: int, required: bool = False, default: str = ""):
        value = self.body.get(name, default)
        if value is None and not required:
            return default
        if not isinstance(value, str):
            self.errors[name] = "must be text"
        elif required and not value.strip():
            self.errors[name] = "is required"
        elif len(value) > limit:
            self.errors[name] = f"longer than {limit} characters"
        else:
            return value
        return None

    def choice(self, name: str, options: tuple[str, ...], *, required: bool = True) -> str | None:
        """One of ``options`` (a transfer kind, a reason code, a monitoring mode)."""
        value = self.text(name, limit=200, required=required, default=None)
        if value is not None and value not in options:
            self.errors[name] = f"one of {', '.join(options)}"
            return None
        return value

    def record_id(self, name: str, *, required: bool = False) -> int | None:
        value = self.body.get(name)
        if value is None:
            if required:
                self.errors[name] = "is required"
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            self.errors[name] = "must be a record id (a whole number from 1)"
            return None
        return value

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self.body.get(name, default)
        if not isinstance(value, bool):
            self.errors[name] = "must be true or false"
            return default
        return value

    def time(self, name: str, *, required: bool = False, naive_ok: bool = False):
        value = self.body.get(name)
        if value is None:
            if required:
                self.errors[name] = "is required"
            return None
        try:
            return parse_time(value, naive_ok=naive_ok)
        except ValueError as exc:
            self.errors[name] = str(exc)
            return None

    def done(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


@contextmanager
def fields_named(**body_names: str):
    """Report a service's field names as the names the body uses."""
    try:
        yield
    except ValidationError as exc:
        if not set(exc.errors) & set(body_names):
            raise
        raise ValidationError({body_names.get(k, k): v for k, v in exc.errors.items()}) from None
