"""The customer card an agent sees when a call rings, the timeline behind it,
and notes written onto that timeline."""
from __future__ import annotations

from crm_core import card

from .auth import EVERYONE, current_caller
from .context import Api
from .replies import reply
from .routes import ID, Routes
from .schemas import Form, json_body, query_int

routes = Routes("cards")
NOTE_LIMIT = 20_000
SUBJECT_LIMIT = 200


@routes.get(f"/customers/<{ID}:customer_id>/card", roles=EVERYONE)
def read(api: Api, customer_id: int):
    last = query_int("last", default=50, low=1, high=200)
    with api.reading() as s:
        data = card.customer_card(s, customer_id, last=last)
    return reply(data)


@routes.get(f"/customers/<{ID}:customer_id>/timeline", roles=EVERYONE)
def timeline(api: Api, customer_id: int):
    page = query_int("page", default=1, low=1, high=100_000)
    per_page = query_int("per_page", default=50, low=1, high=200)
    with api.reading() as s:
        found = card.timeline(s, customer_id, page=page, per_page=per_page)
    return reply({"items": found.items, "page": found.page, "per_page": found.per_page,
                  "total": found.total})


@routes.post(f"/customers/<{ID}:customer_id>/notes", roles=EVERYONE)
def add_note(api: Api, customer_id: int):
    form = Form(json_body(), ("text", "subject", "channel"))
    text = form.text("text", limit=NOTE_LIMIT, required=True)
    subject = form.text("subject", limit=SUBJECT_LIMIT)
    channel = form.text("channel", limit=16, default="note")
    form.done()
    with api.transaction() as s:
        note = card.add_note(s, customer_id, text, actor_id=current_caller().id,
                             channel=channel, subject=subject)
        s.flush()
        data = card.interaction_as_dict(note)
    return reply(data, 201)
