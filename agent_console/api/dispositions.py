"""Dispositions: the catalogue of call outcomes, and the one an agent picks
for an interaction at wrap-up."""
from __future__ import annotations

from sqlalchemy import inspect

from crm_core import card, dispositions

from .auth import ADMINS, EVERYONE, current_caller
from .context import Api
from .replies import reply
from .routes import ID, Routes
from .schemas import Form, fields_named, json_body, query_bool

routes = Routes("dispositions")
FLAGS = ("contact_made", "sale", "callback", "do_not_call", "final", "active")


def as_dict(disposition) -> dict:
    return {a.key: getattr(disposition, a.key) for a in inspect(disposition).mapper.column_attrs}


def _flags(form: Form) -> dict:
    return {flag: form.boolean(flag) for flag in FLAGS if form.given(flag)}


@routes.get("/dispositions", roles=EVERYONE)
def catalogue(api: Api):
    active_only = query_bool("active_only", default=True)
    with api.reading() as s:
        items = [as_dict(d) for d in dispositions.list_dispositions(s, active_only=active_only)]
    return reply({"items": items})


@routes.post("/dispositions", roles=ADMINS)
def create(api: Api):
    form = Form(json_body(), ("code", "label", *FLAGS))
    code = form.text("code", limit=32, required=True)
    label = form.text("label", limit=80, required=True)
    flags = _flags(form)
    form.done()
    with api.transaction() as s:
        created = dispositions.create_disposition(s, code, label, actor_id=current_caller().id,
                                                  **flags)
        s.flush()
        data = as_dict(created)
    return reply(data, 201)


@routes.patch("/dispositions/<code>", roles=ADMINS)
def update(api: Api, code: str):
    form = Form(json_body(), ("label", *FLAGS))
    changes = _flags(form)
    if form.given("label"):
        changes["label"] = form.text("label", limit=80, required=True)
    form.done()
    with api.transaction() as s:
        updated = dispositions.update_disposition(s, code, changes, actor_id=current_caller().id)
        s.flush()
        data = as_dict(updated)
    return reply(data)


@routes.post(f"/interactions/<{ID}:interaction_id>/disposition", roles=EVERYONE)
def apply(api: Api, interaction_id: int):
    form = Form(json_body(), ("code", "notes"))
    code = form.text("code", limit=32, required=True)
    notes = form.text("notes", limit=20_000, default=None)
    form.done()
    with api.transaction() as s, fields_named(disposition="code"):
        interaction = dispositions.apply_disposition(
            s, interaction_id, code, actor_id=current_caller().id, notes=notes, region=api.region)
        s.flush()
        data = card.interaction_as_dict(interaction)
    return reply(data)
