"""GET /events: the signed-in user's Server-Sent Events stream.

One stream per open page. It starts with the whole picture (hello, the
agent's state and current pop, the wallboard for supervisors) and then
carries every change as it happens (see push.Hub). A comment line every
HEARTBEAT seconds keeps proxies from closing a quiet stream and lets the
server notice a page that has gone; at each one the user is looked up again,
so a deactivated user's streams end.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from .api.replies import dumps
from .push import StreamClosed, Viewer
from .web_auth import current_user, login_required, still_active

bp = Blueprint("events", __name__)
HEARTBEAT = 15.0  # seconds
RETRY_MS = 2000  # how soon the browser reconnects after a drop


@bp.get("/events")
@login_required()
def stream():
    user = current_user()
    hub = current_app.config["HUB"]
    sessions = current_app.config["SESSIONS"]
    viewer = Viewer(user.id, user.username, user.role)
    mailbox = hub.open(viewer)

    def generate():
        try:
            yield f"retry: {RETRY_MS}\n\n"
            while True:
                try:
                    item = mailbox.get(HEARTBEAT)
                except StreamClosed:
                    return
                if item is None:
                    if not still_active(sessions, viewer.user_id):
                        return
                    yield ": keep-alive\n\n"
                    continue
                kind, data = item
                yield f"event: {kind}\ndata: {dumps(data)}\n\n"
        finally:
            hub.close(mailbox)

    return Response(generate(), mimetype="text/event-stream",
                    headers={"X-Accel-Buffering": "no"})
