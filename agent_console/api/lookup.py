"""Who is calling? Customers matched by phone number, for the screen pop."""
from __future__ import annotations

from crm_core import lookup

from .auth import EVERYONE
from .context import Api
from .replies import reply
from .routes import Routes
from .schemas import query_text

routes = Routes("lookup")


@routes.get("/lookup", roles=EVERYONE)
def by_phone(api: Api):
    number = query_text("number", limit=40, required=True)
    with api.reading() as s:
        matches = lookup.find_by_phone(s, number, region=api.region)
    return reply({"number": number, "matches": matches})
