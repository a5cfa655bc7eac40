"""The CRM pages of the web console: find a customer, the customer card with
its whole timeline, a new customer with the duplicate check (and the caller's
call linked to it), click-to-dial, and tickets.

Server-rendered HTML forms over the same crm_core services as the REST API;
every page needs a signed-in agent, supervisor or admin, and every POST the
session's CSRF token (checked for the whole app by web_auth).
"""
from __future__ import annotations

from flask import Blueprint

from .common import is_overdue, show_time

bp = Blueprint("crm", __name__, url_prefix="/crm")
bp.add_app_template_filter(show_time, "crm_time")
bp.add_app_template_test(is_overdue, "crm_overdue")

from . import card, dial, interaction, new_customer, search, tickets, transcripts  # noqa: E402,F401
