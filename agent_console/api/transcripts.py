"""What was said: transcripts searched by keyword. Supervisors and admins search
every transcript; an agent the calls they handled."""
from __future__ import annotations

from crm_core import transcripts

from .auth import EVERYONE, SUPERVISORS, current_caller
from .context import Api
from .replies import reply
from .routes import Routes
from .schemas import limit_offset, query_text

routes = Routes("transcripts")


@routes.get("/transcripts", roles=EVERYONE)
def search(api: Api):
    keyword = query_text("q", limit=100, required=True)
    limit, offset = limit_offset(default_limit=20)
    caller = current_caller()
    mine = None if caller.role in SUPERVISORS else caller.id
    with api.reading() as s:
        hits = transcripts.search_transcripts(s, keyword, limit=limit, offset=offset,
                                              agent_id=mine)
    return reply({"items": hits, "limit": limit, "offset": offset})
