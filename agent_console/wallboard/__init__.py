"""The supervisors' wallboard: agents and queues live (pushed over /events),
alerts when a queue's service level falls below its target, and the
supervisor's hands on the floor: listen, whisper or barge into an agent's
call from their own phone, and force an agent not ready or logged out.
Supervisors and admins only, on every endpoint."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("wallboard", __name__)

from ..console.replies import register_errors  # noqa: E402
from . import actions, page  # noqa: E402,F401  (routes on bp)

register_errors(bp)
