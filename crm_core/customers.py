"""Customers: create (with the duplicate check and similar-name hints), read,
edit under optimistic locking, delete, search.

Transactions are the caller's: these functions flush but never commit. Every
check runs before the first change to the session, so a refused call
(ValidationError, NotFound, DuplicateCustomer, a stale ``expected_version``)
leaves the caller's transaction usable and untouched. A clash that only the
database can see (another session saved the row between our read and our
write: StaleDataError at flush) arrives after SQLAlchemy has rolled the
transaction back; the caller must roll back too (``with session.begin()`` does),
and nothing of the call is written.
"""
from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from rapidfuzz import fuzz, process, utils
from sqlalchemy import Engine, and_, func, inspect, or_, select, union
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from . import audit
from .errors import Conflict, DuplicateCustomer, NotFound, ValidationError
from .models import Customer, CustomerTag, Email, Phone, User, utcnow
from .phones import try_normalize
from .validation import clean_customer

SCALARS = ("kind", "code", "name", "company_id", "level", "segment", "owner_id", "language",
           "timezone", "address", "postcode", "city", "country", "custom_fields")
CHILDREN = (selectinload(Customer.phones), selectinload(Customer.emails),
            selectinload(Customer.tags))
SEARCH_LIMIT_MAX = 200
# find_similar reads at most this many candidate names sharing a word prefix,
# so a common prefix ("Jo", "王") costs a bounded query on a million customers.
CANDIDATE_LIMIT = 2000
CANDIDATE_WORDS = 3
# One ideograph carries about one romanised syllable (~3 letters), and the
# usual slip typing Chinese is a homophone picked in the IME (小/晓): score a
# wrong ideograph like a wrong letter in a romanised name 3 times as long.
IDEOGRAPH_WEIGHT = 3.0


@dataclass(frozen=True)
class SimilarCustomer:
    id: int
    name: str
    score: float
    owner_id: int | None


@dataclass
class CreateResult:
    customer: Customer
    similar: list[SimilarCustomer]


# -- JSON-ready views ----------------------------------------------------------

def _plain(value):
    return value.isoformat() if isinstance(value, (datetime, date)) else value


@functools.cache
def _column_keys(model: type) -> tuple[str, ...]:
    # Inspecting the mapper on every row was a quarter of a customer card's CPU.
    return tuple(attr.key for attr in inspect(model).column_attrs)


def columns_as_dict(row) -> dict:
    """Every mapped column of an ORM row, times as ISO 8601 text."""
    return {key: _plain(getattr(row, key)) for key in _column_keys(type(row))}


def mapping_as_dict(mapping) -> dict:
    """A plain result row (``.mappings()``) the same way, without ORM objects."""
    return {key: _plain(value) for key, value in mapping.items()}


def _in_entry_order(rows: list) -> list:
    return sorted(rows, key=lambda row: (row.id is None, row.id or 0))


def customer_as_dict(customer: Customer) -> dict:
    out = columns_as_dict(customer)
    out["custom_fields"] = dict(customer.custom_fields or {})
    out["phones"] = [{"e164": p.e164, "label": p.label} for p in _in_entry_order(customer.phones)]
    out["emails"] = [{"address": e.address, "label": e.label}
                     for e in _in_entry_order(customer.emails)]
    out["tags"] = sorted(t.tag for t in customer.tags)
    return out


def _audited(customer: Customer) -> dict:
    # updated_at and version change on every save; the entry's own time says when.
    data = customer_as_dict(customer)
    del data["updated_at"], data["version"]
    return data


# -- checks that run before anything is written -------------------------------

def _company_problem(session: Session, company_id: int, customer_id: int | None) -> str | None:
    if company_id == customer_id:
        return "a customer cannot be its own company"
    kind = session.scalar(select(Customer.kind).where(Customer.id == company_id))
    if kind is None:
        return f"no customer {company_id}"
    return None if kind == "company" else f"customer {company_id} is a {kind}, not a company"


def _code_owner(session: Session, code: str, customer_id: int | None) -> int | None:
    stmt = select(Customer.id).where(Customer.code == code)
    if customer_id is not None:
        stmt = stmt.where(Customer.id != customer_id)
    return session.scalar(stmt)


