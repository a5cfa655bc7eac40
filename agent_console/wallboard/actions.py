"""The supervisor's commands: monitor an agent's call (listen, whisper, barge)
from their own phone, switch or stop it, and force an agent's state. Each is
checked by the ACD (registered phone, a logged-in agent, a call to spy on)
and audited there."""
from __future__ import annotations

from flask import current_app

from ..api.schemas import Form, json_body
from ..console.replies import done, me, no_fields
from ..web_auth import login_required
from . import bp
from .page import SUPERVISING

MODES = ("listen", "whisper", "barge")


def _desk():
    return current_app.config["DESK"]


@bp.post("/wallboard/monitor")
@login_required(*SUPERVISING)
def monitor():
    form = Form(json_body(), ("agent", "seat", "mode"))
    agent = form.text("agent", limit=64, required=True)
    seat = form.text("seat", limit=40, required=True)
    mode = form.choice("mode", MODES)
    form.done()
    _desk().run("monitor", me(), seat.strip(), agent, mode)
    return done()


@bp.post("/wallboard/monitor/mode")
@login_required(*SUPERVISING)
def monitor_mode():
    form = Form(json_body(), ("mode",))
    mode = form.choice("mode", MODES)
    form.done()
    _desk().run("monitor_mode", me(), mode)
    return done()


@bp.post("/wallboard/monitor/stop")
@login_required(*SUPERVISING)
def stop_monitor():
    no_fields()
    _desk().run("stop_monitor", me())
    return done()


@bp.post("/wallboard/agents/not-ready")
@login_required(*SUPERVISING)
def force_not_ready():
    form = Form(json_body(), ("agent", "reason"))
    agent = form.text("agent", limit=64, required=True)
    reason = form.choice("reason", current_app.config["NOT_READY_REASONS"] + ("supervisor",))
    form.done()
    _desk().run("force_not_ready", agent, reason, me())
    return done()


@bp.post("/wallboard/agents/logout")
@login_required(*SUPERVISING)
def force_logout():
    form = Form(json_body(), ("agent",))
    agent = form.text("agent", limit=64, required=True)
    form.done()
    _desk().run("force_logout", agent, me())
    return done()
