"""GET /crm/customers?q=: find a customer by name, code, phone or e-mail."""
from __future__ import annotations

from flask import request

from crm_core import customers, directory

from . import bp
from .common import crm_page, page_number, region, render, sessions

PER_PAGE = 20
QUERY_MAX = 200


@bp.get("/customers")
@crm_page
def search():
    query = request.args.get("q", "").strip()
    page, page_error = page_number()
    errors = {}
    if len(query) > QUERY_MAX:
        errors["q"] = f"longer than {QUERY_MAX} characters"
    elif not query.isprintable():  # PostgreSQL cannot even compare a NUL
        errors["q"] = "contains control characters"
    if page_error:
        errors["page"] = page_error
    if errors or not query:
        # An empty query would list everyone: the form alone is the answer.
        shown = "".join(ch for ch in query[:QUERY_MAX] if ch.isprintable())
        return render("crm/search.html", 422 if errors else 200, q=shown,
                      errors=errors, results=None)
    with sessions()() as s:
        # One more than a page tells whether a next page exists without counting.
        found = customers.search_customers(s, query, limit=PER_PAGE + 1,
                                           offset=(page - 1) * PER_PAGE, region=region())
        rows = [customers.customer_as_dict(c) for c in found]
        owners = directory.user_names(s, (row["owner_id"] for row in rows))
    return render("crm/search.html", q=query, errors={}, results=rows[:PER_PAGE], page=page,
                  has_next=len(rows) > PER_PAGE, owners=owners)
