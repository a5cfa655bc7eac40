"""The `callcenter` command: everything a user runs."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from asterisk_conf.ports import PortInUse
from asterisk_conf.sandbox import SandboxError
from asterisk_conf.instance import AsteriskError

from . import acd_cli, admin_cli, crm_cli, recording_cli
from . import settings as config

# Errors that are the user's to fix: print the message, not a traceback.
USER_ERRORS = (config.ConfigError, SandboxError, PortInUse, AsteriskError)


def _user_errors():
    from cti.ami_errors import AmiAuthError, AmiConnectError
    from cti.fastagi import AgiServerError
    from ivr.loader import MenuError
    from ivr.prompts import PromptError
    from ivr.speech import SpeechError
    return USER_ERRORS + (AmiAuthError, AmiConnectError, AgiServerError, MenuError, PromptError,
                          SpeechError)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="callcenter", description=__doc__)
    parser.add_argument("--config", help="TOML configuration file (default: none, built-in defaults)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run Asterisk (sandbox), the engine and the web")
    run.add_argument("--no-demo", action="store_true", help="do not place the demo calls")
    sub.add_parser("sandbox", help="build the Asterisk sandbox (idempotent)")
    render = sub.add_parser("render-config", help="write the pbx configuration for your own Asterisk")
    render.add_argument("--out", required=True, help="folder to write the .conf files into")
    hist = sub.add_parser("history", help="print the newest interactions")
    hist.add_argument("--limit", type=int, default=20)
    sub.add_parser("migrate", help="bring the database schema up to date")
    commands = dict(COMMANDS)
    commands.update(admin_cli.add_commands(sub))
    commands.update(crm_cli.add_commands(sub))
    commands.update(acd_cli.add_commands(sub))
    commands.update(recording_cli.add_commands(sub))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = config.load(args.config)
        return commands[args.command](settings, args) or 0
    except _user_errors() as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(settings, args) -> int:
    from .platform import run
    asyncio.run(run(settings, demo=not args.no_demo))
    return 0


def _sandbox(settings, args) -> int:
    from asterisk_conf import sandbox
    root = sandbox.ensure(Path(settings.asterisk.sandbox_root) if settings.asterisk.sandbox_root
                          else None)
    print(f"sandbox ready: {root} ({sandbox.asterisk_version(root)})")
    return 0


def _render(settings, args) -> int:
    from asterisk_conf.render import InstanceSpec, Peer, render_external
    a = settings.asterisk
    spec = InstanceSpec(name="pbx", role="pbx", sip_port=a.sip_port, ami_port=a.ami_port,
                        rtp_start=a.rtp_start, rtp_end=a.rtp_start + 199, bind_address=a.ami_host,
                        ami_username=a.ami_username, ami_secret=a.ami_secret or "CHANGE-ME",
                        extra={"carrier": Peer("CARRIER-HOST", 5060, "carrier", "CHANGE-ME"),
                               "phones": [], "agi_host": settings.agi.host,
                               "agi_port": settings.agi.port})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render_external(spec).items():
        (out / name).write_text(text)
        print(out / name)
    return 0


def _history(settings, args) -> int:
    from crm_core import interactions
    from .platform import open_database
    with open_database(settings)() as session:
        for r in interactions.recent(session, limit=args.limit):
            print(f"{r.started_at:%Y-%m-%d %H:%M:%S} {r.caller_number:>16} -> {r.dialled_number:<12} "
                  f"keys={r.keys_pressed!r:6} cause={r.hangup_cause} {r.status} {r.linkedid}")
    return 0


def _migrate(settings, args) -> int:
    from .platform import open_database
    open_database(settings)
    print(f"database up to date: {settings.database_url}")
    return 0


COMMANDS = {"run": _run, "sandbox": _sandbox, "render-config": _render, "history": _history,
            "migrate": _migrate}

if __name__ == "__main__":
    sys.exit(main())
