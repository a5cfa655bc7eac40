"""Fake Asterisk channels for bench/ivr_load.py: the load generator's side.

Runs in its own process (multiprocessing, "spawn"), so it shares nothing with
the platform but the loopback TCP sockets. Each of N channels places calls one
after another, each on a new FastAGI connection, speaking AGI the way
Asterisk's res_agi does: the ``agi_*`` environment and a blank line, then one
answer line per command the platform sends. Prompts "play" for a simulated
time (an asyncio sleep, not platform time); keys come from a scripted caller
path (which keys at which prompt, the account number, the queue the caller
must end in).

Platform time per AGI command: from writing the answer to one command until
the next command line (or the close after the last one) has been read, taken
with time.perf_counter(); the simulated playback is before the answer is
written, so it is never inside.

This module imports nothing of the platform: the generator is a stranger.
"""
from __future__ import annotations

import asyncio
import pickle
import random
import time
from array import array
from dataclasses import dataclass, field

STALL_S = 15.0  # no next command for this long: the call is stuck (an error)
MAX_ERROR_SAMPLES = 12


@dataclass
class Script:
    """One caller's path. ``inputs[prompt]`` lists what the caller types at the
    successive plays of that prompt ('' = nothing; '12345#' = digits then #)."""
    kind: str  # label for the report: vip, ticket, known/sales, unknown/support ...
    callerid: str
    callername: str
    did: str
    inputs: dict[str, list[str]]
    queue: str  # the queue (CC_QUEUE) the call must be handed to
    handoff_context: str = "ivr-queue"


@dataclass
class GenConfig:
    host: str
    port: int
    channels: int
    warmup_s: float
    duration_s: float
    playback_ms: tuple[float, float]
    think_ms: tuple[float, float]  # caller's pause before a key after the prompt ended
    barge_in: float  # share of menu keys typed over the prompt (STREAM FILE escape)
    scripts_blob: bytes  # pickle of list[Script]: one object in the platform's heap, not 40,000
    seed: int = 1
    uniqueid_base: int = 1_763_900_000
    channel_tag: str = "carrier"


@dataclass
class GenResult:
    samples: dict[str, array] = field(default_factory=dict)  # label -> ms (measured window)
    first_cmd_ms: array = field(default_factory=lambda: array("d"))  # headers -> 1st command
    calls_started: int = 0
    calls_completed: int = 0  # reached the scripted queue hand-off, socket closed by platform
    calls_in_window: int = 0  # completed calls that ended inside the measured window
    commands: int = 0  # every command answered (warm-up included)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    completed_linkedids: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)  # completed calls by script kind
    window_s: float = 0.0
    generator_cpu_s: float = 0.0
    lag_ms: array = field(default_factory=lambda: array("d"))  # the generator's own loop lag


class ProtocolError(Exception):
    pass


def split_args(line: str) -> list[str]:
    """An AGI command line split as Asterisk's agi.c parse_args() does: blanks
    separate, double quotes group, a backslash escapes the next character."""
    out: list[str] = []
    cur: list[str] = []
    quoted = escaped = had = False
    for ch in line:
        if escaped:
            cur.append(ch)
            escaped = False
            had = True
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
            had = True
        elif ch in " \t" and not quoted:
            if had or cur:
                out.append("".join(cur))
            cur, had = [], False
        else:
            cur.append(ch)
            had = True
    if quoted or escaped:
        raise ProtocolError(f"unbalanced quoting in {line[:120]!r}")
    if had or cur:
        out.append("".join(cur))
    return out


