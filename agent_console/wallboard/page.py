"""GET /wallboard: the page; its figures arrive over /events."""
from __future__ import annotations

from flask import current_app, render_template

from ..web_auth import current_user, login_required
from . import bp

SUPERVISING = ("supervisor", "admin")


@bp.get("/wallboard")
@login_required(*SUPERVISING)
def board():
    return render_template("wallboard.html", user=current_user(),
                           reasons=current_app.config["NOT_READY_REASONS"],
                           engine=current_app.config["DESK"].available)
