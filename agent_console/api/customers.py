"""Customers: search, create (with the duplicate check), read, edit with the
version the client read, delete, and merge two records of one customer."""
from __future__ import annotations

from flask import url_for

from crm_core import customers, merge
from crm_core.errors import ValidationError

from .auth import ADMINS, EVERYONE, SUPERVISORS, current_caller
from .context import Api
from .replies import etag, no_content, reply
from .routes import ID, Routes
from .schemas import Form, expected_version, json_body, limit_offset, query_text

routes = Routes("customers")


@routes.get("/customers", roles=EVERYONE)
def search(api: Api):
    query = query_text("q")
    limit, offset = limit_offset()
    with api.reading() as s:
        found = customers.search_customers(s, query, limit=limit, offset=offset, region=api.region)
        items = [customers.customer_as_dict(c) for c in found]
    return reply({"items": items, "limit": limit, "offset": offset})


@routes.post("/customers", roles=EVERYONE)
def create(api: Api):
    data = json_body()
    allow_duplicate = data.pop("allow_duplicate", False)
    if not isinstance(allow_duplicate, bool):
        raise ValidationError.one("allow_duplicate", "must be true or false")
    with api.transaction() as s:
        result = customers.create_customer(s, data, actor_id=current_caller().id,
                                           region=api.region, allow_duplicate=allow_duplicate)
        s.flush()
        created = customers.customer_as_dict(result.customer)
    location = url_for(".customers_read", customer_id=created["id"])
    return reply({"customer": created, "similar": result.similar}, 201,
                 {"Location": location, **etag(created)})


@routes.get(f"/customers/<{ID}:customer_id>", roles=EVERYONE)
def read(api: Api, customer_id: int):
    with api.reading() as s:
        data = customers.customer_as_dict(customers.get_customer(s, customer_id))
    return reply(data, headers=etag(data))


@routes.patch(f"/customers/<{ID}:customer_id>", roles=EVERYONE)
def update(api: Api, customer_id: int):
    changes = json_body()
    version = expected_version(changes)
    changes.pop("version", None)
    with api.transaction() as s:
        customer = customers.update_customer(s, customer_id, changes, expected_version=version,
                                             actor_id=current_caller().id, region=api.region)
        s.flush()  # the new version number is given at flush
        data = customers.customer_as_dict(customer)
    return reply(data, headers=etag(data))


@routes.delete(f"/customers/<{ID}:customer_id>", roles=ADMINS)
def delete(api: Api, customer_id: int):
    with api.transaction() as s:
        customers.delete_customer(s, customer_id, actor_id=current_caller().id)
    return no_content()


@routes.post(f"/customers/<{ID}:customer_id>/merge", roles=SUPERVISORS)
def merge_into(api: Api, customer_id: int):
    form = Form(json_body(), ("absorb_id",))
    absorb_id = form.record_id("absorb_id", required=True)
    form.done()
    with api.transaction() as s:
        kept = merge.merge_customers(s, customer_id, absorb_id, actor_id=current_caller().id)
        s.flush()
        data = customers.customer_as_dict(kept)
    return reply(data, headers=etag(data))