class Channel:
    """One call's Asterisk side: answers commands from its script."""

    def __init__(self, gen: "Generator", script: Script, uniqueid: str, chan_no: int):
        self.gen = gen
        self.script = script
        self.uniqueid = uniqueid
        self.channel = f"PJSIP/{gen.cfg.channel_tag}-{chan_no:08x}"
        self.inputs = {k: list(v) for k, v in script.inputs.items()}
        self.pending = ""  # keys typed but not yet read by the platform
        self.variables: dict[str, str] = {}
        self.context = "from-carrier"
        self.extension = script.did
        self.priority = "1"
        self.answered = False
        self.rng = gen.rng

    def environment(self) -> bytes:
        s = self.script
        env = {
            "agi_network": "yes", "agi_network_script": "ivr",
            "agi_request": f"agi://127.0.0.1:{self.gen.cfg.port}/ivr",
            "agi_channel": self.channel, "agi_language": "en", "agi_type": "PJSIP",
            "agi_uniqueid": self.uniqueid, "agi_version": "22.5.2",
            "agi_callerid": s.callerid, "agi_calleridname": s.callername or "unknown",
            "agi_callingpres": "0", "agi_callingani2": "0", "agi_callington": "0",
            "agi_callingtns": "0", "agi_dnid": s.did, "agi_rdnis": "unknown",
            "agi_context": "from-carrier", "agi_extension": s.did, "agi_priority": "1",
            "agi_enhanced": "0.0", "agi_accountcode": "",
            "agi_threadid": str(140_000_000 + id(self) % 10_000_000),
        }
        return "".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n"

    # -- answers -------------------------------------------------------------
    def _playback(self) -> float:
        lo, hi = self.gen.cfg.playback_ms
        return self.rng.uniform(lo, hi) / 1000.0

    def _think(self) -> float:
        lo, hi = self.gen.cfg.think_ms
        return self.rng.uniform(lo, hi) / 1000.0

    def _take_input(self, prompt: str) -> str:
        """What the caller types at this play of `prompt` ('' for nothing). A
        prompt the script does not list, or played more often than it lists,
        means the platform took another path than the caller's: an error."""
        queue = self.inputs.get(prompt)
        if queue is None:
            raise ProtocolError(f"prompt {prompt!r} is not on the path of a {self.script.kind}"
                                " caller")
        if not queue:
            raise ProtocolError(f"prompt {prompt!r} played more often than the path of a "
                                f"{self.script.kind} caller expects")
        return queue.pop(0)

    def answer(self, line: str) -> tuple[str, float]:
        """(answer line, seconds to wait before writing it)."""
        args = split_args(line)
        if not args:
            raise ProtocolError("empty command line")
        verb = args[0].upper()
        if verb == "STREAM" and len(args) >= 3 and args[1].upper() == "FILE":
            return self._stream(args[2], args[3] if len(args) > 3 else "")
        if verb == "CONTROL" and len(args) >= 4 and args[1].upper() == "STREAM":
            return self._stream(args[3], args[4] if len(args) > 4 else "")
        if verb == "GET" and len(args) >= 3 and args[1].upper() == "DATA":
            return self._get_data(args[2], args[3:])
        words = [a.upper() for a in args[:3]]
        if words == ["GET", "FULL", "VARIABLE"] and len(args) >= 4:
            return self._full_variable(args[3]), 0.0
        if verb == "GET" and len(args) >= 3 and args[1].upper() == "VARIABLE":
            value = self.variables.get(args[2])
            return (f"200 result=1 ({value})" if value is not None else "200 result=0"), 0.0
        if words == ["WAIT", "FOR", "DIGIT"] and len(args) >= 4:
            return self._wait_for_digit(args[3])
        if verb == "SET" and len(args) >= 3:
            what = args[1].upper()
            if what == "VARIABLE" and len(args) >= 4:
                self.variables[args[2]] = args[3]
                return "200 result=1", 0.0
            if what == "CONTEXT":
                self.context = args[2]
                return "200 result=0", 0.0
            if what == "EXTENSION":
                self.extension = args[2]
                return "200 result=0", 0.0
            if what == "PRIORITY":
                self.priority = args[2]
                return "200 result=0", 0.0
            if what in ("MUSIC", "AUTOHANGUP", "CALLERID"):
                return "200 result=0", 0.0
        if verb == "ANSWER":
            self.answered = True
            return "200 result=0", 0.0
        if verb in ("SAY",) and len(args) >= 3:
            return "200 result=0", self._playback()
        if verb == "EXEC" and len(args) >= 2:
            return self._exec(args[1], args[2] if len(args) > 2 else "")
        if verb == "VERBOSE":
            return "200 result=1", 0.0
        if verb == "NOOP":
            return "200 result=0", 0.0
        if verb == "CHANNEL" and len(args) >= 2 and args[1].upper() == "STATUS":
            return f"200 result={6 if self.answered else 4}", 0.0
        self.gen.error("unexpected command", f"{self.script.kind}: {line[:120]!r}")
        return "510 Invalid or unknown command", 0.0

    def _stream(self, prompt: str, escapes: str) -> tuple[str, float]:
        typed = self._take_input(prompt)
        play = self._playback()
        endpos = int(play * 8000)
        if typed:
            self.pending += typed
        if self.pending and escapes and self.pending[0] in escapes \
                and self.rng.random() < self.gen.cfg.barge_in:
            key, self.pending = self.pending[0], self.pending[1:]
            at = play * self.rng.uniform(0.3, 0.9)  # typed over the prompt: it stops there
            return f"200 result={ord(key)} endpos={int(at * 8000)}", at
        return f"200 result=0 endpos={endpos}", play

    def _get_data(self, prompt: str, rest: list[str]) -> tuple[str, float]:
        typed = self._take_input(prompt)
        if typed:
            self.pending += typed
        try:
            max_digits = int(rest[1]) if len(rest) > 1 else 1024
        except ValueError:
            raise ProtocolError(f"GET DATA with max digits {rest[1]!r}") from None
        wait = self._playback()
        digits = ""
        while self.pending and len(digits) < max_digits:
            key, self.pending = self.pending[0], self.pending[1:]
            if key == "#":
                return f"200 result={digits}", wait + self._think()
            digits += key
        if len(digits) == max_digits:
            return f"200 result={digits}", wait + self._think()
        # Fewer digits than max and no '#': Asterisk waits out the timeout.
        return f"200 result={digits} (timeout)", wait + self._think()

    def _wait_for_digit(self, timeout_ms: str) -> tuple[str, float]:
        if self.pending:
            key, self.pending = self.pending[0], self.pending[1:]
            return f"200 result={ord(key)}", self._think()
        return "200 result=0", self._think()  # the caller typed nothing more: timeout

    def _full_variable(self, expression: str) -> str:
        expr = expression.strip()
        known = {"${CHANNEL(linkedid)}": self.uniqueid, "${CHANNEL(uniqueid)}": self.uniqueid,
                 "${UNIQUEID}": self.uniqueid, "${CHANNEL(language)}": "en",
                 "${CALLERID(num)}": self.script.callerid,
                 "${CALLERID(name)}": self.script.callername,
                 "${CHANNEL}": self.channel, "${EXTEN}": self.extension}
        if expr in known:
            return f"200 result=1 ({known[expr]})"
        if expr.startswith("${") and expr.endswith("}") and expr[2:-1] in self.variables:
            return f"200 result=1 ({self.variables[expr[2:-1]]})"
        self.gen.error("unexpected command", f"GET FULL VARIABLE {expr[:80]}")
        return "200 result=0"

    def _exec(self, app: str, app_args: str) -> tuple[str, float]:
        name = app.lower()
        if name in ("playback", "background"):
            return "200 result=0", self._playback()
        if name == "wait":
            try:
                return "200 result=0", min(float(app_args or 0), 0.2)
            except ValueError:
                return "200 result=0", 0.0
        if name in ("ringing", "progress", "answer", "set", "noop", "playtones", "stopplaytones",
                    "startmusiconhold", "stopmusiconhold", "goto", "verbose", "log"):
            if name == "answer":
                self.answered = True
            return "200 result=0", 0.0
        self.gen.error("unexpected command", f"EXEC {app} {app_args[:60]!r}")
        return "200 result=-2", 0.0

    def check_end(self) -> str | None:
        """Why the finished call is not a correct queue hand-off, or None."""
        s = self.script
        if self.context != s.handoff_context:
            return f"{s.kind}: ended in context {self.context!r}, not {s.handoff_context!r}"
        queue = self.variables.get("CC_QUEUE")
        if queue != s.queue:
            return f"{s.kind}: handed to queue {queue!r}, expected {s.queue!r}"
        left = {k: v for k, v in self.inputs.items() if v}
        if left or self.pending:
            return f"{s.kind}: caller input not used: {left or self.pending!r}"
        return None


