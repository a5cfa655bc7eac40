"""POST /crm/customers/<id>/dial: click-to-dial one of the customer's numbers.

The engine places the call from the agent's seat; the page only lets a number
through that is this customer's and not on the do-not-call list, so a
tampered form can neither dial a stranger nor a customer who asked us not to
call. The desk is asked outside any database transaction: it may take
seconds to answer, and nothing here must hold the CRM meanwhile.
"""
from __future__ import annotations

from flask import current_app, redirect, request
from sqlalchemy.orm import Session

from acd.model import AcdError
from crm_core import customers, dnc, phones
from crm_core.errors import ValidationError

from ..api.routes import ID
from ..desk import DeskUnavailable
from ..web_auth import current_user
from . import bp
from .card import show_card
from .common import console_url, crm_page, region, sessions

TYPED_MAX = 64


def _refusal(s: Session, customer_id: int, typed: str) -> tuple[str | None, int, str]:
    """(the E.164 number to dial, or None with the status and why not)."""
    customer = customers.get_customer(s, customer_id)  # NotFound: a 404 page
    try:
        e164 = phones.normalize(typed, region(), field="phone")
    except ValidationError as exc:
        return None, 422, f"Not dialled: {exc.errors['phone']}."
    if e164 not in {p.e164 for p in customer.phones}:
        return None, 422, f"Not dialled: {e164} is not one of this customer's numbers."
    if dnc.is_blocked(s, e164, region=region()):
        return None, 409, f"Not dialled: {e164} is on the do-not-call list."
    return e164, 200, ""


@bp.post(f"/customers/<{ID}:customer_id>/dial")
@crm_page
def dial(customer_id: int):
    typed = request.form.get("phone", "")[:TYPED_MAX]
    with sessions()() as s:
        e164, status, why = _refusal(s, customer_id, typed)
    if e164 is None:
        return show_card(customer_id, status, alert=why)
    try:
        current_app.config["DESK"].run("dial", current_user().username, e164,
                                       customer_id=customer_id)
    except AcdError as exc:  # the engine said no: not logged in, already on a call ...
        return show_card(customer_id, 409, alert=f"The call was not placed: {exc}")
    except DeskUnavailable as exc:
        return show_card(customer_id, 503, alert=f"The call was not placed: {exc}")
    return redirect(console_url(), 303)
