"""GET /agent: the console page. Its live parts (state, pop) arrive over /events."""
from __future__ import annotations

from flask import current_app, render_template

from crm_core import dispositions
from crm_core.models import TICKET_PRIORITIES, TICKET_STATUSES

from ..web_auth import current_user, login_required
from . import bp
from .agent import TAKES_CALLS

SHORTCUT_KEYS = "123456789"  # disposition n is chosen with key n (outside text fields)


@bp.get("/agent")
@login_required(*TAKES_CALLS)
def agent():
    with current_app.config["SESSIONS"]() as session:
        catalogue = [(d.code, d.label) for d in dispositions.list_dispositions(session)]
    shortcuts = list(zip(SHORTCUT_KEYS, catalogue)) + [("", d) for d in catalogue[9:]]
    return render_template("agent.html", user=current_user(), dispositions=shortcuts,
                           reasons=current_app.config["NOT_READY_REASONS"],
                           priorities=TICKET_PRIORITIES, statuses=TICKET_STATUSES,
                           engine=current_app.config["DESK"].available)
