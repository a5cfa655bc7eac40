"""The console's JSON answers and errors: a refusal from the ACD is a 409 with
its message, an engine that is not running a 503, a CRM validation error a
422 naming the fields; anything unexpected is logged and a bare 500."""
from __future__ import annotations

import logging

from flask import current_app, request
from werkzeug.exceptions import HTTPException

from acd.model import AcdError
from crm_core.errors import CrmError
from recording.errors import RecordingError

from ..api.errors import crm_error, http_error, unexpected
from ..api.replies import reply
from ..api.schemas import Form, json_body
from ..desk import DeskUnavailable
from ..web_auth import current_user
from . import bp

log = logging.getLogger(__name__)


def refused(exc: AcdError | RecordingError):
    return reply({"error": "refused", "message": str(exc)}, 409)


def unavailable(exc: DeskUnavailable):
    return reply({"error": "engine_unavailable", "message": str(exc)}, 503)


def register_errors(blueprint) -> None:
    """JSON errors for a blueprint of commands (the console's, the wallboard's)."""
    for kind, handler in ((AcdError, refused), (RecordingError, refused),
                          (DeskUnavailable, unavailable),
                          (CrmError, crm_error), (HTTPException, http_error),
                          (Exception, unexpected)):
        blueprint.register_error_handler(kind, handler)


register_errors(bp)


def desk():
    return current_app.config["DESK"]


def me() -> str:
    return current_user().username


def no_fields() -> None:
    """A command without parameters: an empty body or {}; anything else is refused."""
    if request.get_data(cache=True):
        Form(json_body(), ()).done()


def done(**extra):
    """A command was carried out; what it changed arrives over /events."""
    return reply({"ok": True, **extra})

