"""Dispositions: the catalogue of call outcomes, and applying one at wrap-up.

A code is a stable key that reports and interactions point at, so it never
changes; retire a disposition by making it inactive instead.
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, dnc
from .errors import Conflict, NotFound, ValidationError
from .models import Disposition, Interaction
from .phones import try_normalize
from .validation import clean_long_text, clean_text

CODE = re.compile(r"^[a-z0-9_]{1,32}$")
FLAGS = ("contact_made", "sale", "callback", "do_not_call", "final", "active")
NOTES_MAX = 20_000


def _default(code: str, label: str, *flags: str) -> dict:
    return {"code": code, "label": label, **{flag: flag in flags for flag in FLAGS[:-1]}}


DEFAULTS: list[dict] = [
    _default("resolved", "Resolved", "contact_made", "final"),
    _default("sale", "Sale", "contact_made", "sale", "final"),
    _default("callback_requested", "Callback requested", "contact_made", "callback"),
    _default("not_interested", "Not interested", "contact_made", "final"),
    _default("do_not_call", "Do not call", "contact_made", "do_not_call", "final"),
    _default("no_answer", "No answer", "callback"),
    _default("busy", "Busy", "callback"),
    _default("wrong_number", "Wrong number", "final"),
    _default("voicemail_left", "Voicemail left", "callback"),
]


def _snapshot(d: Disposition) -> dict:
    return {"label": d.label, **{flag: getattr(d, flag) for flag in FLAGS}}


def _check_flags(flags: dict, errors: dict) -> None:
    for name, value in flags.items():
        if name not in FLAGS:
            errors[name] = "unknown flag"
        elif not isinstance(value, bool):
            errors[name] = "must be true or false"


def seed_defaults(session: Session) -> int:
    """Add the default dispositions that are missing; edited ones are left alone."""
    have = set(session.scalars(select(Disposition.code)))
    missing = [d for d in DEFAULTS if d["code"] not in have]
    for data in missing:
        create_disposition(session, data["code"], data["label"],
                           **{k: v for k, v in data.items() if k in FLAGS})
    return len(missing)


def list_dispositions(session: Session, *, active_only: bool = True) -> list[Disposition]:
    query = select(Disposition).order_by(Disposition.code)
    if active_only:
        query = query.where(Disposition.active.is_(True))
    return list(session.scalars(query))


def get_disposition(session: Session, code: str) -> Disposition:
    found = session.get(Disposition, code) if isinstance(code, str) else None
    if found is None:
        raise NotFound(f"no disposition {code!r}", code=code)
    return found


def create_disposition(session: Session, code: str, label: str, *,
                       actor_id: int | None = None, **flags) -> Disposition:
    errors: dict[str, str] = {}
    if not isinstance(code, str) or not CODE.match(code):
        errors["code"] = "1-32 lower-case letters, digits or '_'"
    clean_label = clean_text(label, "label", 80, errors, required=True)
    _check_flags(flags, errors)
    if errors:
        raise ValidationError(errors)
    if session.get(Disposition, code) is not None:
        raise Conflict(f"disposition {code!r} exists", field="code")
    disposition = Disposition(code=code, label=clean_label,
                              **{flag: flags.get(flag, flag == "active") for flag in FLAGS})
    session.add(disposition)
    session.flush()
    audit.record(session, actor_id=actor_id, entity="disposition", entity_id=code,
                 action="create", changes=audit.diff({}, _snapshot(disposition)))
    return disposition


def update_disposition(session: Session, code: str, changes: dict, *,
                       actor_id: int | None = None) -> Disposition:
    """Change the label, flags or active; the code is immutable."""
    if not isinstance(changes, dict):
        raise ValidationError.one("changes", "must be an object")
    disposition = get_disposition(session, code)
    errors: dict[str, str] = {}
    if "code" in changes:
        errors["code"] = "cannot be changed; make this one inactive and create another"
    flags = {k: v for k, v in changes.items() if k not in ("code", "label")}
    _check_flags(flags, errors)
    label = clean_text(changes["label"], "label", 80, errors, required=True) \
        if "label" in changes else disposition.label
    if errors:
        raise ValidationError(errors)
    before = _snapshot(disposition)
    disposition.label = label
    for name, value in flags.items():
        setattr(disposition, name, value)
    changed = audit.diff(before, _snapshot(disposition))
    if changed:
        audit.record(session, actor_id=actor_id, entity="disposition", entity_id=code,
                     action="update", changes=changed)
    return disposition


def _clean_notes(value) -> str:
    errors: dict[str, str] = {}
    notes = clean_long_text(value, "notes", NOTES_MAX, errors)
    if errors:
        raise ValidationError(errors)
    return notes


def _customer_number(interaction: Interaction) -> str:
    # The customer's side of the call: on an outbound call the caller number is
    # our own line, and blocking it would be wrong.
    if interaction.direction == "outbound":
        return interaction.dialled_number
    return interaction.caller_number


def _block_number(session: Session, interaction: Interaction, actor_id, region: str) -> dict:
    """Put the customer's number on the DNC list; what happened, for the audit entry."""
    raw = _customer_number(interaction)
    e164 = try_normalize(raw, region)
    if e164 is None:
        return {"dnc": f"not added: {raw!r} is not a phone number"}
    dnc.add(session, e164, reason=f"disposition on interaction {interaction.id}",
            actor_id=actor_id)
    return {"dnc": e164}


def apply_disposition(session: Session, interaction_id: int, code: str, *,
                      actor_id: int | None = None, notes: str | None = None,
                      region: str = "US") -> Interaction:
    interaction = session.get(Interaction, interaction_id)
    if interaction is None:
        raise NotFound(f"no interaction {interaction_id}", interaction_id=interaction_id)
    disposition = session.get(Disposition, code) if isinstance(code, str) else None
    if disposition is None or not disposition.active:
        raise ValidationError.one("disposition", f"{code!r} is not an active disposition")
    clean_notes = _clean_notes(notes) if notes is not None else None
    before = {"disposition_code": interaction.disposition_code, "notes": interaction.notes,
              "agent_id": interaction.agent_id}
    interaction.disposition_code = code
    if clean_notes is not None:
        interaction.notes = clean_notes
    if interaction.agent_id is None:
        interaction.agent_id = actor_id
    changes = audit.diff(before, {"disposition_code": code, "notes": interaction.notes,
                                  "agent_id": interaction.agent_id})
    if disposition.do_not_call:
        changes.update(_block_number(session, interaction, actor_id, region))
    audit.record(session, actor_id=actor_id, entity="interaction", entity_id=interaction.id,
                 action="update", changes=changes)
    return interaction
