"""What every CRM page shares: who may open it, the database and region of the
app, rendering with the signed-in user, a record that is not there as a 404
page, page numbers from the query string, and times shown the same way."""
from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from crm_core.errors import NotFound

from ..web_auth import current_user, login_required

# Everyone who works the phones reads and edits customers and tickets;
# deleting and merging stay in the REST API for supervisors and admins.
CONSOLE_ROLES = ("agent", "supervisor", "admin")
PAGE_MAX = 100_000  # a page number past this is a typo, not a wish
_WHOLE = re.compile(r"[0-9]{1,9}")


def crm_page(view):
    """Signed in with a console role; a customer or ticket that does not exist
    (never did, deleted, merged away) is a 404 page, not an error."""
    @functools.wraps(view)
    def run(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except NotFound as exc:
            return render("crm/error.html", 404, title="Not found", message=exc.message)
    return login_required(*CONSOLE_ROLES)(run)


def render(template: str, status: int = 200, **context):
    return render_template(template, user=current_user(), **context), status


def sessions():
    return current_app.config["SESSIONS"]


def region() -> str:
    return current_app.config.get("REGION", "US")


def page_number(name: str = "page") -> tuple[int, str | None]:
    """The page asked for in the query string (1 when absent) and the error, if any."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return 1, None
    if not _WHOLE.fullmatch(raw) or not 1 <= int(raw) <= PAGE_MAX:
        return 1, f"a whole number from 1 to {PAGE_MAX}"
    return int(raw), None


def see_other(endpoint: str, **values):
    """After a successful POST: the browser fetches the result with a GET, so a
    reload does not post the form twice."""
    return redirect(url_for(endpoint, **values), 303)


def console_url() -> str:
    # The console is built alongside these pages; until its page exists its path is fixed.
    try:
        return url_for("console.agent")
    except BuildError:
        return "/agent"


def show_time(value, zone: str | None = None) -> str:
    """A stored time (aware datetime or ISO text) as ``2025-06-01 14:30 UTC``, or in
    ``zone`` (a customer's) when given and known."""
    if value in (None, ""):
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        when = when.astimezone(ZoneInfo(zone)) if zone else when.astimezone(timezone.utc)
    except (ValueError, KeyError):  # a zone stored before it was checked: say UTC
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M ") + (when.tzname() or "UTC")


def is_overdue(value) -> bool:
    if value in (None, ""):
        return False
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when < datetime.now(timezone.utc)
