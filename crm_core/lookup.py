"""Caller-ID lookup: who is calling, asked on every inbound call.

Kept to one indexed query (phones.e164 joined to customers by primary key),
reading plain columns rather than ORM objects, and it never raises on junk
caller IDs ("anonymous", "", "+", letters): they simply match no one.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, String, bindparam, select
from sqlalchemy.orm import Session

from .models import Customer, Phone
from .phones import try_normalize

MAX_MATCHES = 100

# Built once: the call path pays neither for building nor, thanks to the
# compiled-statement cache, for compiling the statement.
_BY_E164 = (select(Customer.id, Customer.name, Customer.kind, Customer.level, Customer.owner_id,
                   Customer.language)
            .join(Phone, Phone.customer_id == Customer.id)
            .where(Phone.e164 == bindparam("e164", type_=String))
            .order_by(Customer.name, Customer.id)
            .limit(bindparam("limit", type_=Integer)))


@dataclass(frozen=True)
class CustomerMatch:
    id: int
    name: str
    kind: str
    level: str
    owner_id: int | None
    language: str


def find_by_phone(session: Session, number: str, *, region: str = "US",
                  limit: int = 10) -> list[CustomerMatch]:
    """Every customer with this number (several for a shared office line), by name."""
    e164 = try_normalize(number if isinstance(number, str) else None, region)
    if e164 is None:
        return []
    limit = max(1, min(int(limit), MAX_MATCHES))
    rows = session.execute(_BY_E164, {"e164": e164, "limit": limit})
    return [CustomerMatch(*row) for row in rows]
