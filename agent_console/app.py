"""The web side: the call history page behind sign-in (roles, sessions, CSRF),
the REST API under /api/v1 (bearer tokens) and a health check; the agent
console and wallboard (issue 6) grow here."""
from __future__ import annotations

from flask import Flask, render_template
from sqlalchemy.orm import sessionmaker

from crm_core import interactions

from . import web_auth
from .api import create_api
from .web_auth import current_user, login_required


def create_app(sessions: sessionmaker, *, region: str = "US", secret_key: str | None = None,
               secure_cookies: bool = False) -> Flask:
    """The web app; ``region`` places phone numbers written without a country code,
    ``secret_key`` (required, 32+ characters) signs the session cookie, which is
    sent over HTTPS only when ``secure_cookies``."""
    app = Flask(__name__)
    web_auth.configure(app, secret_key, secure_cookies=secure_cookies)
    app.config["SESSIONS"] = sessions
    app.register_blueprint(create_api(sessions, region=region))
    web_auth.register_pages(app)

    @app.get("/")
    @login_required("agent", "supervisor", "admin")
    def history():
        with sessions() as session:
            rows = interactions.recent_with_customers(session, limit=100)
        return render_template("history.html", rows=rows, user=current_user())

    @app.get("/healthz")
    def health():
        return {"status": "ok"}

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = "default-src 'self'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    return app
