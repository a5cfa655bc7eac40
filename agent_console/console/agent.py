"""The agent's own state: log in to a seat, ready, not ready with a reason,
sign off the seat, end the wrap-up early."""
from __future__ import annotations

from flask import current_app

from ..api.schemas import Form, json_body
from ..web_auth import login_required
from . import bp
from .replies import desk, done, me, no_fields

TAKES_CALLS = ("agent", "supervisor", "admin")


@bp.post("/console/seat")
@login_required(*TAKES_CALLS)
def seat_login():
    form = Form(json_body(), ("seat",))
    seat = form.text("seat", limit=40, required=True)
    form.done()
    desk().run("login", me(), seat.strip())
    return done(seat=seat.strip())


@bp.post("/console/ready")
@login_required(*TAKES_CALLS)
def ready():
    no_fields()
    desk().run("ready", me())
    return done()


@bp.post("/console/not-ready")
@login_required(*TAKES_CALLS)
def not_ready():
    form = Form(json_body(), ("reason",))
    reason = form.choice("reason", current_app.config["NOT_READY_REASONS"])
    form.done()
    desk().run("not_ready", me(), reason)
    return done()


@bp.post("/console/sign-off")
@login_required(*TAKES_CALLS)
def sign_off():
    """Leave the seat (at once, or when the current call and wrap-up end)."""
    no_fields()
    desk().run("logout", me())
    return done()


@bp.post("/console/wrap-up/end")
@login_required(*TAKES_CALLS)
def end_wrap_up():
    no_fields()
    desk().run("end_wrap_up", me())
    return done()
