"""Every error of the API becomes a JSON answer here, and only here.

CRM errors carry their own status and body; HTTP errors (404, 405, 413 ...)
get the same shape; anything unexpected is logged and answered with a 500
that tells nothing of the inside.
"""
from __future__ import annotations

import logging

from flask import Blueprint, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from crm_core.errors import CrmError, ValidationError

from .replies import reply

log = logging.getLogger(__name__)
REALM = "callcenter-api"


class Unauthenticated(CrmError):
    """No bearer token, or one that belongs to no active user."""
    status = 401
    error_id = "unauthenticated"

    def __init__(self, message: str, *, token_given: bool):
        super().__init__(message)
        challenge = f'Bearer realm="{REALM}"'
        if token_given:
            challenge += ', error="invalid_token"'
        self.headers = {"WWW-Authenticate": challenge}


class MalformedBody(ValidationError):
    """The request body is not a JSON object (bad JSON, wrong content type ...)."""
    status = 400
    error_id = "malformed_body"

    def __init__(self, reason: str):
        super().__init__({"body": reason})


def crm_error(exc: CrmError):
    return reply(exc.to_dict(), exc.status, getattr(exc, "headers", None))


def stale_row(exc: StaleDataError):
    # Two writers raced past the version check; the later one loses.
    return reply({"error": "conflict", "message": "the record was changed by someone else; "
                  "read it again and retry"}, 409)


def integrity_error(exc: IntegrityError):
    log.info("integrity error on %s %s: %s", request.method, request.path, exc.orig)
    return reply({"error": "conflict", "message": "the change clashes with existing data "
                  "(a duplicate or a missing related record)"}, 409)


def http_error(exc: HTTPException):
    error_id = (exc.name or "error").lower().replace(" ", "_")
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return reply({"error": error_id, "message": exc.description}, exc.code or 500, headers)


def unexpected(exc: Exception):
    log.exception("unexpected error on %s %s", request.method, request.path)
    return reply({"error": "internal_error",
                  "message": "an unexpected error happened; it has been logged"}, 500)


def register(bp: Blueprint, prefix: str) -> None:
    bp.register_error_handler(CrmError, crm_error)
    bp.register_error_handler(StaleDataError, stale_row)
    bp.register_error_handler(IntegrityError, integrity_error)
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(Exception, unexpected)

    def routing_error(exc: HTTPException):
        # Unknown routes and wrong methods belong to no blueprint, so this
        # handler is the app's: JSON under the API's prefix, untouched elsewhere.
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return http_error(exc)
        return exc

    bp.app_errorhandler(404)(routing_error)
    bp.app_errorhandler(405)(routing_error)