class Generator:
    def __init__(self, cfg: GenConfig):
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.scripts: list[Script] = pickle.loads(cfg.scripts_blob)
        self.res = GenResult()
        self.stopping = False
        self.calls = 0
        self.t_measure = self.t_end = 0.0

    def error(self, kind: str, detail: str) -> None:
        self.res.errors[kind] = self.res.errors.get(kind, 0) + 1
        if len(self.res.error_samples) < MAX_ERROR_SAMPLES:
            self.res.error_samples.append(f"{kind}: {detail}")

    def sample(self, label: str, t_sent: float, t_recv: float) -> None:
        if self.t_measure <= t_sent < self.t_end:
            arr = self.res.samples.get(label)
            if arr is None:
                arr = self.res.samples[label] = array("d")
            arr.append((t_recv - t_sent) * 1000.0)

    async def run(self) -> GenResult:
        cfg = self.cfg
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        self.t_measure = t0 + cfg.warmup_s
        self.t_end = self.t_measure + cfg.duration_s
        tasks = [asyncio.create_task(self.channel_loop(i)) for i in range(cfg.channels)]
        lag = asyncio.create_task(self.lag_monitor())
        await asyncio.sleep(max(0.0, self.t_end - time.perf_counter()))
        self.stopping = True  # calls in progress finish; no new ones start
        lag.cancel()
        done, pending = await asyncio.wait(tasks, timeout=STALL_S + 30)
        for t in pending:
            t.cancel()
            self.error("stuck at the end", "a channel did not finish its call")
        for t in done:
            if t.exception() is not None:
                self.error("generator failure", repr(t.exception()))
        self.res.window_s = cfg.duration_s
        self.res.generator_cpu_s = time.process_time() - cpu0
        return self.res

    async def lag_monitor(self) -> None:
        """How late this loop runs a 5 ms timer: the generator's share of the figures."""
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            if t >= self.t_measure:
                self.res.lag_ms.append((time.perf_counter() - t - 0.005) * 1000.0)

    async def channel_loop(self, index: int) -> None:
        # Calls arrive spread over the first second, not all at once.
        await asyncio.sleep(self.rng.uniform(0, min(1.0, self.cfg.warmup_s or 1.0)))
        while not self.stopping:
            script = self.rng.choice(self.scripts)
            self.calls += 1
            uniqueid = f"{self.cfg.uniqueid_base}.{self.calls}"
            await self.one_call(Channel(self, script, uniqueid, self.calls))

    async def one_call(self, ch: Channel) -> None:
        self.res.calls_started += 1
        try:
            reader, writer = await asyncio.open_connection(self.cfg.host, self.cfg.port)
        except OSError as exc:
            self.error("connect failed", repr(exc))
            await asyncio.sleep(0.1)
            return
        label = ""
        try:
            writer.write(ch.environment())
            t_sent = time.perf_counter()
            first = True
            while True:
                try:
                    async with asyncio.timeout(STALL_S):
                        raw = await reader.readline()
                except TimeoutError:
                    self.error("stall", f"{ch.script.kind}: no command within {STALL_S:g} s"
                                        f" after {label or 'the environment'}")
                    return
                t_recv = time.perf_counter()
                if not raw:  # the platform closed: the AGI script ended
                    self.sample("(close after last command)", t_sent, t_recv)
                    problem = ch.check_end()
                    if problem:
                        self.error("no queue hand-off", problem)
                    else:
                        self.res.calls_completed += 1
                        self.res.completed_linkedids.append(ch.uniqueid)
                        self.res.kinds[ch.script.kind] = self.res.kinds.get(ch.script.kind, 0) + 1
                        if self.t_measure <= t_recv < self.t_end:
                            self.res.calls_in_window += 1
                    return
                if not raw.endswith(b"\n"):
                    raise ProtocolError(f"command line without newline: {raw[:80]!r}")
                if first:
                    if self.t_measure <= t_sent < self.t_end:
                        self.res.first_cmd_ms.append((t_recv - t_sent) * 1000.0)
                    first = False
                else:
                    self.sample(label, t_sent, t_recv)
                line = raw.decode("utf-8").rstrip("\r\n")
                answer, delay = ch.answer(line)
                self.res.commands += 1
                label = _label(line)
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(answer.encode() + b"\n")
                t_sent = time.perf_counter()
        except ProtocolError as exc:
            self.error("protocol error", f"{ch.script.kind}: {exc}")
        except UnicodeDecodeError as exc:
            self.error("protocol error", f"command line not UTF-8: {exc}")
        except (ConnectionError, OSError) as exc:
            self.error("connection reset", f"{ch.script.kind}: {exc!r}")
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass


def _label(line: str) -> str:
    """Which answered command an interval follows: two words of the verb, and
    the prompt or variable it names (STREAM FILE bench/main-menu, SET VARIABLE
    CC_QUEUE, GET FULL VARIABLE ${CHANNEL(linkedid)})."""
    parts = line.split(" ")
    head = " ".join(parts[:2]).upper()
    if head in ("STREAM FILE", "GET DATA", "SET VARIABLE") and len(parts) > 2:
        return f"{head} {parts[2]}"
    if head in ("GET FULL", "WAIT FOR") and len(parts) > 3:
        return " ".join(parts[:3]).upper() + " " + parts[3].strip('"')
    if head.startswith(("SET ", "EXEC ")):
        return head
    return parts[0].upper()


def run_generator(cfg: GenConfig, conn) -> None:
    """Process entry point: run the channels, send the GenResult back."""
    try:
        res = asyncio.run(Generator(cfg).run())
        conn.send(res)
    except BaseException as exc:  # report, never leave the parent waiting
        conn.send(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
    finally:
        conn.close()