def _check_references(session: Session, fields: dict, customer_id: int | None = None) -> None:
    """company_id, owner_id and code must point at (or not clash with) real rows."""
    errors = {}
    if fields.get("company_id") is not None:
        problem = _company_problem(session, fields["company_id"], customer_id)
        if problem:
            errors["company_id"] = problem
    owner_id = fields.get("owner_id")
    if owner_id is not None and session.scalar(select(User.id).where(User.id == owner_id)) is None:
        errors["owner_id"] = f"no user {owner_id}"
    if fields.get("code"):
        owner = _code_owner(session, fields["code"], customer_id)
        if owner is not None:
            errors["code"] = f"already used by customer {owner}"
    if errors:
        raise ValidationError(errors)


def _check_kind_change(session: Session, customer: Customer, fields: dict) -> None:
    # A company's contacts point at it; turning it into a person would orphan them.
    if customer.kind != "company" or fields.get("kind", "company") == "company":
        return
    contacts = session.scalar(select(func.count()).where(Customer.company_id == customer.id))
    if contacts:
        raise ValidationError.one("kind", f"the company has {contacts} contacts; move them first")


def _owners_of(session: Session, column, values: list[str], customer_id: int | None):
    model = column.class_
    stmt = (select(Customer.id, Customer.name, Customer.owner_id, column.label("value"))
            .join(model, model.customer_id == Customer.id).where(column.in_(values)))
    if customer_id is not None:
        stmt = stmt.where(Customer.id != customer_id)
    return session.execute(stmt).all() if values else []


def find_duplicates(session: Session, e164s: list[str], addresses: list[str],
                    customer_id: int | None = None) -> list[dict]:
    """Other customers already holding one of these numbers or e-mail addresses."""
    matches = [{"id": row.id, "name": row.name, "owner_id": row.owner_id,
                "matched_on": matched_on, "value": row.value}
               for matched_on, column, values in (("phone", Phone.e164, e164s),
                                                  ("email", Email.address, addresses))
               for row in _owners_of(session, column, values, customer_id)]
    return sorted(matches, key=lambda m: (m["id"], m["matched_on"], m["value"]))


def _refuse_duplicates(session: Session, e164s: list[str], addresses: list[str],
                       customer_id: int | None = None) -> None:
    # Advisory under concurrency: shared numbers are legitimate, so no unique
    # index backs this check, and two simultaneous creates can both pass it.
    matches = find_duplicates(session, e164s, addresses, customer_id)
    if matches:
        said = "; ".join(f"{m['matched_on']} {m['value']} belongs to customer {m['id']} "
                         f"({m['name']})" for m in matches[:3])
        more = f" and {len(matches) - 3} more" if len(matches) > 3 else ""
        raise DuplicateCustomer(f"already on file: {said}{more}", matches=matches)


def _conflict(customer_id: int, current: int | None, had: int) -> Conflict:
    return Conflict(f"customer {customer_id} was changed by someone else (version {current}, "
                    f"you had {had}); reload and retry", current_version=current)


def _check_version(customer: Customer, expected_version) -> None:
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise ValidationError.one("version", "the version you read (a whole number) is required")
    if customer.version != expected_version:
        raise _conflict(customer.id, customer.version, expected_version)


# -- writing ---------------------------------------------------------------------

def _replace(current: list, wanted: list[dict], key: str, model) -> list:
    """The new collection, keeping the rows whose key stays. Deleting and
    re-inserting one key in a flush would break the unique (customer, key)
    constraint, since the unit of work inserts before it deletes."""
    by_key = {getattr(row, key): row for row in current}
    rows = []
    for item in wanted:
        row = by_key.get(item[key]) or model()
        for name, value in item.items():
            setattr(row, name, value)
        rows.append(row)
    return rows


def _apply(customer: Customer, fields: dict) -> None:
    for name in SCALARS:
        if name in fields:
            setattr(customer, name, fields[name])
    if "phones" in fields:
        customer.phones = _replace(customer.phones, fields["phones"], "e164", Phone)
    if "emails" in fields:
        customer.emails = _replace(customer.emails, fields["emails"], "address", Email)
    if "tags" in fields:
        customer.tags = _replace(customer.tags, [{"tag": t} for t in fields["tags"]], "tag",
                                 CustomerTag)


def _committed_version(session: Session, customer_id: int) -> int | None:
    # The session's own transaction is dead after a failed flush: ask on a fresh one.
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.connect() as conn:
        return conn.scalar(select(Customer.version).where(Customer.id == customer_id))


