"""Recording finalisation benchmark: recordings finished per second through the
recorder's own finishing path (recording.finish), on real WAV files and a real
database.

For --count recordings it lays out what MixMonitor leaves in the incoming
folder (stereo: the rx and tx legs, --seconds of 8 kHz 16-bit audio each, with
their headers closed as Asterisk closes them; mixed: one file), writes each
call's interaction row, then hands every recording to the service's finishing
step at once, as a burst of calls ending together would: wait for the closed
headers, check the length against Asterisk's start and end times, merge the legs
with sox into the store (written aside, fsync, sha256, linked into place), write
the ``recordings`` row and the interaction's link (SQLite, or --database-url),
remove Asterisk's files.  Timed from the first hand-over until the last row is
written; the files are prepared before the clock starts.

Usage: .venv/bin/python bench/recording_finalise.py [--count N] [--seconds S]
           [--channels stereo|mixed] [--database-url URL]
The last line is `recording_finalise: <n> recordings/s`.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from crm_core import db, interactions, migrate  # noqa: E402
from cti.bus import InProcessBus  # noqa: E402
from recording.live import RECORDING, LiveRecording  # noqa: E402
from recording.names import file_id, incoming_files  # noqa: E402
from recording.policy import Rule  # noqa: E402
from recording.service import RecordingService  # noqa: E402
from recording.store import Store  # noqa: E402


class NoAmi:
    """Finishing never talks to Asterisk."""

    def on(self, *args):
        raise AssertionError("not attached in the benchmark")


def template(folder: Path, seconds: float) -> tuple[Path, Path]:
    """One call's two legs, as Asterisk closes them (a talk: noise-like speech band)."""
    legs = []
    for name, colour in (("rx", "pinknoise"), ("tx", "brownnoise")):
        path = folder / f"template-{name}.wav"
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "synth",
                        str(seconds), colour, "vol", "0.3"], check=True)
        legs.append(path)
    return legs[0], legs[1]


def lay_out(service: RecordingService, sessions, count: int, seconds: float, stereo: bool,
            legs) -> list[LiveRecording]:
    started = time.time() - seconds - 1
    recs = []
    with sessions.begin() as s:
        for n in range(count):
            linkedid = f"bench-{os.getpid()}-{n}.0"
            interactions.save_call(s, interactions.CallFacts(
                linkedid=linkedid, direction="inbound",
                started_at=datetime.fromtimestamp(started, timezone.utc),
                caller_number="+15551230001", status="completed",
                ended_at=datetime.fromtimestamp(started + seconds, timezone.utc)))
            fid = file_id(linkedid, 1)
            files = incoming_files(service.incoming[0], service.incoming[1], fid, stereo)
            for source, target in zip(legs, files.host):
                shutil.copyfile(source, target)
            rec = LiveRecording(linkedid, fid, linkedid, False, files,
                                Rule("all", channels="stereo" if stereo else "mixed"), "support",
                                "inbound", "policy", requested_at=started, phase=RECORDING,
                                started_at=started, ended_at=started + seconds,
                                agents=["alice"])
            recs.append(rec)
    return recs


async def finish_all(service: RecordingService, recs: list[LiveRecording]) -> float:
    begin = time.perf_counter()
    for rec in recs:
        service._spawn(service._finish(rec))
    await service.idle(timeout=3600)
    return time.perf_counter() - begin


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each recording")
    parser.add_argument("--channels", choices=("stereo", "mixed"), default="stereo")
    parser.add_argument("--database-url", default="",
                        help="default: SQLite in a temporary folder; PostgreSQL: in a schema "
                             "of its own, dropped after")
    args = parser.parse_args()
    stereo = args.channels == "stereo"
    work = Path(tempfile.mkdtemp(prefix="recording-bench-"))
    schema = None
    try:
        if args.database_url.startswith("postgresql"):
            schema = f"bench_recording_{os.getpid()}"  # its own, dropped after
            with db.make_engine(args.database_url).begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            engine = db.make_engine(args.database_url,
                                    connect_args={"options": f"-csearch_path={schema}"})
        else:
            engine = db.make_engine(args.database_url or db.sqlite_url(work / "crm.db"))
        migrate.upgrade(engine)
        sessions = db.session_factory(engine)
        (work / "incoming").mkdir()
        service = RecordingService(NoAmi(), InProcessBus(), sessions, policy=None,
                                   store=Store(work / "store"),
                                   incoming=(work / "incoming", "/var/spool/callcenter/incoming"))
        legs = template(work, args.seconds)[: 2 if stereo else 1]
        recs = lay_out(service, sessions, args.count, args.seconds, stereo, legs)
        elapsed = asyncio.run(finish_all(service, recs))
        service._io.shutdown()
        service._db.shutdown()
        if service.published != args.count:
            print(f"only {service.published} of {args.count} recordings were published "
                  f"({service.failed} failed)", file=sys.stderr)
            return 1
        audio = args.count * args.seconds
        rate = args.count / elapsed
        print(f"backend: {engine.dialect.name}; {args.count} {args.channels} recordings of "
              f"{args.seconds:g} s ({audio / 3600:.1f} h of calls); load average "
              f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"finished in {elapsed:.2f} s: {rate:.1f} recordings/s, "
              f"{audio / elapsed / 60:.0f} minutes of calls per second, "
              f"{elapsed / args.count * 1000:.1f} ms per recording")
        print(f"recording_finalise: {rate:.1f} recordings/s")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if schema is not None:
            engine.dispose()
            with db.make_engine(args.database_url).begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    sys.exit(main())
