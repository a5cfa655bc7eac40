"""Customer CSV import and export.

The import is one transaction for the whole file: either every good row is
written (all of them, or with ``skip_bad`` the good ones while the bad ones are
reported), or nothing is. Each row is checked with the shared
``validation.clean_customer`` so a CSV row is refused with the same words as a
form. Phones and e-mails are then checked against the database and earlier
rows, one query per chunk of rows. After that the rows are written with bulk
Core inserts (customers, then their phones, e-mails and tags).
The import adds one audit entry, not one per row.

File format: a header row (names case-insensitive, any order), UTF-8 with or
without BOM unless told otherwise. ``phones``, ``emails`` and ``tags`` hold
several values separated by ``;``. A phone or e-mail can carry a label, as in
``work:+44 20 7946 0958``. A ``cf_<name>`` column is a custom field. Rows are
numbered the way a spreadsheet numbers them: the header is row 1.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from sqlalchemy import any_, bindparam, case, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import audit, phones as phone_numbers
from .errors import ValidationError
from .models import Customer, CustomerTag, Email, Phone, utcnow
from .validation import CODE, clean_customer

COLUMNS = ("code", "name", "kind", "company_code", "level", "segment", "language", "timezone",
           "address", "postcode", "city", "country", "phones", "emails", "tags")
CUSTOM_PREFIX = "cf_"
SEPARATOR = ";"
CHUNK = 1000  # rows validated, looked up and inserted together
LOOKUP_CHUNK = 1000  # values in one IN (...)
# What a customer gets for an empty cell, as the ORM model would give it.
DEFAULTS = {"kind": "person", "code": None, "level": "standard", "segment": "", "language": "en",
            "timezone": "UTC", "address": "", "postcode": "", "city": "", "country": "",
            "custom_fields": {}}
_TEXT_COLUMNS = ("code", "name", "kind", "level", "segment", "language", "timezone", "address",
                 "postcode", "city", "country")

Progress = Callable[[int, int], None]


@dataclass
class RowError:
    row: int  # the header is row 1
    column: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0  # data rows read (blank lines not counted)
    imported: int = 0  # rows written; in a dry run, rows that would be written
    skipped: int = 0  # rows refused
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False  # the transaction was committed


class FileProblem(Exception):
    """The file as a whole cannot be imported; nothing is written."""


# -- reading the file ------------------------------------------------------

def read_text(path: Path, encoding: str) -> str:
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # a BOM is not part of the first column's name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode(encoding)
    except LookupError:
        raise FileProblem(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        bad = exc.object[exc.start:exc.end].hex(" ")
        raise FileProblem(
            f"line {line}: bytes ({bad}) that are not valid {encoding}; if the file was saved "
            f"in another encoding, name it with --encoding (e.g. gb18030, cp1252, latin-1)"
        ) from None


def count_records(text: str) -> int:
    """Data rows in the file (checks the CSV syntax before anything is written)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return max(sum(1 for cells in reader if any(c.strip() for c in cells)) - 1, 0)
    except csv.Error as exc:
        raise FileProblem(f"line {reader.line_num}: not valid CSV ({exc})") from None


def parse_header(cells: list[str] | None) -> list[str | None]:
    """The column key for each position: a name from COLUMNS, ``cf_<name>`` or None (blank)."""
    if not cells or not any(c.strip() for c in cells):
        raise FileProblem("the file is empty; the first row must name the columns")
    keys: list[str | None] = []
    unknown, seen = [], set()
    for i, cell in enumerate(cells):
        name = cell.strip().lstrip("\ufeff") if i == 0 else cell.strip()
        key = name.lower()
        if not name:
            keys.append(None)
            continue
        if key.startswith(CUSTOM_PREFIX):
            custom = name[len(CUSTOM_PREFIX):].strip()
            if not 0 < len(custom) <= 40:
                raise FileProblem(f"column {name!r}: a custom field name is 1-40 characters")
            key = CUSTOM_PREFIX + custom
        elif key not in COLUMNS:
            unknown.append(name)
        if key.lower() in seen:
            raise FileProblem(f"column {name!r} appears twice")
        seen.add(key.lower())
        keys.append(key)
    if unknown:
        raise FileProblem(f"unknown column(s): {', '.join(unknown)} (known: {', '.join(COLUMNS)}, "
                          f"and {CUSTOM_PREFIX}<name> for custom fields)")
    if "name" not in keys:
        raise FileProblem("the required column 'name' is missing")
    return keys


# -- one row -------------------------------------------------------------------