def flush_customer(session: Session, customer_id: int, had_version: int) -> None:
    """Flush, turning a lost race on the version column into Conflict (or NotFound)."""
    try:
        session.flush()
    except StaleDataError:
        current = _committed_version(session, customer_id)
        if current is None:
            raise NotFound(f"no customer {customer_id}", customer_id=customer_id) from None
        raise _conflict(customer_id, current, had_version) from None


# -- the service -------------------------------------------------------------------

def create_customer(session: Session, data: dict, *, actor_id: int | None = None,
                    region: str = "US", allow_duplicate: bool = False) -> CreateResult:
    """A new customer. Same phone or e-mail on file: DuplicateCustomer naming who
    has it, unless ``allow_duplicate`` (a shared office number). Similar names never
    block; they come back in ``similar`` for the agent to look at."""
    fields = clean_customer(data, region=region)
    _check_references(session, fields)
    if not allow_duplicate:
        _refuse_duplicates(session, [p["e164"] for p in fields.get("phones", [])],
                           [e["address"] for e in fields.get("emails", [])])
    similar = find_similar(session, fields["name"])
    customer = Customer()
    _apply(customer, fields)
    session.add(customer)
    session.flush()
    audit.record(session, actor_id=actor_id, entity="customer", entity_id=customer.id,
                 action="create", changes=_audited(customer))
    session.flush()
    return CreateResult(customer, similar)


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id, options=CHILDREN)
    if customer is None:
        raise NotFound(f"no customer {customer_id}", customer_id=customer_id)
    return customer


def _load_fresh(session: Session, customer_id: int) -> Customer:
    # populate_existing: compare the version with the row as stored now, not
    # with a copy this session may have read earlier.
    customer = session.get(Customer, customer_id, options=CHILDREN, populate_existing=True)
    if customer is None:
        raise NotFound(f"no customer {customer_id}", customer_id=customer_id)
    return customer


def _new_contacts(customer: Customer, fields: dict) -> tuple[list[str], list[str]]:
    """Numbers and addresses the update adds; those the customer already has stay."""
    own_phones = {p.e164 for p in customer.phones}
    own_emails = {e.address for e in customer.emails}
    return ([p["e164"] for p in fields.get("phones", []) if p["e164"] not in own_phones],
            [e["address"] for e in fields.get("emails", []) if e["address"] not in own_emails])


def update_customer(session: Session, customer_id: int, changes: dict, *, expected_version: int,
                    actor_id: int | None = None, region: str = "US",
                    allow_duplicate: bool = False) -> Customer:
    """Change the fields given; phones, emails and tags given replace the current
    ones. ``expected_version`` is the version the editor read: Conflict if the row
    has moved on since."""
    fields = clean_customer(changes, partial=True, region=region)
    customer = _load_fresh(session, customer_id)
    _check_version(customer, expected_version)
    _check_references(session, fields, customer_id)
    _check_kind_change(session, customer, fields)
    if not allow_duplicate:
        _refuse_duplicates(session, *_new_contacts(customer, fields), customer_id=customer_id)
    before = _audited(customer)
    _apply(customer, fields)
    changed = audit.diff(before, _audited(customer))
    if not changed:
        return customer
    customer.updated_at = utcnow()  # always an UPDATE of the row, so the version moves
    audit.record(session, actor_id=actor_id, entity="customer", entity_id=customer_id,
                 action="update", changes=changed)
    flush_customer(session, customer_id, expected_version)
    return customer


def delete_customer(session: Session, customer_id: int, *, actor_id: int | None = None) -> None:
    """Delete with phones, e-mails, tags, tickets and callbacks (database cascades);
    interactions stay in the history with no customer; the audit keeps the data."""
    customer = get_customer(session, customer_id)
    audit.record(session, actor_id=actor_id, entity="customer", entity_id=customer_id,
                 action="delete", changes=_audited(customer))
    session.delete(customer)
    flush_customer(session, customer_id, customer.version)


# -- search -----------------------------------------------------------------------

def _casefold(value):
    return value.casefold() if isinstance(value, str) else value


def _sqlite_casefold(session: Session) -> None:
    # SQLite's lower() folds ASCII only; give each connection Python's casefold once.
    pooled = session.connection().connection
    if not pooled.info.get("crm_casefold"):
        pooled.driver_connection.create_function("crm_casefold", 1, _casefold, deterministic=True)
        pooled.info["crm_casefold"] = True


