"""The web side. For now a read-only page of the call history on loopback;
the agent console and wallboard (issue 6) grow here with sign-in and roles."""
from __future__ import annotations

from flask import Flask, render_template
from sqlalchemy.orm import sessionmaker

from crm_core import interactions

from .api import create_api


def create_app(sessions: sessionmaker, *, region: str = "US") -> Flask:
    """The web app; ``region`` places phone numbers written without a country code."""
    app = Flask(__name__)
    app.config["SESSIONS"] = sessions
    app.register_blueprint(create_api(sessions, region=region))

    @app.get("/")
    def history():
        with sessions() as session:
            rows = interactions.recent_with_customers(session, limit=100)
        return render_template("history.html", rows=rows)

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
