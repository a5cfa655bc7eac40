"""Estimated wait for a caller in line: what the position announcement tells them.

Pure arithmetic, no I/O.  The model is deliberately simple and explainable: the
`staffed` agents who serve the queue each finish a call every `aht` seconds
(average handle time: talk + hold + after-call work) on average, so together
they free a seat every `aht / staffed` seconds, and the caller at `position`
waits for `position` such seats:

    estimated_wait = position * aht / staffed

It ignores how far the agents are into their current calls and calls that
abandon ahead of the caller; both make the real wait shorter, so the
announcement errs on the long side, which callers forgive more readily.
"""
from __future__ import annotations

import math

__all__ = ["estimated_wait", "wait_minutes"]


def estimated_wait(position: int, staffed: int, aht: float | None) -> float | None:
    """Seconds the caller at 1-based `position` can expect to wait.

    None when nobody is staffed (no estimate is honest then) or the AHT is not
    known yet (no handled call).  Raises ValueError for a negative position or AHT.
    """
    if position < 0:
        raise ValueError(f"position must be >= 0, not {position}")
    if aht is None or staffed <= 0:
        return None
    if aht < 0:
        raise ValueError(f"aht must be >= 0, not {aht}")
    return position * aht / staffed


def wait_minutes(seconds: float | None) -> int | None:
    """Whole minutes to announce for an estimate: rounded up, at least 1 (a caller
    told "0 minutes" who then waits is annoyed); None passes through."""
    if seconds is None:
        return None
    return max(1, math.ceil(seconds / 60))
