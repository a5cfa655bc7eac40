"""GET /crm/transcripts?q=: find calls and voicemails by what was said in them.
Supervisors and admins search every transcript; an agent the calls they handled
(a transcript is as private as its recording)."""
from __future__ import annotations

from flask import request

from crm_core import transcripts
from crm_core.errors import ValidationError

from ..web_auth import current_user
from . import bp
from .common import crm_page, page_number, render, sessions

PER_PAGE = 20
SUPERVISING = ("supervisor", "admin")


@bp.get("/transcripts")
@crm_page
def transcript_search():
    query = request.args.get("q", "").strip()
    page, page_error = page_number()
    errors = {"page": page_error} if page_error else {}
    if not query or errors:
        return render("crm/transcripts.html", 422 if errors else 200, q=query[:100],
                      errors=errors, hits=None)
    user = current_user()
    mine = None if user.role in SUPERVISING else user.id
    try:
        with sessions()() as s:
            hits = transcripts.search_transcripts(s, query, limit=PER_PAGE + 1,
                                                  offset=(page - 1) * PER_PAGE, agent_id=mine)
    except ValidationError as exc:
        shown = "".join(ch for ch in query[:100] if ch.isprintable())
        return render("crm/transcripts.html", 422, q=shown, hits=None,
                      errors={"q": "; ".join(exc.errors.values())})
    return render("crm/transcripts.html", q=query, errors={}, hits=hits[:PER_PAGE], page=page,
                  has_next=len(hits) > PER_PAGE, everyone=mine is None)
