"""`callcenter` subcommands for the CRM's administration: users and API tokens,
agents' skills, the dispositions catalogue, the ticket escalation job, and the
check of the IVR menu and queue files."""
from __future__ import annotations

import getpass
import secrets
import sys

DEFAULT_QUEUES = "queues/demo.yaml"  # the queue file, unless acd.queues or --queues says


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
    skills = sub.add_parser("agent-skills", help="show or set an agent's skills "
                            "(replaces them all: agent-skills alice sales=8 support=5)")
    skills.add_argument("username")
    skills.add_argument("skills", nargs="*", metavar="skill=level",
                        help="skill name and proficiency 1-10; none given: show")
    skills.add_argument("--show", action="store_true", help="show the skills (the default)")
    skills.add_argument("--clear", action="store_true", help="remove all the agent's skills")
    check = sub.add_parser("menus-check", help="validate the IVR menu files (ivr.menus_dir), "
                           "the queue file and the recording policy with its mailboxes, and "
                           "that every queue and mailbox a menu names exists")
    check.add_argument("--queues", default=None,
                       help="the queue file (default: acd.queues_file)")
    return {"user-add": _user_add, "token": _token, "dispositions-seed": _seed,
            "tickets-escalate": _escalate, "menus-check": _menus_check,
            "agent-skills": _agent_skills}


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


def _parse_skills(pairs: list[str]) -> tuple[dict, list[str]]:
    skills, bad = {}, []
    for pair in pairs:
        name, sep, level = pair.partition("=")
        if not sep or not name or not level.strip().isdigit():
            bad.append(pair)
        else:
            skills[name.strip()] = int(level)
    return skills, bad


def _agent_skills(settings, args) -> int:
    from crm_core import agent_skills
    from crm_core.errors import CrmError
    if args.skills and (args.show or args.clear):
        print("callcenter: give skill=level pairs, or --show, or --clear", file=sys.stderr)
        return 1
    skills, bad = _parse_skills(args.skills)
    if bad:
        print(f"callcenter: not skill=level (level 1-10): {', '.join(bad)}", file=sys.stderr)
        return 1
    try:
        with _sessions(settings).begin() as session:
            if args.skills or args.clear:
                agent_skills.set_skills(session, args.username, skills)
            current = agent_skills.skills_of(session, args.username)
    except CrmError as exc:
        print(f"callcenter: {exc.message}", file=sys.stderr)
        return 1
    shown = ", ".join(f"{k}={v}" for k, v in current.items()) or "no skills"
    print(f"{args.username}: {shown}")
    return 0


def _menu_queues(registry) -> dict[str, list[str]]:
    """Queue name -> where the menus name it ("menus/demo.yaml node sales")."""
    from ivr.model import Queue
    used: dict[str, list[str]] = {}
    for name, flow in registry.flows.items():
        for node_name, node in flow.nodes.items():
            if isinstance(node, Queue):
                used.setdefault(node.queue, []).append(f"{flow.source or name} node {node_name}")
    return used


def _queues_path(settings, args) -> str | None:
    """--queues, else the configured acd.queues_file (empty: the ACD is off, None),
    else DEFAULT_QUEUES."""
    if args.queues:
        return args.queues
    acd = getattr(settings, "acd", None)
    if acd is None or not hasattr(acd, "queues_file"):
        return DEFAULT_QUEUES
    return acd.queues_file or None


def _menus_check(settings, args) -> int:
    from acd.config import QueueConfigError, check_ivr_queues, load_queues
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
    path = _queues_path(settings, args)
    if path is None:
        print("acd.queues_file is empty (the ACD is off): queues not checked")
        return 0
    try:
        queues = load_queues(path)
    except QueueConfigError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    print(f"{path}: {len(queues)} queues ({', '.join(sorted(queues))})")
    problems = check_ivr_queues(queues, _menu_queues(registry))
    for problem in problems:
        print(f"callcenter: {problem}", file=sys.stderr)
    return 1 if problems or not _recording_check(settings, registry, queues) else 0


def _recording_check(settings, registry, queues) -> bool:
    """The recording policy and the voicemail mailboxes (recording.policy_file):
    valid, every mailbox the menus and queues name exists, every queue they name
    is one of the ACD's."""
    from . import recording_setup, voicemail_setup
    from .settings import ConfigError
    try:
        mailboxes = voicemail_setup.mailboxes_of(settings)
        voicemail_setup.check_mailboxes(mailboxes, registry, queues,
                                        settings.recording.policy_file)
        policy = recording_setup.load(settings, list(queues))
    except ConfigError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return False
    if policy is not None:
        print(f"{settings.recording.policy_file}: recording policy for "
              f"{len(policy.queues)} queue(s), {len(mailboxes)} mailbox(es)")
    return True
