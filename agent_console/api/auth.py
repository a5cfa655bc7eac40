"""Who is calling, and may they? Bearer tokens or the console's session, and roles.

Every route is declared with the roles allowed to call it (see ``routes``);
the guard below authenticates first (401) and then checks the role (403).

Two credentials are accepted:
- a bearer token (scripts, integrations): a browser never attaches one on its
  own, so cross-site request forgery does not apply;
- the web console's session cookie, but only together with the session's CSRF
  token in the X-CSRF-Token header, on every request (reads too). A custom
  header cannot be sent cross-site without a CORS preflight, which this app
  never grants, so the cookie alone is never a credential here.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from flask import g, request

from crm_core import users
from crm_core.errors import PermissionDenied
from crm_core.models import ROLES

from .. import web_auth
from .context import Api
from .errors import Unauthenticated

EVERYONE = ROLES  # agent, supervisor, admin
SUPERVISORS = ("supervisor", "admin")
ADMINS = ("admin",)
_BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*) *", re.IGNORECASE)
MAX_TOKEN = 256


@dataclass(frozen=True)
class Caller:
    id: int
    username: str
    role: str


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    if not header:
        raise Unauthenticated("send an 'Authorization: Bearer <token>' header (or, from the "
                              "console, the session cookie with its X-CSRF-Token)",
                              token_given=False)
    match = _BEARER.fullmatch(header)
    if not match or len(match.group(1)) > MAX_TOKEN:
        raise Unauthenticated("the Authorization header is not 'Bearer <token>'", token_given=True)
    return match.group(1)


def authenticate(api: Api) -> Caller:
    if not request.headers.get("Authorization"):
        console = web_auth.api_session_user()
        if console is not None:
            return Caller(id=console.id, username=console.username, role=console.role)
    token = bearer_token()
    with api.reading() as session:
        user = users.user_for_token(session, token)
        if user is None or not getattr(user, "active", True):
            raise Unauthenticated("the token is unknown, revoked or its user is inactive",
                                  token_given=True)
        return Caller(id=user.id, username=user.username, role=user.role)


def current_caller() -> Caller:
    return g.api_caller


def guarded(api: Api, roles: tuple[str, ...], view):
    """``view(api, **url_args)`` behind the token check and the role check."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"a route needs roles out of {ROLES}, got {roles}")

    @functools.wraps(view)
    def guarded_view(**url_args):
        caller = authenticate(api)
        if caller.role not in roles:
            raise PermissionDenied(f"a {caller.role} may not do this",
                                   allowed_roles=list(roles))
        g.api_caller = caller
        return view(api, **url_args)

    guarded_view.allowed_roles = tuple(roles)
    return guarded_view
