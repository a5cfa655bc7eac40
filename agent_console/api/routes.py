"""A resource's table of routes, each with the roles allowed to call it.

A resource module fills its table at import time with plain functions
``view(api, **url_args)``; ``register`` puts them on the blueprint behind the
auth guard, so a route cannot exist without its list of roles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask import Blueprint

from .auth import guarded
from .context import Api
from .schemas import MAX_ID

# A record id in a URL: anything else (0, negative, too large) is simply not found.
ID = f"int(min=1, max={MAX_ID})"


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    roles: tuple[str, ...]
    view: Callable


@dataclass
class Routes:
    resource: str
    table: list[Route] = field(default_factory=list)

    def route(self, method: str, rule: str, *, roles: tuple[str, ...]):
        def declare(view):
            self.table.append(Route(method, rule, tuple(roles), view))
            return view
        return declare

    def get(self, rule, *, roles):
        return self.route("GET", rule, roles=roles)

    def post(self, rule, *, roles):
        return self.route("POST", rule, roles=roles)

    def patch(self, rule, *, roles):
        return self.route("PATCH", rule, roles=roles)

    def delete(self, rule, *, roles):
        return self.route("DELETE", rule, roles=roles)

    def register(self, bp: Blueprint, api: Api) -> None:
        for r in self.table:
            bp.add_url_rule(r.rule, f"{self.resource}_{r.view.__name__}",
                            guarded(api, r.roles, r.view), methods=[r.method])
