"""Callbacks: a promise to call a customer back at a time in their own zone."""
from __future__ import annotations

from crm_core import callbacks

from .auth import EVERYONE, current_caller
from .context import Api
from .replies import reply
from .routes import ID, Routes
from .schemas import Form, json_body, query_int

routes = Routes("callbacks")
FIELDS = ("phone", "due", "timezone", "customer_id", "agent_id", "queue", "note",
          "interaction_id")


@routes.post("/callbacks", roles=EVERYONE)
def schedule(api: Api):
    form = Form(json_body(), FIELDS)
    fields = dict(
        phone=form.text("phone", limit=40, required=True),
        due=form.time("due", required=True, naive_ok=True),  # naive: local time in `timezone`
        timezone=form.text("timezone", limit=64, default=None),  # None: the customer's
        customer_id=form.record_id("customer_id"), agent_id=form.record_id("agent_id"),
        queue=form.text("queue", limit=64), note=form.text("note", limit=2000),
        interaction_id=form.record_id("interaction_id"))
    form.done()
    with api.transaction() as s:
        callback = callbacks.schedule_callback(s, region=api.region, actor_id=current_caller().id,
                                               **fields)
        s.flush()
        data = callbacks.callback_as_dict(callback)
    return reply(data, 201)


@routes.get("/callbacks/due", roles=EVERYONE)
def due(api: Api):
    limit = query_int("limit", default=50, low=1, high=200)
    with api.reading() as s:
        items = [callbacks.callback_as_dict(c) for c in callbacks.due_callbacks(s, limit=limit)]
    return reply({"items": items, "limit": limit})


@routes.patch(f"/callbacks/<{ID}:callback_id>", roles=EVERYONE)
def change_state(api: Api, callback_id: int):
    form = Form(json_body(), ("state",))
    state = form.text("state", limit=16, required=True)
    form.done()
    with api.transaction() as s:
        callback = callbacks.set_state(s, callback_id, state, actor_id=current_caller().id)
        s.flush()
        data = callbacks.callback_as_dict(callback)
    return reply(data)
