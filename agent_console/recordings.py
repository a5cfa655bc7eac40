"""GET /recordings/<id>: a recorded call or voicemail, for the browser's audio
player and for download. HTTP range requests are answered (206), so a player
can seek without fetching the whole file. Supervisors and admins may hear any
recording; an agent only those of calls they handled. Every fetch is logged
with who asked."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, abort, current_app, send_file

from crm_core.errors import NotFound
from crm_core.interaction_detail import recording_for_download

from .api.routes import ID
from .web_auth import current_user, login_required

log = logging.getLogger(__name__)
bp = Blueprint("recordings", __name__)
MIMETYPES = {"wav": "audio/wav", "opus": "audio/ogg", "ogg": "audio/ogg", "mp3": "audio/mpeg"}
SUPERVISING = ("supervisor", "admin")


def may_hear(user, handled_by: int | None) -> bool:
    """Supervisors and admins; otherwise only the agent who handled the call."""
    return user.role in SUPERVISING or (handled_by is not None and handled_by == user.id)


def stored_file(relative: str) -> Path:
    """The file under the store; a path that would leave it is refused."""
    if current_app.config.get("RECORDINGS_DIR") is None:
        abort(404)  # a web app without a recording store
    store = Path(current_app.config["RECORDINGS_DIR"]).resolve()
    path = (store / relative).resolve()
    if not path.is_relative_to(store) or not path.is_file():
        abort(404)
    return path


@bp.get(f"/recordings/<{ID}:recording_id>")
@login_required("agent", "supervisor", "admin")
def audio(recording_id: int):
    with current_app.config["SESSIONS"]() as session:
        try:
            recording, interaction = recording_for_download(session, recording_id)
        except NotFound:
            abort(404)
        if not may_hear(current_user(), interaction.agent_id if interaction else None):
            abort(403)
        relative, fmt, digest = recording.path, recording.format, recording.sha256
    path = stored_file(relative)
    log.info("recording %s (%s) fetched by %s", recording_id, relative, current_user().username)
    return send_file(path, mimetype=MIMETYPES.get(fmt, "application/octet-stream"),
                     conditional=True, etag=digest, max_age=0,
                     download_name=f"recording-{recording_id}.{fmt}")
