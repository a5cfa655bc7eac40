"""The CRM's REST API: JSON under /api/v1, bearer tokens, roles per route.

One module per resource (customers, cards, lookup, tickets, callbacks,
dispositions, dnc, users, transcripts), each with its table of routes; ``auth`` checks
tokens and roles, ``schemas`` parses requests, ``errors`` turns every error
into JSON in one place. ``openapi.yml`` describes all of it and is served at
GET /api/v1/openapi.yml, the one route without a token.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, request
from sqlalchemy.orm import sessionmaker

from crm_core.phones import check_region

from . import (callbacks, cards, customers, dispositions, dnc, errors, lookup, tickets,
               transcripts, users)
from .context import Api

URL_PREFIX = "/api/v1"
MAX_CONTENT_LENGTH = 1024 * 1024  # bytes of request body; more is a 413
OPENAPI = Path(__file__).with_name("openapi.yml")
RESOURCES = (customers, cards, lookup, tickets, callbacks, dispositions, dnc, users,
             transcripts)


def create_api(sessions: sessionmaker, *, region: str = "US") -> Blueprint:
    """The API blueprint over ``sessions``; ``region`` places national phone numbers."""
    api = Api(sessions=sessions, region=check_region(region))
    bp = Blueprint("api_v1", __name__, url_prefix=URL_PREFIX)
    errors.register(bp, URL_PREFIX)
    bp.before_request(_limit_body)
    bp.after_request(_not_cached)
    bp.add_url_rule("/openapi.yml", "openapi", _openapi, methods=["GET"])
    for resource in RESOURCES:
        resource.routes.register(bp, api)
    return bp


def _limit_body() -> None:
    request.max_content_length = MAX_CONTENT_LENGTH


def _not_cached(response: Response) -> Response:
    # Customer data must not linger in shared caches.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _openapi() -> Response:
    """The API description (public: it holds no data)."""
    return Response(OPENAPI.read_bytes(), mimetype="application/yaml")
