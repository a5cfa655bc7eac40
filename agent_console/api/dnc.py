"""The do-not-call list: numbers no campaign and no callback may dial."""
from __future__ import annotations

from sqlalchemy import inspect

from crm_core import dnc, phones

from .auth import ADMINS, EVERYONE, SUPERVISORS, current_caller
from .context import Api
from .replies import no_content, reply
from .routes import Routes
from .schemas import Form, json_body, limit_offset, query_text

routes = Routes("dnc")


def as_dict(entry) -> dict:
    return {a.key: getattr(entry, a.key) for a in inspect(entry).mapper.column_attrs}


@routes.get("/dnc", roles=SUPERVISORS)
def entries(api: Api):
    limit, offset = limit_offset()
    with api.reading() as s:
        items = [as_dict(e) for e in dnc.list_entries(s, limit=limit, offset=offset)]
    return reply({"items": items, "limit": limit, "offset": offset})


@routes.post("/dnc", roles=SUPERVISORS)
def add(api: Api):
    form = Form(json_body(), ("number", "reason"))
    number = form.text("number", limit=40, required=True)
    reason = form.text("reason", limit=200)
    form.done()
    with api.transaction() as s:
        entry = dnc.add(s, number, reason=reason, actor_id=current_caller().id,
                        region=api.region)
        data = as_dict(entry)  # adding a listed number again keeps its first entry
    return reply(data, 201)


@routes.delete("/dnc/<number>", roles=ADMINS)
def remove(api: Api, number: str):
    e164 = phones.normalize(number, api.region, field="number")
    with api.transaction() as s:
        removed = dnc.remove(s, e164, actor_id=current_caller().id, region=api.region)
    if not removed:
        return reply({"error": "not_found", "message": f"{e164} is not on the do-not-call list"},
                     404)
    return no_content()


@routes.get("/dnc/check", roles=EVERYONE)
def check(api: Api):
    number = query_text("number", limit=40, required=True)
    e164 = phones.normalize(number, api.region, field="number")
    with api.reading() as s:
        blocked = dnc.is_blocked(s, e164, region=api.region)
    return reply({"number": e164, "blocked": blocked})
