"""JSON out: UTF-8 (Chinese stays readable), ISO 8601 times, and '<', '>', '&'
escaped inside strings so that no browser can ever sniff a reply as HTML."""
from __future__ import annotations

import dataclasses
import enum
import json
from datetime import date, datetime
from decimal import Decimal

from flask import Response

_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def plain(value):
    """``value`` as JSON-ready data: dataclasses, named tuples and times made plain."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return plain(value._asdict())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def dumps(data) -> str:
    # '<', '>' and '&' only ever occur inside JSON strings, where \u escapes are exact.
    return json.dumps(plain(data), ensure_ascii=False).translate(_HTML_SAFE)


def reply(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(dumps(data), status=status, headers=headers or {},
                    mimetype="application/json")


def etag(record: dict) -> dict:
    """The ETag header of a versioned record (customers, tickets)."""
    return {"ETag": f'"{record["version"]}"'}


def no_content() -> Response:
    return Response(status=204)
