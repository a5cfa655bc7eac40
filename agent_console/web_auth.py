"""Sign-in for the web pages: sessions, roles, CSRF and the secret key.

The pages use a signed session cookie (HttpOnly, SameSite=Lax, Secure when
configured); every state-changing request must carry the session's CSRF token.
The REST API under /api/v1 takes a bearer token, or the session cookie only
together with the session's CSRF token in a header on every request
(``api_session_user``); the form-level CSRF check below leaves it alone.
"""
from __future__ import annotations

import functools
import hmac
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import (Flask, current_app, g, make_response, redirect, render_template, request,
                   session, url_for)

from flask.sessions import SecureCookieSessionInterface

from crm_core import users
from crm_core.models import ROLES, User

from .throttle import SignInThrottle

log = logging.getLogger("agent_console.auth")

SESSION_LIFETIME = timedelta(hours=12)
SECRET_KEY_FILE = "web-secret-key"
MIN_SECRET_KEY = 32  # characters
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1"
LOGIN_FAILED = "Unknown username or wrong password."  # one message: no user enumeration
TOO_MANY = "Too many failed sign-ins. Try again in {wait}."  # any username: no enumeration


def configure(app: Flask, secret_key: str | None, *, secure_cookies: bool) -> None:
    """Session settings and the CSRF check; refuses to run without a secret key."""
    if not isinstance(secret_key, str) or len(secret_key) < MIN_SECRET_KEY:
        raise ValueError(f"the web app needs a secret key of at least {MIN_SECRET_KEY} "
                         "characters (web.secret_key or CALLCENTER_WEB_SECRET_KEY; "
                         "`callcenter run` keeps a generated one in <data_dir>/web-secret-key)")
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="callcenter_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.session_interface = ApiLeavesSessionsAlone()
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token


def is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class ApiLeavesSessionsAlone(SecureCookieSessionInterface):
    """The API reads the console's session (with its CSRF token) but never
    refreshes or sets the cookie: its answers carry no Set-Cookie."""

    def should_set_cookie(self, app, session) -> bool:
        if is_api(request.path):
            return False
        return super().should_set_cookie(app, session)


# --- CSRF -------------------------------------------------------------------

def csrf_token() -> str:
    """The session's token; an anonymous session gets one too (login CSRF)."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_matches(given) -> bool:
    expected = session.get("csrf")
    return isinstance(expected, str) and bool(expected) and isinstance(given, str) \
        and hmac.compare_digest(expected.encode(), given.encode())


def _check_csrf():
    if request.method not in UNSAFE_METHODS or is_api(request.path):
        return None  # the API checks its own credentials (api_session_user)
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    if not _csrf_matches(given):
        return _plain("The form has expired or did not come from this site (missing or "
                      "wrong CSRF token). Reload the page and try again.", 400)
    return None


# --- who is signed in -------------------------------------------------------

def current_user() -> User | None:
    return g.get("web_user")


def _signed_in_user() -> User | None:
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    with current_app.config["SESSIONS"]() as db:
        user = db.get(User, user_id)
        if user is None or not user.active:
            return None  # deactivated since sign-in: the session ends here
        db.expunge(user)
        return user


def still_active(sessions, user_id: int) -> bool:
    """For long-lived requests (event streams): is the user still allowed in?"""
    with sessions() as db:
        user = db.get(User, user_id)
        return user is not None and user.active


def api_session_user() -> User | None:
    """The console's signed-in user for an API request: only when the request
    carries the session's CSRF token in the X-CSRF-Token header."""
    if not _csrf_matches(request.headers.get(CSRF_HEADER)):
        return None
    return _signed_in_user()


def login_required(*roles: str):
    """Page decorator: signed in (else to /login, or 401 for non-HTML) with one of
    ``roles`` (else 403); none given means any role."""
    allowed = tuple(roles) or ROLES
    unknown = set(allowed) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; known: {ROLES}")

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            user = _signed_in_user()
            if user is None:
                session.pop("user_id", None)
                session.pop("role", None)
                wants = request.accept_mimetypes.best_match(
                    ("text/html", "application/json"), default="text/html")
                if wants == "text/html":
                    return redirect(url_for("login", next=_local_path(request.full_path)))
                return _plain("Sign in first.", 401)
            if user.role not in allowed:
                return _plain("Your role may not open this page.", 403)
            g.web_user = user
            response = make_response(view(*args, **kwargs))
            response.headers["Cache-Control"] = "no-store"
            return response

        guarded.allowed_roles = allowed
        return guarded
    return decorate


# --- the sign-in pages ------------------------------------------------------

def _local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else "/" (no open redirect)."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target.rstrip("?") or "/"


def register_pages(app: Flask) -> None:
    app.config.setdefault("SIGN_IN_THROTTLE", SignInThrottle())

    @app.route("/login", methods=["GET", "POST"])
    def login():
        target = _local_path(request.values.get("next"))
        error, status, username, wait = None, 200, "", 0
        if request.method == "POST":  # the CSRF check has already passed
            username = request.form.get("username", "")[:64]
            password = request.form.get("password", "")
            throttle, address = current_app.config["SIGN_IN_THROTTLE"], request.remote_addr or ""
            wait = throttle.wait_for(username, address)
            identity = None
            if wait == 0:  # refused attempts never reach the password check
                with current_app.config["SESSIONS"]() as db:
                    user = users.authenticate(db, username, password)
                    identity = (user.id, user.role) if user is not None else None
            if wait:
                log.warning("sign-in refused for %r from %s: too many failures (%d s left)",
                            username, address, wait)
                error, status = TOO_MANY.format(wait=_duration(wait)), 429
            elif identity is None:
                throttle.failed(username, address)
                error, status = LOGIN_FAILED, 401
            else:
                throttle.succeeded(username)
                session.clear()  # nothing from before sign-in survives (fixation)
                session.permanent = True
                session["user_id"], session["role"] = identity
                session["csrf"] = secrets.token_urlsafe(32)
                return _no_store(redirect(target))
        page = render_template("login.html", error=error, next=target, username=username)
        response = make_response(page, status)
        if wait:
            response.headers["Retry-After"] = str(wait)
        return _no_store(response)

    @app.post("/logout")
    def logout():
        session.clear()
        return _no_store(redirect(url_for("login")))


def _duration(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{seconds} seconds" if seconds < 60 else \
        f"{minutes} minute{'s' if minutes > 1 else ''}"


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _plain(message: str, status: int):
    response = make_response(message + "\n", status)
    response.mimetype = "text/plain"
    return _no_store(response)


# --- the secret key ---------------------------------------------------------

def load_secret_key(configured: str, data_dir: str | Path) -> str:
    """``configured`` if set, else the key kept in ``<data_dir>/web-secret-key``,
    generated (mode 0600) the first time so sessions survive a restart."""
    if configured:
        return configured
    path = Path(data_dir) / SECRET_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)  # never readable by others, whoever made it
        key = path.read_text().strip()
        if len(key) < MIN_SECRET_KEY:
            raise ValueError(f"{path} holds no usable secret key: delete it and a new one "
                             "is generated (everyone signs in again)") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key
