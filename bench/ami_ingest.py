"""AMI ingest benchmark: how many AMI events per second the engine can take in.

Builds a realistic Asterisk 22 event stream (interleaved calls: Newchannel,
VarSet, Newstate, DialBegin/End, BridgeEnter/Leave, DTMF, Hold, Hangup, with
timestampevents=yes) and feeds it in 4 KiB chunks, no socket, to:

  (a) panoramisk's AMIProtocol with a no-op dispatch: parsing only;
  (b) our AmiSession protocol: parsing, typed events, dispatch to
      subscribers and the ChannelTracker and CallTracker updates.

Usage: .venv/bin/python bench/ami_ingest.py [--events N] [--profile]
The last line is `ami_ingest: <int> events/s` (path b).
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from panoramisk.ami_protocol import AMIProtocol  # noqa: E402

from cti.ami import AmiSession  # noqa: E402
from cti.calls import CallTracker  # noqa: E402
from cti.channels import ChannelTracker, attach_trackers  # noqa: E402
from cti.endpoints import EndpointTracker  # noqa: E402

CHUNK = 4096
BANNER = b"Asterisk Call Manager/10.0.0\r\n"
CONCURRENT_CALLS = 40
T0 = 1_760_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def tick(self) -> str:
        self.now += 0.000731
        return f"{self.now:.6f}"


def snapshot(prefix: str, chan: dict, state: int, desc: str) -> list[tuple[str, str]]:
    return [
        (f"{prefix}Channel", chan["name"]), (f"{prefix}ChannelState", str(state)),
        (f"{prefix}ChannelStateDesc", desc), (f"{prefix}CallerIDNum", chan["cid"]),
        (f"{prefix}CallerIDName", chan["cname"]), (f"{prefix}ConnectedLineNum", chan["conn"]),
        (f"{prefix}ConnectedLineName", "<unknown>"), (f"{prefix}Language", "en"),
        (f"{prefix}AccountCode", ""), (f"{prefix}Context", chan["context"]),
        (f"{prefix}Exten", chan["exten"]), (f"{prefix}Priority", "1"),
        (f"{prefix}Uniqueid", chan["uid"]), (f"{prefix}Linkedid", chan["linkedid"]),
    ]


def block(clock: Clock, name: str, headers: list[tuple[str, str]]) -> str:
    lines = [f"Event: {name}", "Privilege: call,all", f"Timestamp: {clock.tick()}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return "\r\n".join(lines) + "\r\n\r\n"


def one_call(n: int, clock: Clock, rng: random.Random) -> Iterator[str]:
    """The AMI events of one inbound call answered by an agent."""
    linked = f"{T0 + n:.0f}.{2 * n}"
    caller = {"name": f"PJSIP/carrier-{n:08x}", "cid": f"+1555{rng.randrange(10**7):07d}",
              "cname": "Ada Lovelace", "conn": "<unknown>", "context": "from-carrier",
              "exten": "8005550100", "uid": linked, "linkedid": linked}
    agent = {"name": f"PJSIP/agent{n % 50:03d}-{n:08x}", "cid": "2001", "cname": "Agent",
             "conn": caller["cid"], "context": "agents", "exten": "s",
             "uid": f"{T0 + n:.0f}.{2 * n + 1}", "linkedid": linked}
    bridge = [("BridgeUniqueid", f"b{n:032x}"), ("BridgeType", "basic"),
              ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", "<unknown>"),
              ("BridgeName", "<unknown>"), ("BridgeNumChannels", "2"),
              ("BridgeVideoSourceMode", "none")]
    yield block(clock, "Newchannel", snapshot("", caller, 0, "Down"))
    for var, val in (("__FROM_DID", "8005550100"), ("SIPCALLID", f"{n:x}@carrier"),
                     ("CHANNEL(language)", "en")):
        yield block(clock, "VarSet", snapshot("", caller, 4, "Ring") + [("Variable", var), ("Value", val)])
    yield block(clock, "Newstate", snapshot("", caller, 4, "Ring"))
    yield block(clock, "Newchannel", snapshot("", agent, 0, "Down"))
    yield block(clock, "DialBegin", snapshot("", caller, 4, "Ring") + snapshot("Dest", agent, 0, "Down")
                + [("DialString", agent["name"][6:])])
    yield block(clock, "Newstate", snapshot("", agent, 5, "Ringing"))
    yield block(clock, "Newstate", snapshot("", agent, 6, "Up"))
    yield block(clock, "DialEnd", snapshot("", caller, 4, "Ring") + snapshot("Dest", agent, 6, "Up")
                + [("DialStatus", "ANSWER")])
    yield block(clock, "Newstate", snapshot("", caller, 6, "Up"))
    for chan in (caller, agent):
        yield block(clock, "BridgeEnter", bridge + snapshot("", chan, 6, "Up"))
    for digit in rng.choice(("1", "42", "7#")):
        yield block(clock, "DTMFBegin", snapshot("", caller, 6, "Up") + [("Digit", digit), ("Direction", "Received")])
        yield block(clock, "DTMFEnd", snapshot("", caller, 6, "Up")
                    + [("Digit", digit), ("DurationMs", "120"), ("Direction", "Received")])
    yield block(clock, "Hold", snapshot("", caller, 6, "Up") + [("MusicClass", "default")])
    yield block(clock, "Unhold", snapshot("", caller, 6, "Up"))
    yield block(clock, "VarSet", snapshot("", agent, 6, "Up") + [("Variable", "BRIDGEPEER"), ("Value", caller["name"])])
    for chan in (agent, caller):
        yield block(clock, "BridgeLeave", bridge + snapshot("", chan, 6, "Up"))
        yield block(clock, "Hangup", snapshot("", chan, 6, "Up") + [("Cause", "16"), ("Cause-txt", "Normal Clearing")])


def build_stream(events: int, seed: int = 42) -> bytes:
    """`events` AMI events from interleaved calls, after the banner."""
    rng, clock = random.Random(seed), Clock()
    active = [one_call(n, clock, rng) for n in range(CONCURRENT_CALLS)]
    next_call, out = CONCURRENT_CALLS, []
    while len(out) < events:
        i = rng.randrange(len(active))
        try:
            out.append(next(active[i]))
        except StopIteration:
            active[i] = one_call(next_call, clock, rng)
            next_call += 1
    return BANNER + "".join(out).encode("utf-8")


def chunks_of(stream: bytes) -> list[bytes]:
    return [stream[i:i + CHUNK] for i in range(0, len(stream), CHUNK)]


def panoramisk_parse(chunks: list[bytes]) -> int:
    seen = [0]

    def dispatch(message: object) -> None:
        seen[0] += 1

    protocol = AMIProtocol()
    protocol.connection_made(SimpleNamespace(close=lambda: None, write=lambda data: None))
    protocol.factory = SimpleNamespace(dispatch=dispatch, save_stream=None,
                                       connection_lost=lambda exc: None)
    for chunk in chunks:
        protocol.data_received(chunk)
    return seen[0]


async def our_path(chunks: list[bytes], profile: cProfile.Profile | None = None) -> tuple[int, float]:
    session = AmiSession("bench.invalid", 5038, "bench", "unused")
    channels = ChannelTracker()
    await attach_trackers(session, channels, EndpointTracker())
    # The engine's call tracker too: the history's state update on the same events.
    changes = [0]
    calls = CallTracker(lambda call, what: changes.__setitem__(0, changes[0] + 1))
    for name in ("Newchannel", "Newstate", "DTMFEnd", "Hangup"):
        session.on(name, calls.apply)
    seen = [0]
    session.on("*", lambda event: seen.__setitem__(0, seen[0] + 1))
    protocol = session.create_protocol()
    if profile is not None:
        profile.enable()
    start = time.perf_counter()
    for chunk in chunks:
        protocol.data_received(chunk)
    elapsed = time.perf_counter() - start
    if profile is not None:
        profile.disable()
    assert len(channels) < CONCURRENT_CALLS * 2 + 1, "tracker leaked channels"
    assert changes[0] > 0 and len(calls.calls) <= CONCURRENT_CALLS, "call tracker missed calls"
    return seen[0], elapsed


def timed(run: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    count = run()
    return count, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true", help="cProfile our path")
    args = parser.parse_args()
    stream = build_stream(args.events)
    chunks = chunks_of(stream)
    print(f"stream: {args.events} events, {len(stream) / 1e6:.1f} MB, {len(chunks)} chunks of {CHUNK} B")

    base_count, base_time = timed(lambda: panoramisk_parse(chunks))
    profile = cProfile.Profile() if args.profile else None
    our_count, our_time = asyncio.run(our_path(chunks, profile))
    if base_count != args.events or our_count != args.events:
        raise SystemExit(f"event count mismatch: panoramisk {base_count}, ours {our_count}")
    base_rate, our_rate = base_count / base_time, our_count / our_time
    print(f"(a) panoramisk AMIProtocol, parse only:        {base_rate:12,.0f} events/s")
    print(f"(b) cti AmiSession: parse+typed+dispatch+track: {our_rate:12,.0f} events/s")
    print(f"ratio (b)/(a): {our_rate / base_rate:.2f}")
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    print(f"ami_ingest: {int(our_rate)} events/s")


if __name__ == "__main__":
    main()
