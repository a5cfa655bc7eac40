"""The agent console: one screen to log in to a seat, go ready or not ready, get
the screen pop when the phone rings, control the call, and write the wrap-up.

``bp`` carries the page (GET /agent) and the console's JSON commands under
/console/... (session cookie + CSRF token in X-CSRF-Token, checked for every
POST by web_auth). Commands go to the engine through the app's ``Desk``; the
agent's state and pops come back over /events, never as the command's answer,
so every open tab shows the same thing.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__)

from . import agent, calls, page, recording, wrapup, replies  # noqa: E402,F401
