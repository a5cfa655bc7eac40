"""`callcenter recordings-retention [--dry-run]`: delete the recordings older
than their policy keeps them (also run hourly by the engine); and
`callcenter recordings-compress`: turn published WAVs into the configured
smaller format now (the engine does it in the background)."""
from __future__ import annotations

from typing import Callable

from .settings import ConfigError


def add_commands(subparsers) -> dict[str, Callable]:
    retention = subparsers.add_parser(
        "recordings-retention", help="delete recordings older than their retention policy")
    retention.add_argument("--dry-run", action="store_true",
                           help="only list what would be deleted")
    compress = subparsers.add_parser(
        "recordings-compress", help="compress published WAV recordings now")
    compress.add_argument("--older-than", type=float, default=0.0, metavar="SECONDS",
                          help="only recordings at least this old (default: all)")
    return {"recordings-retention": retention_command, "recordings-compress": compress_command}


def _parts(settings):
    from recording.store import Store
    from . import recording_setup
    from .platform import open_database
    policy = recording_setup.load(settings)
    if policy is None:
        raise ConfigError("recording.policy_file is empty: recording is off, there is nothing "
                          "to do")
    return open_database(settings), Store(recording_setup.store_dir(settings)), policy


def retention_command(settings, args) -> int:
    from recording.retention import run_retention
    sessions, store, policy = _parts(settings)
    done = run_retention(sessions, store, policy, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for item in done:
        print(f"{verb} {item.path} (recording {item.recording_id}, interaction "
              f"{item.interaction_id}, queue {item.queue or '-'}, {item.age_days:g} days old, "
              f"kept {item.kept_days})")
    outcome = "due (dry run)" if args.dry_run else "deleted"
    print(f"recordings_retention: {len(done)} recordings {outcome}")
    return 0


def compress_command(settings, args) -> int:
    from recording.compress import compress_due
    fmt = settings.recording.compress_format
    if fmt == "none":
        raise ConfigError("recording.compress_format is none: set opus or mp3 to compress")
    if args.older_than < 0:
        raise ConfigError("--older-than must be 0 or more seconds")
    sessions, store, _ = _parts(settings)
    done = compress_due(sessions, store, fmt, after=args.older_than, limit=10_000)
    for item in done:
        print(f"compressed {item.old_path} -> {item.published.path} ({item.published.size} bytes)")
    print(f"recordings_compressed: {len(done)} recordings")
    return 0