@dataclass(slots=True)
class CsvRow:
    """One data row on its way in: cleaned values, or the reasons it is refused."""
    row: int
    code: str | None  # the row's own code and its company's, when well-formed
    company_code: str | None
    errors: list[RowError]
    customer: dict | None = None  # the customers columns; None when validation refused it
    phones: list[dict] = field(default_factory=list)
    emails: list[dict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _split(cell: str) -> list[str]:
    return [item.strip() for item in cell.split(SEPARATOR) if item.strip()]


def _labelled(item: str, key: str) -> dict:
    """``label:value`` or just ``value``."""
    label, sep, value = item.partition(":")
    if sep and "@" not in label:
        return {key: value.strip(), "label": label.strip()}
    return {key: item, "label": ""}


def row_data(row: int, keys: list[str | None],
             cells: list[str]) -> tuple[dict, str | None, list[RowError]]:
    """The row as clean_customer input, its company code, and errors found on the way."""
    data: dict = {}
    custom: dict = {}
    company_code = None
    errors = []
    for i, cell in enumerate(cells):
        key = keys[i] if i < len(keys) else None
        value = cell.strip()
        if key is None:
            if value:
                errors.append(RowError(row, "", f"a value ({value[:40]!r}) in a column "
                                                f"without a name"))
        elif not value:
            continue
        elif key in _TEXT_COLUMNS:
            data[key] = value
        elif key == "phones":
            data["phones"] = [_labelled(item, "number") for item in _split(value)]
        elif key == "emails":
            data["emails"] = [_labelled(item, "address") for item in _split(value)]
        elif key == "tags":
            data["tags"] = _split(value)
        elif key == "company_code":
            company_code = value
        else:
            custom[key[len(CUSTOM_PREFIX):]] = value
    data.setdefault("name", "")
    if custom:
        data["custom_fields"] = custom
    return data, company_code, errors


def _row_error(row: int, key: str, reason: str, data: dict) -> RowError:
    """A clean_customer error under its CSV column (``phones[2].label`` -> phones), saying
    which value is meant where the reason does not."""
    column, _, index = key.partition("[")
    if column == "custom_fields":
        return RowError(row, "cf_*", reason)
    if index.endswith("].label"):
        reason = f"label {data[column][int(index[:-7])]['label'][:40]!r}: {reason}"
    elif column == "tags":
        reason = f"{data['tags'][int(index[:-1])][:50]!r}: {reason}"
    return RowError(row, column, reason)


def _extra_checks(row: int, data: dict, company_code: str | None) -> list[RowError]:
    """What the CSV needs beyond clean_customer (its company_code column)."""
    errors = []
    if company_code is not None and not CODE.match(company_code):
        errors.append(RowError(row, "company_code", "1-32 letters, digits, '.', '_' or '-'"))
    return errors


def _well_formed(code: str | None) -> str | None:
    return code if code and CODE.match(code) else None


def clean_row(row: int, keys: list[str | None], cells: list[str], region: str) -> CsvRow:
    data, company_code, errors = row_data(row, keys, cells)
    errors += _extra_checks(row, data, company_code)
    clean = None
    try:
        clean = clean_customer(data, region=region)
    except ValidationError as exc:
        errors += [_row_error(row, key, reason, data) for key, reason in exc.errors.items()]
    result = CsvRow(row, _well_formed(data.get("code")), _well_formed(company_code), errors)
    if not errors:
        result.phones = clean.pop("phones", [])
        result.emails = clean.pop("emails", [])
        result.tags = clean.pop("tags", [])
        result.customer = {**DEFAULTS, "company_id": None, "version": 1, **clean}
    return result


# -- checks against the database and earlier rows --------------------------

def _chunks(values: Iterable, size: int) -> Iterator[list]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _lookup(session: Session, key, *columns, values: set) -> dict:
    """{value: [column values...]} for the values of ``key`` already in the database."""
    found: dict = {}
    postgres = session.get_bind().dialect.name == "postgresql"
    # PostgreSQL takes the values as one array parameter, many times faster to
    # send and plan than an IN list with a parameter for each.
    for part in _chunks(values, 10 * LOOKUP_CHUNK if postgres else LOOKUP_CHUNK):
        where = key == any_(bindparam("values", part, type_=ARRAY(key.type))) if postgres \
            else key.in_(part)
        for value, *rest in session.execute(select(key, *columns).where(where)):
            found.setdefault(value, rest)
    return found


class RowChecker:
    """Refuses rows that clash with the database or an earlier row of the file:
    a used code, a phone or e-mail someone already has (unless duplicates are
    allowed), a company that does not exist (yet).

    Only rows that pass claim their code, phones and e-mails, so a refused row
    never causes a second error further down."""

    def __init__(self, session: Session, allow_duplicates: bool):
        self.session = session
        self.allow_duplicates = allow_duplicates
        self.codes: dict[str, int] = {}  # code -> row that has it
        self.companies: set[str] = set()  # codes of company rows in the file
        self.refused: dict[str, int] = {}  # code -> refused row
        self.phones: dict[str, int] = {}  # e164 -> row
        self.emails: dict[str, int] = {}  # address -> row

    def check(self, rows: list[CsvRow]) -> None:
        """Adds to each row's errors; rows still without errors may be written."""
        valid = [r for r in rows if r.customer is not None]
        codes = {r.code for r in rows if r.code} | {r.company_code for r in rows if r.company_code}
        db_codes = _lookup(self.session, Customer.code, Customer.id, Customer.kind, values=codes)
        db_phones = db_emails = {}
        if not self.allow_duplicates:
            db_phones = _lookup(self.session, Phone.e164, Phone.customer_id,
                                values={p["e164"] for r in valid for p in r.phones})
            db_emails = _lookup(self.session, Email.address, Email.customer_id,
                                values={e["address"] for r in valid for e in r.emails})
        for r in rows:
            self._check_one(r, db_codes, db_phones, db_emails)

    def _check_one(self, r: CsvRow, db_codes, db_phones, db_emails) -> None:
        code, errors = r.code, r.errors
        if code in self.codes:
            errors.append(RowError(r.row, "code", f"{code!r} already used on row {self.codes[code]}"))
        elif code in db_codes:
            errors.append(RowError(r.row, "code",
                                   f"{code!r} already used by customer {db_codes[code][0]}"))
        if r.company_code:
            reason = self._company_problem(r.company_code, db_codes)
            if reason:
                errors.append(RowError(r.row, "company_code", reason))
            elif r.company_code in db_codes and r.customer is not None:
                r.customer["company_id"] = db_codes[r.company_code][0]
        if not self.allow_duplicates:
            errors += self._duplicates(r.row, "phones", [p["e164"] for p in r.phones], self.phones,
                                       db_phones)
            errors += self._duplicates(r.row, "emails", [e["address"] for e in r.emails],
                                       self.emails, db_emails)
        if not errors:
            self._claim(r)
        elif code:
            self.refused.setdefault(code, r.row)

    def _company_problem(self, company: str, db_codes: dict) -> str | None:
        if company in self.companies:
            return None
        if company in db_codes:
            return None if db_codes[company][1] == "company" else \
                f"{company!r} is customer {db_codes[company][0]}, a person, not a company"
        if company in self.codes:
            return f"{company!r} (row {self.codes[company]}) is a person, not a company"
        if company in self.refused:
            return f"company {company!r} (row {self.refused[company]}) was refused"
        return f"no company with code {company!r} in the database or on an earlier row"

    @staticmethod
    def _duplicates(row: int, column: str, values: list[str], in_file: dict,
                    in_db: dict) -> list[RowError]:
        errors = []
        for value in values:
            if value in in_file:
                errors.append(RowError(row, column, f"{value} is also on row {in_file[value]}"))
            elif value in in_db:
                errors.append(RowError(row, column, f"{value} belongs to customer {in_db[value][0]}"))
        return errors

    def _claim(self, r: CsvRow) -> None:
        code = r.code
        if code:
            self.codes[code] = r.row
            if r.customer["kind"] == "company":
                self.companies.add(code)
        for p in r.phones:
            self.phones[p["e164"]] = r.row
        for e in r.emails:
            self.emails[e["address"]] = r.row


# -- writing -------------------------------------------------------------------

def insert_customers(session: Session, rows: list[dict]) -> list[int]:
    """Insert customers in bulk; their new ids, in the order of ``rows``.

    Not ``insert().returning(sort_by_parameter_order=True)``: SQLite cannot
    sort RETURNING rows back (SQLAlchemy would send one INSERT per row), and on
    PostgreSQL the INSERT ... SELECT it builds costs five times a plain
    executemany with the ids already known.
    """
    table = Customer.__table__
    if session.get_bind().dialect.name == "postgresql":
        # The sequence hands out ids no other transaction will get.
        sequence = func.pg_get_serial_sequence(table.name, table.c.id.name)
        ids = list(session.scalars(select(func.nextval(sequence))
                                   .select_from(func.generate_series(1, len(rows)))))
        for row, cid in zip(rows, ids):
            row["id"] = cid
        session.execute(insert(table), rows)
        return ids
    # SQLite gives each new row max(rowid) + 1, and this transaction holds the
    # database's write lock from its first insert on: the rows just inserted
    # have the consecutive ids that end at last_insert_rowid().
    session.execute(insert(table), rows)
    last = session.execute(select(func.last_insert_rowid())).scalar_one()
    first = last - len(rows) + 1
    taken = session.execute(select(func.count(), func.max(table.c.id))
                            .where(table.c.id >= first)).one()
    if tuple(taken) != (len(rows), last):
        raise RuntimeError(f"customer ids {first}..{last} are not all this import's rows")
    return list(range(first, last + 1))


class BulkWriter:
    """Buffers good rows and inserts them in bulk: customers, then their phones,
    e-mails and tags with the customers' new ids."""

    def __init__(self, session: Session):
        self.session = session
        self.now = utcnow()  # one creation time for the whole import
        self.pending: list[CsvRow] = []
        self.pending_companies: set[str] = set()
        self.company_ids: dict[str, int] = {}  # code -> id of companies written from the file
        self.counts = {"customers": 0, "phones": 0, "emails": 0, "tags": 0}

    def add(self, r: CsvRow) -> None:
        if r.company_code in self.pending_companies:
            self.flush()  # the company must have its id before its people are inserted
        self.pending.append(r)
        if r.customer["kind"] == "company" and r.customer["code"]:
            self.pending_companies.add(r.customer["code"])
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        rows, self.pending, self.pending_companies = self.pending, [], set()
        for r in rows:
            r.customer["created_at"] = r.customer["updated_at"] = self.now
            if r.company_code and r.customer["company_id"] is None:
                r.customer["company_id"] = self.company_ids[r.company_code]
        ids = insert_customers(self.session, [r.customer for r in rows])
        phones, emails, tags = [], [], []
        for r, cid in zip(rows, ids, strict=True):
            if r.customer["kind"] == "company" and r.customer["code"]:
                self.company_ids[r.customer["code"]] = cid
            phones += [{"customer_id": cid, **p} for p in r.phones]
            emails += [{"customer_id": cid, **e} for e in r.emails]
            tags += [{"customer_id": cid, "tag": t} for t in r.tags]
        for model, params, name in ((Phone, phones, "phones"), (Email, emails, "emails"),
                                    (CustomerTag, tags, "tags")):
            if params:
                self.session.execute(insert(model.__table__), params)
            self.counts[name] += len(params)
        self.counts["customers"] += len(rows)


# -- the import ------------------------------------------------------------------

def _progress_callback(progress) -> Progress:
    if progress is None:
        return lambda done, total: None
    if hasattr(progress, "update"):  # a tqdm bar
        def tick(done: int, total: int) -> None:
            progress.total = total
            progress.update(done - progress.n)
        return tick
    return progress


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for each non-blank data row; the header is row 1."""
    reader = csv.reader(io.StringIO(text, newline=""))
    for number, cells in enumerate(reader, start=1):
        if any(c.strip() for c in cells):
            yield number, cells


def _rows_in_chunks(records: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _validate_and_write(session: Session, text: str, keys, report: ImportReport, *, region: str,
                        write: bool, stop_writing_on_error: bool, allow_duplicates: bool,
                        tick: Progress, total: int) -> BulkWriter:
    checker, writer = RowChecker(session, allow_duplicates), BulkWriter(session)
    records = _records(text)
    next(records, None)  # the header
    for chunk in _rows_in_chunks(records, CHUNK):
        rows = [clean_row(number, keys, cells, region) for number, cells in chunk]
        checker.check(rows)
        for r in rows:
            if r.errors:
                report.skipped += 1
                report.errors += r.errors
                write = write and not stop_writing_on_error
            else:
                report.imported += 1
                if write:
                    writer.add(r)
        report.rows += len(rows)
        tick(report.rows, total)
    if write:
        writer.flush()
    return writer


def import_customers(sessions: sessionmaker, path, *, encoding: str = "utf-8-sig",
                     region: str = "US", dry_run: bool = False, skip_bad: bool = False,
                     allow_duplicates: bool = False, actor_id: int | None = None,
                     progress=None) -> ImportReport:
    """Import customers from a CSV file; see the module docstring for the format.

    Without ``skip_bad`` a single bad row means nothing is written; with it the
    good rows are written and the bad ones reported. ``dry_run`` checks
    everything and writes nothing. ``progress`` is a tqdm bar or a callable
    ``(rows_done, total)``.
    """
    path = Path(path)
    report = ImportReport(dry_run=dry_run)
    try:
        phone_numbers.check_region(region)
        text = read_text(path, encoding)
        total = count_records(text)
        keys = parse_header(next(_records(text), (1, None))[1])
    except (FileProblem, ValidationError) as exc:
        report.file_errors.append(exc.message if isinstance(exc, ValidationError) else str(exc))
        return report
    tick = _progress_callback(progress)
    tick(0, total)
    with sessions() as session:
        try:
            writer = _validate_and_write(
                session, text, keys, report, region=region, write=not dry_run,
                stop_writing_on_error=not skip_bad, allow_duplicates=allow_duplicates,
                tick=tick, total=total)
            refused = bool(report.errors) and not skip_bad
            if refused:
                report.imported = 0
            if dry_run or refused or not report.imported:
                session.rollback()
                return report
            audit.record(session, actor_id=actor_id, entity="customer",
                         entity_id=f"import:{path.name}"[:64], action="create",
                         changes={"file": path.name, "rows": report.rows,
                                  "refused": report.skipped, **writer.counts})
            session.commit()
            report.written = True
        except (IntegrityError, DataError) as exc:
            session.rollback()
            report.imported, report.written = 0, False
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            report.file_errors.append(f"the database refused the rows ({reason}); "
                                      f"nothing was written")
    return report


# -- export ---------------------------------------------------------------------

def _export_order():
    # Companies before the people who point at them, so the file imports again.
    return (case((Customer.kind == "company", 0), else_=1),
            case((Customer.company_id.is_(None), 0), else_=1), Customer.id)


def _by_customer(session: Session, stmt) -> dict[int, list]:
    out: dict[int, list] = {}
    for cid, *rest in session.execute(stmt):
        out.setdefault(cid, []).append(rest)
    return out


def _labelled_cell(items: list) -> str:
    return SEPARATOR.join(f"{label}:{value}" if label else value for value, label in items)


def _export_rows(session: Session, ids: list[int], custom_names: list[str]) -> Iterator[list[str]]:
    c = Customer
    customers = session.execute(select(
        c.id, c.code, c.name, c.kind, c.company_id, c.level, c.segment, c.language, c.timezone,
        c.address, c.postcode, c.city, c.country, c.custom_fields).where(c.id.in_(ids))).all()
    company_ids = {row.company_id for row in customers if row.company_id}
    company_codes = {cid: code for cid, code in
                     session.execute(select(c.id, c.code).where(c.id.in_(company_ids)))}
    phones = _by_customer(session, select(Phone.customer_id, Phone.e164, Phone.label)
                          .where(Phone.customer_id.in_(ids)).order_by(Phone.id))
    emails = _by_customer(session, select(Email.customer_id, Email.address, Email.label)
                          .where(Email.customer_id.in_(ids)).order_by(Email.id))
    tags = _by_customer(session, select(CustomerTag.customer_id, CustomerTag.tag)
                        .where(CustomerTag.customer_id.in_(ids)).order_by(CustomerTag.tag))
    by_id = {row.id: row for row in customers}
    for cid in ids:
        r = by_id[cid]
        custom = r.custom_fields or {}
        yield [r.code or "", r.name, r.kind, company_codes.get(r.company_id) or "", r.level,
               r.segment, r.language, r.timezone, r.address, r.postcode, r.city, r.country,
               _labelled_cell(phones.get(cid, [])), _labelled_cell(emails.get(cid, [])),
               SEPARATOR.join(t for (t,) in tags.get(cid, []))] + \
            ["" if custom.get(name) is None else str(custom[name]) for name in custom_names]


def export_customers(session: Session, out_path_or_file, *, encoding: str = "utf-8") -> int:
    """Write every customer to CSV in the import's columns; the number written.

    Phones are written in E.164, so the file imports the same whatever the
    default region. Custom field values come back as text. Companies come first
    so that the file imports again; a link to a company without a code is lost.
    ``encoding`` applies when a path is given.
    """
    custom_names = sorted({name for (fields,) in session.execute(select(Customer.custom_fields))
                           for name in (fields or {})})
    ids = list(session.scalars(select(Customer.id).order_by(*_export_order())))
    if hasattr(out_path_or_file, "write"):
        return _write_csv(session, out_path_or_file, ids, custom_names)
    with open(out_path_or_file, "w", encoding=encoding, newline="") as out:
        return _write_csv(session, out, ids, custom_names)


def _write_csv(session: Session, out, ids: list[int], custom_names: list[str]) -> int:
    writer = csv.writer(out)
    writer.writerow(list(COLUMNS) + [CUSTOM_PREFIX + name for name in custom_names])
    for part in _chunks(ids, CHUNK):
        writer.writerows(_export_rows(session, part, custom_names))
    return len(ids)
