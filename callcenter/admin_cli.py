"""`callcenter` subcommands for the CRM's administration: users and API tokens,
the dispositions catalogue, and the ticket escalation job."""
from __future__ import annotations

import getpass
import secrets
import sys


def add_commands(sub) -> dict:
    user = sub.add_parser("user-add", help="create a user (agent, supervisor or admin)")
    user.add_argument("username")
    user.add_argument("--role", required=True, choices=("agent", "supervisor", "admin"))
    user.add_argument("--name", default="", help="display name")
    user.add_argument("--team", default=None)
    user.add_argument("--password-stdin", action="store_true",
                      help="read the password from standard input (default: ask, or generate)")
    token = sub.add_parser("token", help="issue a REST API token for a user")
    token.add_argument("username")
    token.add_argument("--label", default="cli")
    sub.add_parser("dispositions-seed", help="add the default dispositions (idempotent)")
    sub.add_parser("tickets-escalate", help="escalate open tickets past their SLA (run from cron)")
    sub.add_parser("menus-check", help="validate the IVR menu files (ivr.menus_dir)")
    return {"user-add": _user_add, "token": _token, "dispositions-seed": _seed,
            "tickets-escalate": _escalate, "menus-check": _menus_check}


def _sessions(settings):
    from .platform import open_database
    return open_database(settings)


def _password(args) -> tuple[str, bool]:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if sys.stdin.isatty():
        return getpass.getpass(f"password for {args.username}: "), False
    return secrets.token_urlsafe(12), True  # non-interactive: generate and show once


def _user_add(settings, args) -> int:
    from crm_core import users
    from crm_core.errors import CrmError
    password, generated = _password(args)
    try:
        with _sessions(settings).begin() as session:
            user = users.create_user(session, args.username, password, args.role,
                                     display_name=args.name, team=args.team)
            token = users.issue_token(session, user.id, "cli")
    except CrmError as exc:
        print(f"callcenter: {exc.message}", file=sys.stderr)
        return 1
    print(f"user {args.username} ({args.role}) created")
    if generated:
        print(f"password: {password}")
    print(f"API token (shown once): {token}")
    return 0


def _token(settings, args) -> int:
    from sqlalchemy import select
    from crm_core import users
    from crm_core.models import User
    with _sessions(settings).begin() as session:
        user = session.scalar(select(User).where(User.username == args.username))
        if user is None or not user.active:
            print(f"callcenter: no active user {args.username!r}", file=sys.stderr)
            return 1
        print(f"API token (shown once): {users.issue_token(session, user.id, args.label)}")
    return 0


def _seed(settings, args) -> int:
    from crm_core import dispositions
    with _sessions(settings).begin() as session:
        added = dispositions.seed_defaults(session)
    print(f"dispositions: {added} added")
    return 0


def _escalate(settings, args) -> int:
    from crm_core import tickets
    with _sessions(settings).begin() as session:
        escalated = tickets.escalate_overdue(session)
        for t in escalated:
            print(f"ticket {t.id} escalated to level {t.escalation_level} ({t.priority})")
    print(f"tickets: {len(escalated)} escalated")
    return 0


def _menus_check(settings, args) -> int:
    from ivr.loader import MenuError
    from . import ivr_setup
    from asterisk_conf import sandbox
    root = sandbox.default_root() if settings.asterisk.mode == "sandbox" else None
    prompts = ivr_setup.build_prompts(settings, root if root and root.is_dir() else None)
    try:
        registry = ivr_setup.load_menus(settings, prompts)
    except MenuError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    for name, flow in sorted(registry.flows.items()):
        print(f"{flow.source or name}: flow {name}, {len(flow.nodes)} nodes, DIDs {', '.join(flow.dids)}")
    return 0
