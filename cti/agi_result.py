"""Parsing one AGI answer line: `200 result=1 (data) endpos=1234`."""
from __future__ import annotations

from dataclasses import dataclass, field

from cti.agi_errors import AgiCommandError, AgiProtocolError

__all__ = ["AgiResult", "parse_result"]


@dataclass(frozen=True, slots=True)
class AgiResult:
    code: int
    result: str  # kept as text: GET DATA digits may start with 0
    data: str | None = None  # the part in parentheses
    extra: dict[str, str] = field(default_factory=dict)  # endpos=..., etc.

    @property
    def result_int(self) -> int | None:
        try:
            return int(self.result)
        except ValueError:
            return None


def _split_code(line: str) -> tuple[int, str]:
    code, _, rest = line.partition(" ")
    if len(code) != 3 or not code.isdigit():
        raise AgiProtocolError(f"unexpected AGI answer {line[:120]!r}")
    return int(code), rest


def _split_data(rest: str) -> tuple[str | None, str]:
    if not rest.startswith("("):
        return None, rest
    # The data may itself hold parentheses; the extras after it never do.
    close = rest.rfind(")")
    if close == -1:
        return rest[1:], ""
    return rest[1:close], rest[close + 1:]


def parse_result(line: str) -> AgiResult:
    """AgiResult for a 200 line; AgiCommandError for 5xx; AgiProtocolError else."""
    code, rest = _split_code(line)
    if code != 200:
        raise AgiCommandError(code, rest)
    if not rest.startswith("result="):
        raise AgiProtocolError(f"AGI answer without result=: {line[:120]!r}")
    value, _, rest = rest[len("result="):].partition(" ")
    data, rest = _split_data(rest.lstrip())
    extra = {}
    for token in rest.split():
        key, _, val = token.partition("=")
        extra[key] = val
    return AgiResult(code, value, data, extra)
