"""AgiCall: one FastAGI session as seen by a route handler.

Commands are sent one at a time and answered in order.  Asterisk may also
write `HANGUP` on its own when the caller hangs up; it can arrive before the
answer of the command in flight, so it is noted and the answer still read,
keeping the stream in step.  The first command that learns of the hangup
raises AgiHangup; later ones (cleanup on a dead channel) get Asterisk's
answers, with 511 "not permitted on a dead channel" raising AgiHangup again.
"""
from __future__ import annotations

import asyncio
import logging

from cti import agi_args as args_check
from cti.agi_errors import AgiCommandError, AgiHangup
from cti.agi_result import AgiResult, parse_result

__all__ = ["AgiCall"]

log = logging.getLogger(__name__)

_HANGUP = "HANGUP"
_USAGE_END = "520 End of proper usage."


def _digit(result: AgiResult) -> str:
    """Commands answering the ASCII code of a pressed key, 0 for none."""
    code = result.result_int or 0
    return chr(code) if code > 0 else ""


class AgiCall:
    def __init__(self, env: dict[str, str], args: dict[str, str], route: str,
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.env = env
        self.args = args
        self.route = route
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self._linkedid: str | None = None
        self.hung_up = False
        self._hangup_reported = False

    @property
    def channel(self) -> str:
        return self.env.get("channel", "")

    @property
    def uniqueid(self) -> str:
        return self.env.get("uniqueid", "")

    def __repr__(self) -> str:
        return f"<AgiCall {self.route} {self.channel}>"

    # protocol ---------------------------------------------------------
    async def command(self, text: str, *, hangup_on_minus_one: bool = True) -> AgiResult:
        """Send one AGI command line and return its parsed answer.

        `result=-1` means the channel went away during a channel operation;
        it raises AgiHangup unless hangup_on_minus_one is False.
        """
        args_check.check_text("AGI command", text)
        async with self._lock:
            await self._send(text)
            try:
                result = await self._read_answer()
            except AgiCommandError as exc:
                if exc.code == 511 and self.hung_up:
                    self._hangup_reported = True
                    raise AgiHangup(f"{self.channel} hung up ({exc.text})") from None
                raise
        if self.hung_up and not self._hangup_reported:
            self._hangup_reported = True
            raise AgiHangup(f"{self.channel} hung up")
        if hangup_on_minus_one and result.result == "-1":
            raise AgiHangup(f"{self.channel} hung up during {text.split(' ', 1)[0]}")
        return result

    async def _send(self, text: str) -> None:
        try:
            self._writer.write(text.encode("utf-8") + b"\n")
            await self._writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            self.hung_up = True
            raise AgiHangup(f"{self.channel}: AGI socket closed ({exc})") from None

    async def _readline(self) -> str:
        try:
            raw = await self._reader.readline()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError) as exc:
            self.hung_up = True
            raise AgiHangup(f"{self.channel}: AGI socket failed ({exc})") from None
        if not raw.endswith(b"\n"):
            self.hung_up = True
            raise AgiHangup(f"{self.channel}: AGI socket closed by Asterisk")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    async def _read_answer(self) -> AgiResult:
        while True:
            line = await self._readline()
            if line == _HANGUP:
                self.hung_up = True
                continue
            if line.startswith("100"):
                continue  # "100 result=0 Trying..." precedes the real answer
            if line.startswith("520-"):
                raise AgiCommandError(520, await self._read_usage(line))
            return parse_result(line)

    async def _read_usage(self, first: str) -> str:
        lines = [first[4:]]
        while True:
            line = await self._readline()
            if line.startswith("520 "):
                return "\n".join(lines)
            lines.append(line)

    # convenience ------------------------------------------------------
    async def answer(self) -> None:
        await self.command("ANSWER")

    async def hangup(self) -> None:
        """Hang the channel up; already gone is fine."""
        try:
            await self.command("HANGUP")
        except AgiHangup:
            pass

    async def stream_file(self, name: str, escape_digits: str = "") -> str:
        """Play a sound; returns the escape digit pressed or ''."""
        args_check.sound_name(name)
        args_check.digits(escape_digits)
        return _digit(await self.command(f'STREAM FILE {name} "{escape_digits}"'))

    async def get_data(self, prompt: str, timeout_ms: int = 5000, max_digits: int = 1) -> str:
        """Play `prompt` and collect digits; '' when the caller typed nothing."""
        args_check.sound_name(prompt)
        args_check.integer("timeout_ms", timeout_ms, 0)
        args_check.integer("max_digits", max_digits, 1)
        result = await self.command(f"GET DATA {prompt} {timeout_ms} {max_digits}")
        return result.result

    async def wait_for_digit(self, timeout_ms: int) -> str:
        args_check.integer("timeout_ms", timeout_ms, -1)
        return _digit(await self.command(f"WAIT FOR DIGIT {timeout_ms}"))

    async def say_digits(self, number: str, escape_digits: str = "") -> str:
        args_check.digits(number, "digits to say")
        args_check.digits(escape_digits)
        return _digit(await self.command(f'SAY DIGITS {number} "{escape_digits}"'))

    async def get_variable(self, name: str) -> str | None:
        args_check.variable_name(name)
        result = await self.command(f"GET VARIABLE {name}", hangup_on_minus_one=False)
        return result.data if result.result == "1" else None

    async def get_full_variable(self, expression: str) -> str | None:
        quoted = args_check.quote("variable expression", expression)
        result = await self.command(f"GET FULL VARIABLE {quoted}", hangup_on_minus_one=False)
        return result.data if result.result == "1" else None

    async def set_variable(self, name: str, value: str) -> None:
        args_check.variable_name(name)
        quoted = args_check.quote(f"value of {name}", str(value))
        await self.command(f"SET VARIABLE {name} {quoted}", hangup_on_minus_one=False)

    async def exec(self, application: str, *app_args: str) -> str:
        """Run a dialplan application; its args are joined with ','."""
        args_check.application(application)
        joined = ",".join(args_check.check_text(f"{application} argument", a) for a in app_args)
        line = f"EXEC {application} {args_check.quote('args', joined)}" if app_args \
            else f"EXEC {application}"
        result = await self.command(line)
        if result.result == "-2":
            raise AgiCommandError(200, f"application {application} not found")
        return result.result

    async def verbose(self, message: str, level: int = 1) -> None:
        args_check.integer("verbose level", level, 1)
        quoted = args_check.quote("verbose message", message)
        await self.command(f"VERBOSE {quoted} {level}", hangup_on_minus_one=False)

    async def linkedid(self) -> str | None:
        """The call's linkedid (keys the interaction), fetched once."""
        if self._linkedid is None:
            self._linkedid = await self.get_full_variable("${CHANNEL(linkedid)}")
        return self._linkedid
