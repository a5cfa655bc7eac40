"""GET/POST /crm/customers/new: a new person or company, with the duplicate check.

A phone number or e-mail already on file, or a similar name, stops the first
try: the agent sees those customers (and who owns them) and can then "create
anyway". The form carries the ids the agent was shown, and "anyway" covers
exactly those: a record that turned up since is shown before anything is
written. With ``linkedid`` (the agent is on a call from an unknown number),
the call moves to the new customer's timeline and the agent's screen pop is
told, and the agent goes back to the console.
"""
from __future__ import annotations

import logging

from flask import current_app, redirect, request
from sqlalchemy.orm import Session

from crm_core import customers, directory, interactions, validation
from crm_core.errors import DuplicateCustomer, ValidationError

from ..web_auth import current_user
from . import bp, customer_form
from .common import console_url, crm_page, region, render, see_other, sessions
from .customer_form import CustomerForm

log = logging.getLogger(__name__)
LINKEDID_MAX = 64  # the interactions.linkedid column
CONFIRMED_MAX = 100  # ids on one "create anyway"


class LookFirst(Exception):
    """Customers the agent has not been shown yet; raised inside the transaction
    so that the customer just created is rolled back."""

    def __init__(self, matches: list[dict], similar: list):
        super().__init__("look at these customers first")
        self.matches, self.similar = matches, similar


def linkedid_problem(text: str) -> str | None:
    if len(text) > LINKEDID_MAX:
        return f"a call id is at most {LINKEDID_MAX} characters"
    if not text.isprintable() or text != text.strip():
        return "a call id has no control characters or surrounding spaces"
    return None


def _confirmed(text: str, form: CustomerForm) -> set[int]:
    parts = [p for p in text.split(",") if p]
    if len(parts) > CONFIRMED_MAX or not all(p.isascii() and p.isdigit() and len(p) <= 9
                                             for p in parts):
        form.errors["confirmed"] = ("the list of customers you were shown is damaged; "
                                    "press Create again")
        return set()
    return {int(p) for p in parts}


def _show(form: CustomerForm, status: int, linkedid: str, *, matches=(), similar=()):
    with sessions()() as s:
        assignable = directory.assignable_users(s)
        owners = directory.user_names(s, [m["owner_id"] for m in matches]
                                      + [x.owner_id for x in similar])
    shown = {m["id"] for m in matches}
    similar = [x for x in similar if x.id not in shown]
    return render("crm/new_customer.html", status, form=form, linkedid=linkedid,
                  assignable=assignable, matches=list(matches), similar=similar, owners=owners,
                  confirmed=",".join(str(i) for i in sorted(shown | {x.id for x in similar})))


@bp.route("/customers/new", methods=["GET", "POST"])
@crm_page
def new_customer():
    return create() if request.method == "POST" else _fresh_form()


def _fresh_form():
    form = customer_form.blank(request.args.get("phone", ""))
    form.values["owner_id"] = str(current_user().id)
    linkedid = request.args.get("linkedid", "")[:LINKEDID_MAX + 1]
    problem = linkedid_problem(linkedid) if linkedid else None
    if problem:
        form.errors["linkedid"] = problem
    return _show(form, 422 if problem else 200, linkedid)


def _create(s: Session, data: dict, seen: set[int], call) -> int:
    """The new customer's id; LookFirst when there is someone the agent has not seen."""
    actor = current_user().id
    matches: list[dict] = []
    try:
        result = customers.create_customer(s, data, actor_id=actor, region=region())
    except DuplicateCustomer as dup:
        matches = dup.details["matches"]
        if not {m["id"] for m in matches} <= seen:
            raise LookFirst(matches, customers.find_similar(s, data["name"])) from None
        result = customers.create_customer(s, data, actor_id=actor, region=region(),
                                           allow_duplicate=True)
    if any(x.id not in seen for x in result.similar):
        # Everyone is shown again, so the next "anyway" covers them all.
        raise LookFirst(matches, result.similar)
    if call is not None:
        interactions.link_customer(s, call.id, result.customer.id, actor_id=actor)
    return result.customer.id


def _call(s: Session, linkedid: str):
    if not linkedid:
        return None
    call = interactions.by_linkedid(s, linkedid)
    if call is None:
        raise ValidationError.one("linkedid", "no call with this id is in the history; clear "
                                              "the field to create the customer without it")
    return call


def _tell_the_pop(linkedid: str, customer_id: int) -> None:
    feeds = current_app.config.get("FEEDS")
    if feeds is None:
        return
    try:
        feeds.customer_linked(linkedid, customer_id)
    except Exception:  # the link is saved; the pop shows it on its next refresh
        log.exception("screen pop not told that call %s is customer %s", linkedid, customer_id)


def _all_field_errors(data: dict, form: CustomerForm) -> None:
    """The service's verdict on the other fields too, so the agent fixes everything
    in one go (only the checks that need no database: nothing is written)."""
    try:
        validation.clean_customer(data, region=region())
    except ValidationError as exc:
        form.service_errors(exc.errors)


def create():
    data, form = customer_form.read(request.form)
    linkedid = request.form.get("linkedid", "")[:LINKEDID_MAX + 1]
    if linkedid and linkedid_problem(linkedid):
        form.errors["linkedid"] = linkedid_problem(linkedid)
    seen = _confirmed(request.form.get("confirmed", ""), form)
    if form.errors:
        _all_field_errors(data, form)
        return _show(form, 422, linkedid)
    try:
        with sessions().begin() as s:
            customer_id = _create(s, data, seen, _call(s, linkedid))
    except ValidationError as exc:
        form.service_errors(exc.errors)
        return _show(form, 422, linkedid)
    except LookFirst as look:
        return _show(form, 409, linkedid, matches=look.matches, similar=look.similar)
    if linkedid:
        _tell_the_pop(linkedid, customer_id)
        return redirect(console_url(), 303)
    return see_other("crm.card", customer_id=customer_id)
