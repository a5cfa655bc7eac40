"""Call control from the console: hold, resume, hang up, blind and attended
transfer, click-to-dial, and saying whose call it is (a shared number, or a
caller just created as a new customer)."""
from __future__ import annotations

from flask import current_app

from crm_core import interactions, lookup
from crm_core.errors import NotFound, PermissionDenied, ValidationError

from ..api.schemas import Form, json_body
from ..web_auth import current_user, login_required
from . import bp
from .agent import TAKES_CALLS
from .replies import desk, done, me, no_fields

TRANSFER_KINDS = ("agent", "queue", "number")
LIVE_PHASES = ("ringing", "dialling", "talking", "on_hold", "consulting")


def _simple(command: str):
    def view():
        no_fields()
        desk().run(command, me())
        return done()
    view.__name__ = f"call_{command}"
    return view


for _path, _command in (("hold", "hold"), ("resume", "resume"), ("hangup", "hangup"),
                        ("transfer/complete", "complete_transfer"),
                        ("transfer/cancel", "cancel_transfer")):
    bp.add_url_rule(f"/console/call/{_path}", f"call_{_command}",
                    login_required(*TAKES_CALLS)(_simple(_command)), methods=["POST"])


@bp.post("/console/call/transfer")
@login_required(*TAKES_CALLS)
def transfer():
    form = Form(json_body(), ("kind", "target", "attended"))
    kind = form.choice("kind", TRANSFER_KINDS)
    target = form.text("target", limit=64, required=True)
    attended = form.boolean("attended")
    form.done()
    desk().run("transfer", me(), kind, target.strip(), attended=attended)
    return done()


@bp.post("/console/dial")
@login_required(*TAKES_CALLS)
def dial():
    """Click-to-dial: the agent's phone rings, then the customer is called."""
    form = Form(json_body(), ("number", "customer_id"))
    number = form.text("number", limit=40, required=True)
    customer_id = form.record_id("customer_id")
    form.done()
    if customer_id is None:  # a number typed in: the call goes on its customer's timeline
        customer_id = _only_customer_with(number.strip())
    linkedid = desk().run("dial", me(), number.strip(), customer_id=customer_id)
    return done(linkedid=linkedid)


def _only_customer_with(number: str) -> int | None:
    with current_app.config["SESSIONS"]() as session:
        matches = lookup.find_by_phone(session, number, region=current_app.config["REGION"],
                                       limit=2)
    return matches[0].id if len(matches) == 1 else None


@bp.post("/console/call/customer")
@login_required(*TAKES_CALLS)
def choose_customer():
    """The agent says whose call this is: it moves to that customer's timeline
    and the pop shows their card."""
    form = Form(json_body(), ("linkedid", "customer_id"))
    linkedid = form.text("linkedid", limit=64, required=True)
    customer_id = form.record_id("customer_id", required=True)
    form.done()
    with current_app.config["SESSIONS"].begin() as session:
        row = interactions.by_linkedid(session, linkedid)
        if row is None:
            raise NotFound(f"call {linkedid!r} is not in the history (yet)")
        _may_handle(row)
        interactions.link_customer(session, row.id, customer_id, actor_id=current_user().id)
    feeds = current_app.config.get("FEEDS")
    if feeds is not None:
        feeds.customer_linked(linkedid, customer_id)
    return done(customer_id=customer_id)


@bp.post("/console/pop/dismiss")
@login_required(*TAKES_CALLS)
def dismiss():
    """Put away the pop of a call that is over (a live call's pop stays)."""
    hub = current_app.config["HUB"]
    pop = hub.pop_of(me())
    if pop is not None and pop.get("phase") in LIVE_PHASES:
        raise ValidationError.one("pop", "the call is still going on")
    hub.set_pop(me(), None)
    return done()


def _may_handle(row) -> None:
    """Agents change the calls they handle (their pop, or calls they took);
    supervisors and admins any call."""
    user = current_user()
    if user.role in ("supervisor", "admin") or row.agent_id == user.id:
        return
    pop = current_app.config["HUB"].pop_of(user.username)
    if pop is not None and pop.get("linkedid") == row.linkedid:
        return
    raise PermissionDenied("this call is not yours")
