"""The web side: sign-in (roles, sessions, CSRF), the agent console with its
screen pops, the supervisors' wallboard, the CRM pages, the call history, the
REST API under /api/v1 (bearer tokens, or the console's session with its CSRF
token) and a health check.

Built by ``create_app`` from what the composition root hands it: the CRM's
sessions, and for the live parts the ``Desk`` (commands into the engine) and
the push ``Hub`` fed from the engine's bus. Without them (tests of the CRM
pages, a web-only process) the live parts say the engine is not running.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, redirect, render_template, url_for
from sqlalchemy.orm import sessionmaker

from crm_core import interactions

from . import console, crm_pages, events, recordings, wallboard, web_auth
from .api import create_api
from .desk import Desk
from .push import Hub
from .web_auth import current_user, login_required

EVERYONE = ("agent", "supervisor", "admin")
SUPERVISING = ("supervisor", "admin")
# The header's links: (endpoint, label, roles that see it).
NAV = (("console.agent", "Console", EVERYONE),
       ("wallboard.board", "Wallboard", SUPERVISING),
       ("crm.search", "Customers", EVERYONE),
       ("crm.tickets", "Tickets", EVERYONE),
       ("crm.transcript_search", "Transcripts", EVERYONE),
       ("history", "Call history", EVERYONE))
MAX_BODY = 1024 * 1024  # bytes of a request body; more is a 413
DEFAULT_NOT_READY = ("break", "lunch", "meeting", "training", "technical")


def create_app(sessions: sessionmaker, *, region: str = "US", secret_key: str | None = None,
               secure_cookies: bool = False, desk: Desk | None = None, hub: Hub | None = None,
               feeds=None, not_ready_reasons: tuple[str, ...] = DEFAULT_NOT_READY,
               recordings_dir: str | Path | None = None) -> Flask:
    """The web app; ``region`` places phone numbers written without a country code,
    ``secret_key`` (required, 32+ characters) signs the session cookie, which is
    sent over HTTPS only when ``secure_cookies``; ``desk``, ``hub`` and ``feeds``
    (agent_console.feeds.Feeds) link it to a running engine; ``recordings_dir``
    is the recording store (settings.recording.store_dir)."""
    app = Flask(__name__)
    web_auth.configure(app, secret_key, secure_cookies=secure_cookies)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, SESSIONS=sessions, REGION=region,
                      DESK=desk or Desk(None, None), HUB=hub or Hub(), FEEDS=feeds,
                      NOT_READY_REASONS=tuple(not_ready_reasons),
                      RECORDINGS_DIR=Path(recordings_dir) if recordings_dir else None)
    app.register_blueprint(create_api(sessions, region=region))
    web_auth.register_pages(app)
    for blueprint in (console.bp, wallboard.bp, crm_pages.bp, events.bp, recordings.bp):
        app.register_blueprint(blueprint)

    @app.get("/history")
    @login_required(*EVERYONE)
    def history():
        with sessions() as session:
            rows = interactions.recent_with_customers(session, limit=100)
        return render_template("history.html", rows=rows, user=current_user())

    @app.get("/")
    @login_required(*EVERYONE)
    def home():
        target = "wallboard.board" if current_user().role in SUPERVISING else "console.agent"
        return redirect(url_for(target))

    @app.get("/healthz")
    def health():
        return {"status": "ok"}

    @app.context_processor
    def navigation():
        return {"nav_links": [link for link in NAV if link[0] in app.view_functions]}

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'self'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    return app
