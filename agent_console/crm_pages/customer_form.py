"""The new-customer form: what the agent typed, turned into the service's fields,
and the service's complaints turned back into the form's field names.

The form keeps every value as typed (text), so a refused form comes back
exactly as it was sent, with each field's error next to it. The service
(crm_core.validation) decides what is valid; this module only checks the
form's own shape: whole numbers, list lengths, the custom fields' lines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

TEXT_FIELDS = ("kind", "name", "code", "level", "segment", "language", "timezone", "address",
               "postcode", "city", "country")
ID_FIELDS = ("company_id", "owner_id")
ROWS_MAX = 10  # phones or e-mails on one new customer
ROWS_SHOWN = 3  # empty rows offered on a fresh form
TYPED_MAX = 4096  # characters kept of any one typed value
TAG_SPLIT = re.compile(r"[,;，；、]")  # Chinese input methods type full-width commas
LIST_ERROR = re.compile(r"^(phones|emails)\[(\d+)\](\.label)?$")
ROW_FIELDS = {"phones": "phone", "emails": "email"}
ROW_ERROR = re.compile(r"^(phone|email)(_label)?-\d+$")
# Fields whose errors the page shows next to them.
PLACED = frozenset((*TEXT_FIELDS, *ID_FIELDS, "tags", "custom_fields", "linkedid", "confirmed",
                    "phone", "email", "phones", "emails"))


@dataclass
class CustomerForm:
    values: dict[str, str] = field(default_factory=dict)
    phones: list[tuple[str, str]] = field(default_factory=list)  # (number, label) rows
    emails: list[tuple[str, str]] = field(default_factory=list)  # (address, label) rows
    errors: dict[str, str] = field(default_factory=dict)
    # Which form row each entry of the service's phones / emails list came from.
    rows_of: dict[str, list[int]] = field(default_factory=dict)

    def padded(self, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The typed rows and empty ones to type into, at least ROWS_SHOWN and one spare."""
        spare = max(ROWS_SHOWN - len(rows), 1 if len(rows) < ROWS_MAX else 0)
        return rows + [("", "")] * spare

    def service_errors(self, errors: dict[str, str]) -> None:
        """The service's field names ("phones[1]", "tags[0]") as the form's fields."""
        for key, reason in errors.items():
            # The form's own finding on a field (control characters) comes first.
            self.errors.setdefault(self._form_field(key), reason)

    def unplaced_errors(self) -> list[tuple[str, str]]:
        """Errors with no field of their own on the form, shown at its foot."""
        return [(key, reason) for key, reason in self.errors.items()
                if key not in PLACED and not ROW_ERROR.match(key)]

    def _form_field(self, key: str) -> str:
        found = LIST_ERROR.match(key)
        if found:
            kind, index, label = found.groups()
            rows = self.rows_of.get(kind, [])
            row = rows[int(index)] if int(index) < len(rows) else 0
            return f"{ROW_FIELDS[kind]}{'_label' if label else ''}-{row}"
        if key.startswith("tags["):
            return "tags"
        return key


def blank(phone: str = "") -> CustomerForm:
    """A fresh form; ``phone`` (a caller's number from a screen pop) in the first row."""
    return CustomerForm(values={"kind": "person"}, phones=[(phone[:64], "")] if phone else [])


def _typed(form: MultiDict, name: str) -> str:
    return form.get(name, "")[:TYPED_MAX]


def _rows(form: MultiDict, name: str, out: CustomerForm) -> list[tuple[str, str]]:
    values = form.getlist(name)
    labels = form.getlist(f"{name}_label")
    if len(values) > ROWS_MAX:
        out.errors[name] = f"at most {ROWS_MAX} on a new customer; add more on the card later"
    return [(v[:TYPED_MAX], (labels[i] if i < len(labels) else "")[:TYPED_MAX])
            for i, v in enumerate(values[:ROWS_MAX])]


def _controlled(text: str, multiline: bool = False) -> bool:
    return not all(ch.isprintable() or (multiline and ch in "\r\n\t") for ch in text)


def _refuse_control_characters(out: CustomerForm) -> None:
    """Control characters are refused at the edge, whatever the field: PostgreSQL
    cannot store or even compare NUL, and no name or address holds a bell."""
    fields = [(name, value, name == "custom_fields") for name, value in out.values.items()]
    for kind, rows in (("phone", out.phones), ("email", out.emails)):
        for i, (value, label) in enumerate(rows):
            fields += [(f"{kind}-{i}", value, False), (f"{kind}_label-{i}", label, False)]
    for name, value, multiline in fields:
        if _controlled(value, multiline):
            out.errors[name] = "contains control characters"


def _entries(rows: list[tuple[str, str]], key: str) -> tuple[list[dict], list[int]]:
    """The filled-in rows as the service wants them, and the row each came from."""
    filled = [(i, value.strip(), label.strip()) for i, (value, label) in enumerate(rows)
              if value.strip()]
    return [{key: value, "label": label} for _, value, label in filled], [i for i, *_ in filled]


def _record_id(text: str, name: str, out: CustomerForm) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        out.errors[name] = "a record number (digits only)"
        return None
    return int(text)


def _custom_fields(text: str, out: CustomerForm) -> dict[str, str]:
    fields = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            out.errors["custom_fields"] = f"line {number}: write one 'name = value' per line"
            return {}
        fields[name.strip()] = value.strip()
    return fields


def read(form: MultiDict) -> tuple[dict, CustomerForm]:
    """The service's data for ``create_customer`` and the form as typed. Errors of
    the form's own shape are in the CustomerForm; the data is then not to be used."""
    out = CustomerForm(values={name: _typed(form, name) for name in
                               (*TEXT_FIELDS, *ID_FIELDS, "tags", "custom_fields")})
    out.phones, out.emails = _rows(form, "phone", out), _rows(form, "email", out)
    _refuse_control_characters(out)
    # Empty optional fields are left out, so the customer gets the usual default
    # (level standard, language en, time zone UTC) rather than a refused "".
    data = {name: out.values[name].strip() for name in TEXT_FIELDS
            if out.values[name].strip() or name == "name"}
    for name in ID_FIELDS:
        value = _record_id(out.values[name], name, out)
        if value is not None:
            data[name] = value
    data["tags"] = [t.strip() for t in TAG_SPLIT.split(out.values["tags"]) if t.strip()]
    data["custom_fields"] = _custom_fields(out.values["custom_fields"], out)
    data["phones"], out.rows_of["phones"] = _entries(out.phones, "number")
    data["emails"], out.rows_of["emails"] = _entries(out.emails, "address")
    return data, out
