"""Users of the platform and their API tokens (administrators only). The
first administrator is made from the command line, not through the API."""
from __future__ import annotations

from crm_core import users
from crm_core.models import ROLES

from .auth import ADMINS, current_caller
from .context import Api
from .replies import reply
from .routes import ID, Routes
from .schemas import Form, json_body

routes = Routes("users")
PUBLIC_FIELDS = ("id", "username", "display_name", "role", "team_id", "active", "created_at")


def as_dict(user) -> dict:
    return {name: getattr(user, name) for name in PUBLIC_FIELDS}  # never the password hash


@routes.post("/users", roles=ADMINS)
def create(api: Api):
    form = Form(json_body(), ("username", "password", "role", "display_name", "team"))
    username = form.text("username", limit=64, required=True)
    password = form.text("password", limit=256, required=True)
    role = form.text("role", limit=16, required=True)
    if role and role not in ROLES:
        form.errors["role"] = f"must be one of {', '.join(ROLES)}"
    display_name = form.text("display_name", limit=128)
    team = form.text("team", limit=80, default=None)
    form.done()
    with api.transaction() as s:
        user = users.create_user(s, username, password, role, display_name=display_name,
                                 team=team, actor_id=current_caller().id)
        s.flush()
        data = as_dict(user)
    return reply(data, 201)


@routes.post(f"/users/<{ID}:user_id>/tokens", roles=ADMINS)
def issue_token(api: Api, user_id: int):
    form = Form(json_body(), ("label",))
    label = form.text("label", limit=80)
    form.done()
    with api.transaction() as s:
        token = users.issue_token(s, user_id, label, actor_id=current_caller().id)
    # The token is shown this once; only its hash is stored.
    return reply({"user_id": user_id, "label": label, "token": token}, 201)