def _icontains(session: Session, column, text: str):
    """Case-insensitive "contains", wildcards in ``text`` taken literally."""
    if session.get_bind().dialect.name == "sqlite" and not text.isascii():
        _sqlite_casefold(session)
        return func.crm_casefold(column).contains(text.casefold(), autoescape=True)
    return column.icontains(text, autoescape=True)


def _matching(session: Session, text: str, region: str):
    e164 = try_normalize(text, region)
    if e164:
        # A numeric customer code may also look like a phone number. A union, not
        # OR: each half is one index lookup, where OR would scan every customer.
        return Customer.id.in_(union(select(Phone.customer_id).where(Phone.e164 == e164),
                                     select(Customer.id).where(Customer.code == text)))
    if "@" in text:
        return Customer.id.in_(select(Email.customer_id).where(
            Email.address.contains(text.lower(), autoescape=True)))
    return or_(_icontains(session, Customer.name, text),
               Customer.code.icontains(text, autoescape=True))


def search_customers(session: Session, query: str, *, limit: int = 20, offset: int = 0,
                     region: str = "US") -> list[Customer]:
    """By phone (any format that normalises), e-mail (contains, when '@' is in the
    query), otherwise name or code (case-insensitive contains). Ordered by name;
    an empty query lists everyone."""
    if not 1 <= limit <= SEARCH_LIMIT_MAX:
        raise ValidationError.one("limit", f"between 1 and {SEARCH_LIMIT_MAX}")
    if offset < 0:
        raise ValidationError.one("offset", "0 or more")
    text = (query or "").strip()
    stmt = (select(Customer).options(*CHILDREN).order_by(Customer.name, Customer.id)
            .limit(limit).offset(offset))
    if text:
        stmt = stmt.where(_matching(session, text, region))
    return list(session.scalars(stmt))


# -- similar names -------------------------------------------------------------------

def _wide(ch: str) -> bool:
    """Han, kana, hangul: scripts where one character is a whole syllable."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _ideographic(name: str) -> bool:
    letters = [ch for ch in name if not ch.isspace()]
    return sum(map(_wide, letters)) * 2 >= len(letters)


def _prefixes(name: str) -> set[str]:
    """Case variants of the start of each leading word: "Jo", "jo", "JO", "jO", "王"."""
    words = [w for w in re.findall(r"\w+", name) if len(w) > 1 or _wide(w)] or [name]
    heads = {w[:1] if _wide(w[0]) else w[:2] for w in words[:CANDIDATE_WORDS]}
    return {"".join(combo) for head in heads
            for combo in itertools.product(*({ch.lower(), ch.upper()} for ch in head))}


def _after(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix``."""
    point = min(ord(prefix[-1]) + 1, 0x10FFFF)
    if 0xD800 <= point <= 0xDFFF:  # surrogates cannot be sent to the database
        point = 0xE000
    return prefix[:-1] + chr(point)


def _candidates(session: Session, name: str, exclude_id: int | None):
    # Ranges, not LIKE: a range uses the index on customers.name on both databases.
    ranges = [and_(Customer.name >= p, Customer.name < _after(p)) for p in _prefixes(name)]
    stmt = (select(Customer.id, Customer.name, Customer.owner_id).where(or_(*ranges))
            .limit(CANDIDATE_LIMIT))
    if exclude_id is not None:
        stmt = stmt.where(Customer.id != exclude_id)
    return session.execute(stmt).all()


def find_similar(session: Session, name: str, *, limit: int = 5, threshold: float = 85.0,
                 exclude_id: int | None = None) -> list[SimilarCustomer]:
    """Customers whose name is close to ``name`` (score 0-100), best first.
    Candidates share the first two letters (one ideograph) of a word of ``name``."""
    name = (name or "").strip()
    if not name:
        return []
    rows = {row.id: row for row in _candidates(session, name, exclude_id)}
    weight = IDEOGRAPH_WEIGHT if _ideographic(name) else 1.0
    scorer = fuzz.ratio if weight > 1 else fuzz.WRatio
    found = process.extract(name, {key: row.name for key, row in rows.items()}, scorer=scorer,
                            processor=utils.default_process, limit=None,
                            score_cutoff=max(0.0, 100 - (100 - threshold) * weight))
    similar = [SimilarCustomer(id=key, name=choice, score=round(100 - (100 - score) / weight, 1),
                               owner_id=rows[key].owner_id) for choice, score, key in found]
    return sorted(similar, key=lambda s: (-s.score, s.id))[:limit]
