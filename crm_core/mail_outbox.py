"""The mail outbox: messages to send (a voicemail to its team), kept in the
database until an SMTP server takes them.

Writing a message here is part of the transaction that creates what it is
about, so a voicemail is never mailed without being in the CRM, nor in the CRM
without its mail. A sender takes due rows, claims each with a compare-and-set
(two senders never send one message), and marks it sent, due again later with
the error, or failed for good.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .errors import NotFound, ValidationError
from .models import MailOutbox
from .validation import clean_email

SUBJECT_MAX = 200
BODY_MAX = 100_000
ERROR_MAX = 300
NAME_MAX = 200


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _one_line(value, field: str, limit: int, errors: dict) -> str:
    # A CR or LF in a header would start a header of the sender's choosing.
    if not isinstance(value, str) or not value.strip():
        errors[field] = "is required"
    elif len(value) > limit:
        errors[field] = f"longer than {limit} characters"
    elif not value.isprintable():
        errors[field] = "contains line breaks or control characters"
    else:
        return value.strip()
    return ""


def clean_addresses(addresses, errors: dict) -> list[str]:
    if isinstance(addresses, str) or not isinstance(addresses, (list, tuple)) or not addresses:
        errors["to"] = "a list of one or more e-mail addresses"
        return []
    out = []
    for i, address in enumerate(addresses):
        try:
            clean = clean_email(address, field=f"to[{i}]")
        except ValidationError as exc:
            errors.update(exc.errors)
            continue
        if clean not in out:
            out.append(clean)
    return out


def queue_mail(session: Session, *, to, subject: str, body: str = "",
               attachment: str | None = None, attachment_name: str = "",
               interaction_id: int | None = None, now: datetime | None = None) -> MailOutbox:
    """A pending message; every field checked first (nothing written on a refusal)."""
    errors: dict[str, str] = {}
    addresses = clean_addresses(to, errors)
    subject = _one_line(subject, "subject", SUBJECT_MAX, errors)
    if not isinstance(body, str) or len(body) > BODY_MAX or \
            not all(ch.isprintable() or ch in "\n\t" for ch in body):
        errors["body"] = f"text of up to {BODY_MAX} characters without control characters"
    if attachment is not None:
        if not isinstance(attachment, str) or not attachment or len(attachment) > 500 \
                or attachment.startswith("/") or ".." in attachment.split("/"):
            errors["attachment"] = "a path inside the recording store"
        attachment_name = _one_line(attachment_name, "attachment_name", NAME_MAX, errors)
    if errors:
        raise ValidationError(errors)
    mail = MailOutbox(to_addresses=", ".join(addresses), subject=subject, body=body,
                      attachment=attachment, attachment_name=attachment_name or "",
                      interaction_id=interaction_id, status="pending", attempts=0,
                      next_attempt_at=_now(now), last_error="", created_at=_now(now))
    session.add(mail)
    session.flush()
    return mail


def due(session: Session, *, now: datetime | None = None, limit: int = 20) -> list[MailOutbox]:
    """Pending messages whose (next) attempt is due, the oldest first."""
    return list(session.scalars(select(MailOutbox).where(
        MailOutbox.status == "pending", MailOutbox.next_attempt_at <= _now(now))
        .order_by(MailOutbox.next_attempt_at, MailOutbox.id).limit(limit)))


def claim(session: Session, mail_id: int, *, now: datetime | None = None,
          lease: timedelta = timedelta(minutes=5)) -> bool:
    """Take a due message for one attempt: while it is tried, nobody else takes it
    (its next attempt moves ``lease`` ahead, which is also its retry if we die)."""
    now = _now(now)
    done = session.execute(update(MailOutbox)
                           .where(MailOutbox.id == mail_id, MailOutbox.status == "pending",
                                  MailOutbox.next_attempt_at <= now)
                           .values(next_attempt_at=now + lease)
                           .execution_options(synchronize_session=False))
    return done.rowcount == 1


def mark_sent(session: Session, mail_id: int, *, now: datetime | None = None) -> MailOutbox:
    mail = get_mail(session, mail_id)
    mail.status, mail.sent_at, mail.last_error = "sent", _now(now), ""
    mail.attempts += 1
    session.flush()
    return mail


def mark_retry(session: Session, mail_id: int, error: str, next_attempt_at: datetime) -> MailOutbox:
    """The attempt failed; the message stays pending until ``next_attempt_at``."""
    mail = get_mail(session, mail_id)
    mail.attempts += 1
    mail.last_error = _error(error)
    mail.next_attempt_at = next_attempt_at
    session.flush()
    return mail


def mark_failed(session: Session, mail_id: int, error: str) -> MailOutbox:
    """Given up: the message stays in the outbox (status failed) with the last error."""
    mail = get_mail(session, mail_id)
    mail.attempts += 1
    mail.status, mail.last_error = "failed", _error(error)
    session.flush()
    return mail


def of_interaction(session: Session, interaction_id: int) -> list[MailOutbox]:
    return list(session.scalars(select(MailOutbox).where(
        MailOutbox.interaction_id == interaction_id).order_by(MailOutbox.id)))


def _error(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in str(text))[:ERROR_MAX]


def get_mail(session: Session, mail_id: int) -> MailOutbox:
    mail = session.get(MailOutbox, mail_id, populate_existing=True)
    if mail is None:
        raise NotFound(f"no message {mail_id} in the outbox", mail_id=mail_id)
    return mail
