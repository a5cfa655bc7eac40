"""The ticket forms (open one on a card, edit one on its page): the typed values
kept for re-rendering, and the service's fields with the form's own shape
checked (the assignee and the version are whole numbers)."""
from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

NEW_FIELDS = ("subject", "description", "priority", "category", "assignee_id")
EDIT_FIELDS = (*NEW_FIELDS, "status")
TYPED_MAX = 25_000  # a little over the longest description the service takes


@dataclass
class TicketForm:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def blank(**values: str) -> TicketForm:
    return TicketForm(values={"priority": "normal", **values})


def of_ticket(ticket) -> TicketForm:
    """The edit form filled in with the ticket as stored."""
    values = {name: getattr(ticket, name) or "" for name in EDIT_FIELDS if name != "assignee_id"}
    values["assignee_id"] = str(ticket.assignee_id or "")
    values["version"] = str(ticket.version)
    return TicketForm(values=values)


def _assignee(text: str, out: TicketForm) -> int | None:
    text = text.strip()
    if not text:
        return None  # nobody: the ticket waits in the shared list
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        out.errors["assignee_id"] = "pick someone from the list"
        return None
    return int(text)


def read(form: MultiDict, names: tuple[str, ...]) -> tuple[dict, TicketForm]:
    """The service's fields named ``names`` and the form as typed."""
    out = TicketForm(values={name: form.get(name, "")[:TYPED_MAX] for name in (*names, "version")})
    data: dict = {name: out.values[name] for name in names if name != "assignee_id"}
    if "assignee_id" in names:
        data["assignee_id"] = _assignee(out.values["assignee_id"], out)
    return data, out


def version(out: TicketForm) -> int | None:
    """The version the agent read, from the form's hidden field."""
    text = out.values.get("version", "").strip()
    if text.isascii() and text.isdigit() and 0 < len(text) <= 9 and int(text) >= 1:
        return int(text)
    out.errors["version"] = "the page is missing the ticket's version; reload it"
    return None
