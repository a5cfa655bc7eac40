"""How the AMI session retries: bounded at start, forever after a loss.

At start an unreachable Asterisk is retried until a deadline, then reported;
a refused login is reported at once.  Once running, the engine must come back
by itself, so reconnection never gives up; a refused login then slows down to
the maximum delay instead of hammering Asterisk's security log.  Each attempt
is one INFO line, no traceback: an Asterisk restart is not a bug.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from cti.ami_errors import AmiAuthError, AmiConnectError, AmiError
from cti.backoff import Backoff

log = logging.getLogger("cti.ami")

Connect = Callable[[], Awaitable[None]]


def describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def connect_within(connect: Connect, backoff: Backoff, timeout: float,
                         clock: Callable[[], float], address: str) -> None:
    """Call `connect` until it succeeds; AmiConnectError after `timeout` s."""
    deadline = clock() + timeout
    while True:
        try:
            await connect()
            return
        except AmiAuthError:
            raise
        except (OSError, AmiError) as exc:
            remaining = deadline - clock()
            if remaining <= 0:
                raise AmiConnectError(
                    f"cannot reach Asterisk AMI at {address} within {timeout:g}s ({describe(exc)});"
                    " check that Asterisk runs and that manager.conf enables AMI on this"
                    " address and port") from None
            delay = min(backoff.next_delay(), remaining)
            log.info("AMI %s not reachable (%s); retrying in %.2fs", address, describe(exc), delay)
            await asyncio.sleep(delay)


async def reconnect_forever(connect: Connect, backoff: Backoff, address: str) -> None:
    """Call `connect` after growing, jittered delays until it succeeds."""
    while True:
        delay = backoff.next_delay()
        log.info("AMI %s: reconnecting in %.2fs (attempt %d)", address, delay, backoff.attempts)
        await asyncio.sleep(delay)
        try:
            await connect()
            return
        except AmiAuthError as exc:
            # Credentials changed under a running engine: keep trying, slowly.
            log.error("%s", exc)
            backoff.hold_at_maximum()
        except (OSError, AmiError) as exc:
            log.info("AMI %s: reconnect attempt %d failed: %s", address, backoff.attempts,
                     describe(exc))
